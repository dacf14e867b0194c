"""A `pegasus serve` worker process ends when its supervisor is gone.

uvicorn's worker processes do not watch their supervisor: after a `kill -9` of it they went
on serving, holding the port, so the next `pegasus serve` could not bind it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

SUPERVISOR_ENV = "PEGASUS_SERVE_SUPERVISOR"  # the supervisor's pid, set for its workers
CHECK_SEC = 0.5

log = logging.getLogger("pegasus.serve")


def exit_with_supervisor() -> None:
    """In a supervised worker, shut down gracefully (SIGTERM) once the supervisor is gone.

    Does nothing in a process that is not a worker of this supervisor (a single-process
    server, tests building the app).
    """
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor is None or os.getppid() != int(supervisor):
        return

    def watch() -> None:
        while os.getppid() == int(supervisor):
            time.sleep(CHECK_SEC)
        log.warning("the supervisor %s is gone; shutting down", supervisor)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()
