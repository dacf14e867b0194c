"""GroupCommit: batches form from calls that arrive while one runs; outcomes stay per caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from pegasus_core.group_commit import GroupCommit


class Recorder:
    """A batch function that records its batches and waits for a gate before answering."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def settle() -> None:
    """Let every ready task run (calls submitted in one loop step share a batch)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_first_call_runs_at_once_and_later_ones_wait_to_go_together() -> None:
    recorder = Recorder()
    group: GroupCommit[int, int] = GroupCommit(recorder, max_batch=3)
    calls = [asyncio.ensure_future(group.submit(0))]
    await settle()
    assert recorder.batches == [[0]]  # no waiting for company when idle
    calls += [asyncio.ensure_future(group.submit(i)) for i in (2, 4, 6, 8)]
    await settle()
    recorder.gate.set()
    results = await asyncio.gather(*calls)
    assert recorder.batches == [[0], [2, 4, 6], [8]]  # in arrival order, at most max_batch
    assert results == [0, 20, 40, 60, 80]


async def test_an_item_error_reaches_its_caller_only() -> None:
    recorder = Recorder()
    recorder.gate.set()
    group: GroupCommit[int, int] = GroupCommit(recorder)
    outcomes = await asyncio.gather(*(group.submit(i) for i in (2, 3, 4)), return_exceptions=True)
    assert outcomes[0] == 20 and outcomes[2] == 40
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "odd 3"


async def test_a_batch_error_reaches_every_caller_of_that_batch_and_the_next_batch_runs() -> None:
    runs: list[list[int]] = []

    async def flaky(items: Sequence[int]) -> list[int | BaseException]:
        runs.append(list(items))
        await asyncio.sleep(0)
        if len(runs) == 2:
            raise ConnectionError("database away")
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(flaky)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(group.submit(i)) for i in (2, 3)]
    outcomes = await asyncio.gather(first, *later, return_exceptions=True)
    assert runs == [[1], [2, 3]]
    assert outcomes[0] == 1
    assert all(isinstance(o, ConnectionError) for o in outcomes[1:])
    assert await group.submit(4) == 4  # the group is usable again


async def test_a_cancelled_caller_does_not_stop_the_batch_it_shares() -> None:
    recorder = Recorder()
    group: GroupCommit[int, int] = GroupCommit(recorder)
    first = asyncio.ensure_future(group.submit(0))
    await settle()
    second, third = (asyncio.ensure_future(group.submit(i)) for i in (2, 4))
    await settle()
    second.cancel()
    recorder.gate.set()
    assert await first == 0 and await third == 40
    assert recorder.batches == [[0], [2, 4]]  # the cancelled item still went with its batch
    with pytest.raises(asyncio.CancelledError):
        await second


async def test_a_caller_that_submits_again_as_soon_as_answered_is_not_stranded() -> None:
    # The answered caller wakes before the finished batch's task is cleaned up: its next
    # item must still start a batch, not wait for a drainer that has already stopped.
    async def echo(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(echo)

    async def caller(start: int) -> list[int]:
        return [await group.submit(i) for i in range(start, start + 20)]

    results = await asyncio.wait_for(asyncio.gather(caller(0), caller(100)), timeout=5)
    assert results == [list(range(20)), list(range(100, 120))]


async def test_a_linger_lets_later_calls_join_the_batch_it_delays() -> None:
    batches: list[list[int]] = []

    async def echo(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(echo, linger_sec=0.05)
    first = asyncio.ensure_future(group.submit(1))
    await settle()
    assert batches == []  # the first call waits for company
    later = [asyncio.ensure_future(group.submit(i)) for i in (2, 3)]
    assert await asyncio.gather(first, *later) == [1, 2, 3]
    assert batches == [[1, 2, 3]]


async def test_callers_waiting_in_a_linger_are_cancelled_with_the_loop_shutdown() -> None:
    async def echo(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(echo, linger_sec=60)
    call = asyncio.ensure_future(group.submit(1))
    await settle()
    drainer = group._drainer
    assert drainer is not None
    drainer.cancel()  # as asyncio.run cancels the tasks left at shutdown
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(call, timeout=5)
