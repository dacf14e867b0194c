"""Worker processes: one Dramatiq worker per child process, kept alive by a supervisor.

The `dramatiq` CLI is not used: its master exits when a child is killed. The supervisor
replaces any child that dies; a child exits when its supervisor dies.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import AsyncExitStack

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from pegasus_adapters.bootstrap import default_worker_threads
from pegasus_adapters.dramatiq_queue import QUEUES, Dispatcher, DramatiqJobQueue, setup_broker
from pegasus_adapters.settings import Settings, load_settings

log = logging.getLogger("pegasus.worker")


class PegasusLifecycle(Middleware):
    """Opens Pegasus on the worker's event loop after boot and closes it before shutdown.

    Pools must live on the loop that uses them, which is the AsyncIO middleware's loop.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stack: AsyncExitStack | None = None

    async def _open(self) -> None:
        from pegasus_adapters.bootstrap import open_pegasus

        self._stack = AsyncExitStack()
        pegasus = await self._stack.enter_async_context(open_pegasus(self._settings))
        queue = pegasus.ports.queue
        if isinstance(queue, DramatiqJobQueue):
            queue.run_locally = True  # this process runs jobs: recoveries start here at once
        Dispatcher.handler = pegasus.run_job
        Dispatcher.opening = False
        # Closing forgets it first: a message taken during shutdown fails at once (its job
        # is dispatched again by a sweep) instead of reaching a closed Pegasus.
        self._stack.callback(setattr, Dispatcher, "handler", None)

    async def _close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Forget any earlier worker's handler: messages wait until this one has opened."""
        Dispatcher.handler = None
        Dispatcher.opening = True

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Open Pegasus (and its sweep) before the first message is consumed."""
        loop_thread = get_event_loop_thread()
        assert loop_thread is not None
        try:
            loop_thread.run_coroutine(self._open())
        finally:
            Dispatcher.opening = False  # opened or failed: waiting messages stop waiting

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Close Pegasus while the loop still runs."""
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self._close())


def _log_task_stacks() -> None:
    """Log where every task of the worker's event loop is waiting (`kill -USR1 <pid>`).

    A job that runs for far longer than it should, still heartbeating, is a task waiting
    for something: this says what, without stopping the process.
    """
    loop_thread = get_event_loop_thread()
    if loop_thread is None:
        return

    def dump() -> None:
        for task in asyncio.all_tasks(loop_thread.loop):
            stack = io.StringIO()
            task.print_stack(file=stack)
            log.warning("task %s:\n%s", task.get_name(), stack.getvalue())

    loop_thread.loop.call_soon_threadsafe(dump)


def run_worker(settings: Settings, *, threads: int) -> None:
    """Consume run_job messages with `threads` threads until SIGTERM or the parent dies."""
    broker, *_ = setup_broker(settings, PegasusLifecycle(settings))
    worker = dramatiq.Worker(broker, queues=QUEUES, worker_threads=threads, worker_timeout=100)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: _log_task_stacks())
    parent = os.getppid()
    worker.start()
    log.info("worker process %s consuming with %s threads", os.getpid(), threads)
    # A child whose supervisor died (kill -9) must not linger: check the parent now and then.
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    worker.stop(timeout=10_000)
    broker.close()


def supervise(settings: Settings, *, processes: int, threads: int) -> None:
    """Start `processes` worker children and replace any that exits until told to stop."""
    del settings  # the children read the same environment
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    command = [sys.executable, "-m", "pegasus_adapters.dramatiq_worker", "--threads", str(threads)]
    children = [subprocess.Popen(command) for _ in range(processes)]
    started = [time.monotonic()] * processes
    log.info("supervising %s worker processes", processes)
    while not stopping.wait(0.2):
        for index, child in enumerate(children):
            if child.poll() is None:
                continue
            log.warning(
                "worker process %s exited with %s; starting another", child.pid, child.returncode
            )
            # A child that dies right after starting (bad settings, a crash at boot) is
            # restarted at most once a second rather than in a tight loop.
            if time.monotonic() - started[index] < 1.0:
                stopping.wait(1.0)
            children[index] = subprocess.Popen(command)
            started[index] = time.monotonic()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    """Entry point of one worker child process."""
    from pegasus_adapters.json_logging import configure_logging

    parser = argparse.ArgumentParser(description="One Pegasus worker process.")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    configure_logging(json=True)
    settings = load_settings()
    run_worker(settings, threads=args.threads or default_worker_threads(settings))


if __name__ == "__main__":
    main()
