"""The JobQueue contract: every dispatched id reaches the handler exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from pegasus_adapters.job_queues import DeferredJobQueue, InlineJobQueue, InProcessJobQueue
from pegasus_core.errors import UnavailableError
from pegasus_core.ports.job_queue import JobQueue

Drain = Callable[[], Awaitable[None]]


@pytest.fixture(params=["inline", "in_process"])
async def queue_and_seen(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[JobQueue, list[str], Drain]]:
    seen: list[str] = []

    async def handler(job_id: str) -> None:
        await asyncio.sleep(0)
        seen.append(job_id)

    queue: InlineJobQueue | InProcessJobQueue
    queue = InlineJobQueue() if request.param == "inline" else InProcessJobQueue(concurrency=3)
    queue.bind(handler)

    async def drain() -> None:
        while isinstance(queue, InProcessJobQueue) and queue.busy:
            await asyncio.sleep(0.01)

    yield queue, seen, drain
    if isinstance(queue, InProcessJobQueue):
        await queue.aclose()


async def test_every_dispatched_id_reaches_the_handler_exactly_once(
    queue_and_seen: tuple[JobQueue, list[str], Drain],
) -> None:
    queue, seen, drain = queue_and_seen
    ids = [f"job-{i}" for i in range(25)]
    for job_id in ids:
        await queue.dispatch(job_id)
    await drain()
    assert sorted(seen) == sorted(ids)
    await queue.check()


async def test_a_failing_handler_does_not_stop_the_in_process_queue() -> None:
    seen: list[str] = []

    async def handler(job_id: str) -> None:
        if job_id == "bad":
            raise RuntimeError("boom")
        seen.append(job_id)

    queue = InProcessJobQueue(concurrency=1)
    queue.bind(handler)
    for job_id in ("bad", "good"):
        await queue.dispatch(job_id)
    while queue.busy:
        await asyncio.sleep(0.01)
    assert seen == ["good"]


async def test_the_deferred_queue_refuses_dispatch_so_jobs_wait_for_a_runner() -> None:
    with pytest.raises(UnavailableError):
        await DeferredJobQueue().dispatch("job-1")
