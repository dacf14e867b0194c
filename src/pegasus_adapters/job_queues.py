"""In-process job queues: the embedded runner (tasks in this process) and the inline one."""

from __future__ import annotations

import asyncio
import logging

from pegasus_core.errors import UnavailableError
from pegasus_core.ports.job_queue import JobHandler

log = logging.getLogger("pegasus.queue")


class InProcessJobQueue:
    """Runs dispatched job ids as tasks of this process, at most `concurrency` at once.

    Nothing is lost if the process dies: the jobs table keeps the job and a later process's
    sweep takes it back. The handler is bound after construction (the runner needs the queue).
    """

    kind = "in_process"

    def __init__(self, *, concurrency: int = 2) -> None:
        self._handler: JobHandler | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, handler: JobHandler) -> None:
        """Set the coroutine that runs a job id."""
        self._handler = handler

    async def dispatch(self, job_id: str, *, urgent: bool = False) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: str) -> None:
        assert self._handler is not None, "bind() the runner before dispatching"
        async with self._slots:
            try:
                await self._handler(job_id)
            except Exception:
                log.exception("job %s: runner failed", job_id, extra={"job_id": job_id})

    async def check(self) -> None:
        return None

    @property
    def busy(self) -> bool:
        """Tell whether any job task is still running."""
        return bool(self._tasks)

    async def aclose(self) -> None:
        """Cancel running job tasks (their jobs stay in the table for a later sweep)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class InlineJobQueue:
    """Runs a dispatched job to the end inside dispatch(): deterministic, for tests."""

    kind = "inline"

    def __init__(self) -> None:
        self._handler: JobHandler | None = None
        self.dispatched: list[str] = []

    def bind(self, handler: JobHandler) -> None:
        """Set the coroutine that runs a job id."""
        self._handler = handler

    async def dispatch(self, job_id: str, *, urgent: bool = False) -> None:
        assert self._handler is not None, "bind() the runner before dispatching"
        self.dispatched.append(job_id)
        await self._handler(job_id)

    async def check(self) -> None:
        return None


class DeferredJobQueue:
    """Accepts no dispatch: jobs stay queued until a process that runs jobs sweeps them.

    Used by CLI commands that must not start work they would abandon on exit.
    """

    kind = "deferred"

    def bind(self, handler: JobHandler) -> None:
        """Ignore the handler: this queue never runs jobs."""
        del handler

    async def dispatch(self, job_id: str, *, urgent: bool = False) -> None:
        raise UnavailableError("No job runner in this process.")

    async def check(self) -> None:
        return None
