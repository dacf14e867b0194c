"""A renderer that runs in a pool process at low CPU priority (for the PDF export).

A PDF takes about 0.2 s of CPU for a short lecture and 3 s for a 45-page one. Run in a thread
of a worker process, that CPU time holds the GIL the process's event loop needs for claims,
heartbeats and the sweep, so taken-back jobs were re-claimed measurably later. In its own
process, niced, the render gives way to every job-control task on the machine. The pool has one
process (worker processes x 1 stays within the cores), started on first use with `forkserver`
(never `fork`, which would copy database and Redis connections); it imports the renderer there,
so the owner never loads fpdf2.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pegasus_core.errors import UnavailableError
from pegasus_core.ports.renderer import ExportBundle

NICENESS = 10


class PooledRenderer:
    """A Render (callable on a bundle) that runs `module:function` in a pool process.

    Call it from a thread (the export stage uses asyncio.to_thread): it blocks until the pool
    process returns. A pool process that dies raises UnavailableError (the job is retried) and
    the next call starts a fresh pool.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, bundle: ExportBundle) -> bytes:
        with self._lock:
            if self._closed:
                raise UnavailableError("The renderer is shutting down.")
            pool = self._pool
            if pool is None:
                pool = self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_init_process,
                )
        try:
            return pool.submit(_render, self.target, bundle).result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise UnavailableError("The export renderer's process died.") from exc

    async def aclose(self) -> None:
        """Shut the pool down after the render in progress, if any. Idempotent."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _render(target: str, bundle: ExportBundle) -> bytes:
    module, name = target.split(":")
    render = getattr(importlib.import_module(module), name)
    data: bytes = render(bundle)
    return data


def _init_process() -> None:
    """Lower this process's priority, and make it exit when the pool's owner dies."""
    os.nice(NICENESS)
    # The parent of a forkserver child is the forkserver, which outlives the owner, so
    # os.getppid() cannot tell; the owner holds the only write end of the parent sentinel.
    owner = multiprocessing.parent_process()
    if owner is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([owner.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-owner", daemon=True).start()
