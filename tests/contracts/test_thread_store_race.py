"""Two lectures of one course storing their threads at the same moment, on each SQL backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pegasus_core.ports.repository import UnitOfWorkFactory
from pegasus_core.threads import Concept
from pegasus_core.use_cases.generate import store_threads

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ENTROPY = Concept(title="Entropy", summary="spread of energy")


async def test_threads_stored_by_overlapping_transactions_lose_no_lecture(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.courses.ensure("physics", title="Physics", now=NOW)
        await store_threads(
            uow, course_id="physics", lecture_id="lec-a", concepts=[ENTROPY], now=NOW
        )
        await uow.commit()
    first_stored = asyncio.Event()

    async def first() -> None:
        async with uow_factory() as uow:
            await store_threads(
                uow, course_id="physics", lecture_id="lec-b", concepts=[ENTROPY], now=NOW
            )
            first_stored.set()
            # Hold the transaction open while the second one reads and writes.
            await asyncio.sleep(0.3)
            await uow.commit()

    async def second() -> None:
        await first_stored.wait()
        async with uow_factory() as uow:
            await store_threads(
                uow, course_id="physics", lecture_id="lec-c", concepts=[ENTROPY], now=NOW
            )
            await uow.commit()

    await asyncio.gather(first(), second())
    async with uow_factory(read_only=True) as uow:
        threads = await uow.threads.for_course("physics")
    assert len(threads) == 1
    assert sorted(threads[0].lecture_refs) == ["lec-a", "lec-b", "lec-c"]
    assert [e.lecture_id for e in threads[0].evolution] == ["lec-a", "lec-b", "lec-c"]
