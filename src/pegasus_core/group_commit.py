"""Group commit: calls that arrive while one batch is in flight run together as the next.

Concurrent jobs each claim and complete in a transaction of their own; on a busy worker
those transactions dominate the cost of a short job. A GroupCommit lets such calls share
one: the first call starts a batch at once (no added latency when the process is idle),
and calls arriving while it runs wait and go together in the following one, so batches
grow with the load by themselves. Where a few milliseconds do not matter (a job's claim
and completion, next to the job itself), a linger before each batch lets more callers
join it: fewer, larger transactions for the same work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Run submitted items in batches of at most max_batch, one batch at a time.

    run_batch gets the items in arrival order and returns one outcome per item, in the same
    order: a result, or an exception for that item's caller alone. An exception raised by
    run_batch itself reaches every caller of the batch. A caller cancelled while its batch
    runs does not stop the batch (the others share it): its item's outcome is dropped, and
    run_batch's own design must make that safe (a claimed job nobody runs is taken back by
    the sweep once its heartbeat is stale).

    linger_sec: how long a batch waits for company before it runs (0: not at all).
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int = 64,
        linger_sec: float = 0.0,
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._linger_sec = linger_sec
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        # The task running batches, while it runs: one batch at a time. Cleared by the task
        # itself, in the same step as its last look at _waiting: a done callback would run a
        # step later, after a woken caller may have queued an item that nobody would run.
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue item for the next batch and return its outcome (or raise its exception)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._drainer is None:
            self._drainer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_waiting()
        finally:
            self._drainer = None

    async def _drain_waiting(self) -> None:
        while self._waiting:
            batch: list[tuple[T, asyncio.Future[R]]] = []
            try:
                if self._linger_sec and len(self._waiting) < self._max_batch:
                    await asyncio.sleep(self._linger_sec)
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                outcomes = await self._run_batch([item for item, _ in batch])
            except asyncio.CancelledError:
                # The loop is shutting down: nobody will run these, so say so to the callers.
                for _, future in [*batch, *self._waiting]:
                    future.cancel()
                self._waiting.clear()
                raise
            except Exception as exc:  # delivered to every caller of the batch instead
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
