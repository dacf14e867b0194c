"""Postgres only: wiring, recovery from killed connections, sanitised errors, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.postgres.unit_of_work import PostgresDatabase, open_postgres, to_pyformat
from pegasus_core.errors import UnavailableError
from tests.conftest import POSTGRES_URL, memory_settings
from tests.contracts.test_unit_of_work_contract import T0, job, lecture, seed
from tests.helpers import ingest

pytestmark = pytest.mark.postgres

Admin = psycopg.AsyncConnection[Any]


@pytest.fixture
async def admin(postgres_conninfo: str) -> AsyncIterator[Admin]:
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        yield conn


async def pool_backends(admin: Admin, conninfo: str) -> list[int]:
    # The fixture names each test's connections after its schema, so parallel runs against
    # the same database never touch each other's backends.
    name = psycopg.conninfo.conninfo_to_dict(conninfo)["application_name"]
    cursor = await admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    return [row[0] for row in await cursor.fetchall()]


async def terminate_pool_backends(admin: Admin, conninfo: str) -> int:
    pids = await pool_backends(admin, conninfo)
    for pid in pids:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # pg_terminate_backend only signals: wait until every backend is gone.
    for _ in range(100):
        if not set(pids) & set(await pool_backends(admin, conninfo)):
            break
        await asyncio.sleep(0.05)
    return len(pids)


async def use_many_connections(database: PostgresDatabase, count: int) -> None:
    # Holding `count` units of work open at once makes the pool grow to `count` connections.
    inside = 0
    all_inside = asyncio.Event()
    gate = asyncio.Event()

    async def hold() -> None:
        nonlocal inside
        async with database(read_only=True) as uow:
            await uow.courses.get("c1")
            inside += 1
            if inside == count:
                all_inside.set()
            await gate.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(count)]
    await asyncio.wait_for(all_inside.wait(), timeout=10)
    gate.set()
    await asyncio.gather(*tasks)


def test_named_parameters_become_pyformat_and_nothing_else_changes() -> None:
    sql = (
        "SELECT x::text, ':no', 'it''s :no %', \"col:no\" FROM t -- :no 100%\n"
        "WHERE a = :a AND b LIKE :b_2 || '%' AND c = :a"
    )
    assert to_pyformat(sql) == (
        "SELECT x::text, ':no', 'it''s :no %%', \"col:no\" FROM t -- :no 100%%\n"
        "WHERE a = %(a)s AND b LIKE %(b_2)s || '%%' AND c = %(a)s"
    )


async def test_literal_percent_signs_reach_the_server_intact(
    postgres_uow_factory: PostgresDatabase,
) -> None:
    async with postgres_uow_factory() as uow:
        session = uow.courses._s
        rows = await session.fetch("SELECT '100%' AS a, :p::text AS b", {"p": "50%"})
        assert rows == [{"a": "100%", "b": "50%"}]
        assert await session.fetch("SELECT '%' AS a") == [{"a": "%"}]


async def test_a_read_only_unit_of_work_holds_no_transaction_open(
    postgres_uow_factory: PostgresDatabase,
) -> None:
    # Reads skip BEGIN and ROLLBACK: each statement is its own autocommit transaction, and
    # a unit of work that reads nothing takes no connection at all.
    async with postgres_uow_factory(read_only=True) as uow:
        assert uow._session.conn is None
        assert await uow.courses.get("c1") is None
        conn = uow._session.conn
        assert conn is not None
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert (await uow.now()).tzinfo is not None
        await uow.commit()  # nothing to commit, and no error


async def test_a_transaction_begins_with_its_first_statement_and_keeps_one_clock(
    postgres_uow_factory: PostgresDatabase,
) -> None:
    async with postgres_uow_factory() as uow:
        assert uow._session.conn is None  # nothing taken, nothing begun yet
        await uow.courses.get("c1")
        conn = uow._session.conn
        assert conn is not None
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        began = await uow.now()  # asked after a statement: still the transaction's start
        await asyncio.sleep(0.01)
        assert await uow.now() == began and began.tzinfo is not None
        await uow.courses.ensure("c1", title="Course", now=began)
        await uow.commit()
    async with postgres_uow_factory() as uow:
        first = await uow.now()  # asked first: read with the BEGIN
        await uow.courses.ensure("c1", title="Course", now=first)
        assert await uow.now() == first > began
    async with postgres_uow_factory(read_only=True) as uow:
        course = await uow.courses.get("c1")
    assert course is not None and course.created_at == began
    async with postgres_uow_factory() as uow:
        await uow.commit()  # a unit of work that ran nothing commits nothing
        assert uow._session.conn is None


async def test_open_pegasus_runs_the_whole_pipeline_on_postgres(
    postgres_conninfo: str,
    tmp_path: Path,
    scripted_transcriber: ScriptedTranscriber,
    speech_clip: Path,
) -> None:
    settings = memory_settings(
        tmp_path, repository="postgres", database_url=postgres_conninfo, inline_jobs=True
    )
    async with open_pegasus(settings, transcriber=scripted_transcriber) as pegasus:
        await ingest(pegasus, speech_clip, auto_process=True)
        progress = await pegasus.lecture_progress("lec-1")
    assert progress.snapshot.overall_status == "completed"
    assert progress.lecture.status.value == "completed"


async def test_units_of_work_succeed_after_every_pooled_connection_is_terminated(
    postgres_conninfo: str, admin: Admin
) -> None:
    async with open_postgres(postgres_conninfo, max_size=8, timeout=10) as database:
        await seed(database, lecture("l1"))
        await use_many_connections(database, 8)
        assert await terminate_pool_backends(admin, postgres_conninfo) == 8

        async with database(read_only=True) as uow:
            assert await uow.lectures.get("l1") == lecture("l1")

        async def read() -> str | None:
            async with database(read_only=True) as uow:
                found = await uow.courses.get("c1")
                return None if found is None else found.id

        assert await asyncio.gather(*(read() for _ in range(8))) == ["c1"] * 8
        async with database() as uow:
            await uow.courses.ensure("c2", title="After", now=T0)
            await uow.commit()


async def test_a_connection_lost_inside_a_unit_of_work_is_unavailable_and_sanitised(
    postgres_conninfo: str, admin: Admin
) -> None:
    async with open_postgres(postgres_conninfo, timeout=10) as database:
        with pytest.raises(UnavailableError) as raised:
            async with database() as uow:
                await uow.courses.ensure("c1", title="Lost", now=T0)
                await terminate_pool_backends(admin, postgres_conninfo)
                await uow.courses.get("c1")
        assert str(raised.value) == "The database is unavailable."
        async with database(read_only=True) as uow:
            assert await uow.courses.get("c1") is None


async def test_an_unreachable_server_is_unavailable_without_naming_it() -> None:
    url = "postgresql://pegasus:secret@127.0.0.1:1/nowhere"
    with pytest.raises(UnavailableError) as raised:
        async with open_postgres(url, timeout=0.5):
            pass
    assert str(raised.value) == "The database is unavailable."


async def test_a_cancelled_unit_of_work_returns_its_connection(postgres_conninfo: str) -> None:
    async with open_postgres(postgres_conninfo, max_size=1, timeout=5) as database:
        started = asyncio.Event()

        async def slow() -> None:
            async with database() as uow:
                await uow.courses.ensure("c1", title="Never", now=T0)
                started.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The only connection came back, rolled back.
        async with database(read_only=True) as uow:
            assert await uow.courses.get("c1") is None


async def test_a_unit_of_work_cancelled_mid_statement_returns_its_connection(
    postgres_conninfo: str,
) -> None:
    async with open_postgres(postgres_conninfo, max_size=2, timeout=5) as database:
        async with database() as holder:
            await holder.jobs.add(job("j1"))

            async def blocked() -> None:
                async with database() as uow:
                    # Waits on the holder's uncommitted row under the unique index.
                    await uow.jobs.add(job("j2"))

            task = asyncio.create_task(blocked())
            await asyncio.sleep(0.5)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await holder.commit()
        # Both connections are back and usable.
        async with database() as one, database() as two:
            assert (await one.jobs.get("j1")) is not None
            assert await two.jobs.get("j2") is None


async def test_committing_after_a_failed_statement_refuses_instead_of_losing_work(
    postgres_uow_factory: PostgresDatabase,
) -> None:
    async with postgres_uow_factory() as uow:
        await uow.courses.ensure("c1", title="Course", now=T0)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            await uow.lectures.add(lecture("l1", course_id="missing"))
        with pytest.raises(RuntimeError, match="Cannot commit"):
            await uow.commit()


async def test_marking_dispatched_skips_a_job_a_claim_holds_instead_of_waiting(
    postgres_uow_factory: PostgresDatabase,
) -> None:
    # A claim batch and a dispatch record that waited for each other's rows, taken in
    # different orders, deadlocked (Postgres aborts one after deadlock_timeout).
    async with postgres_uow_factory() as uow:
        for name in ("held", "free"):
            await uow.jobs.add(job(name, lecture_id=f"l-{name}"))
        await uow.commit()
    async with postgres_uow_factory() as claiming:
        assert await claiming.jobs.claim(["held"], worker="w", now=T0)  # row locked, open
        async with postgres_uow_factory() as marking:
            await asyncio.wait_for(
                marking.jobs.mark_dispatched([job("held"), job("free")], now=T0), timeout=5
            )
            await marking.commit()
        await claiming.commit()
    async with postgres_uow_factory(read_only=True) as uow:
        held, free = await uow.jobs.get("held"), await uow.jobs.get("free")
    assert held is not None and held.dispatched_at is None and held.attempts == 1
    assert free is not None and free.dispatched_at == T0
