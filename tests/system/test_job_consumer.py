"""A Dramatiq worker process runs more jobs at once than it has threads (JobConsumer): a
thread holds a message only until its job is claimed; a slot bound caps the jobs running;
at shutdown the running jobs are handed back to the queue. Real Postgres and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import psycopg
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.dramatiq_queue import QUEUES, JobConsumer, setup_broker
from pegasus_adapters.dramatiq_worker import PegasusLifecycle
from pegasus_adapters.settings import Settings
from pegasus_core.errors import UnavailableError
from pegasus_core.jobs import JobStatus, JobType
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.use_cases import runner
from pegasus_core.use_cases.job_context import Completion, JobContext
from pegasus_core.use_cases.runner import Claimed
from tests.conftest import REDIS_URL, require_redis
from tests.helpers import ingest

JOBS = 5
AT_ONCE = 3


class Gate:
    """A stage that counts the attempts it started and holds them until opened."""

    def __init__(self) -> None:
        self.started = 0
        self.opened = threading.Event()
        self._lock = threading.Lock()

    async def stage(self, ctx: JobContext) -> Completion:
        with self._lock:
            self.started += 1
        while not self.opened.is_set():
            await asyncio.sleep(0.02)

        async def apply(uow: UnitOfWork) -> None:
            return None

        return Completion(result={}, apply=apply)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    monkeypatch.setitem(runner.STAGE_WORK, JobType.TRANSCRIPTION, gate.stage)
    yield gate
    gate.opened.set()


def _statuses(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
    return {status: count for status, count in rows}


def _wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


async def test_one_thread_runs_several_jobs_at_once_up_to_its_bound_and_hands_them_back(
    postgres_conninfo: str, tmp_path: Path, gate: Gate
) -> None:
    await require_redis()
    settings = Settings(
        database_url=postgres_conninfo,
        redis_url=REDIS_URL,
        queue_namespace=f"test-consumer-{uuid.uuid4().hex}",
        storage_dir=str(tmp_path / "storage"),
        transcriber="scripted",
        generator="scripted",
        job_sweep_sec=60,  # this test's own dispatches only
    )
    from tests.audio_fixtures import make_speech_clip

    clip = make_speech_clip(tmp_path / "clip.wav", 0.5, "wav")
    async with open_pegasus(settings, sweep=False) as pegasus:
        for index in range(JOBS):
            await ingest(pegasus, clip, lecture_id=f"lec-{index}")
            await pegasus.submit_transcription(f"lec-{index}")  # dispatched to Redis
    broker, *_ = setup_broker(settings, PegasusLifecycle(settings, jobs=AT_ONCE))
    worker = dramatiq.Worker(broker, queues=QUEUES, worker_threads=1, worker_timeout=100)
    worker.start()
    stopped = False
    try:
        # One thread, yet AT_ONCE attempts run: each message was let go once claimed.
        _wait_for(lambda: gate.started == AT_ONCE, f"{AT_ONCE} jobs running")
        time.sleep(0.5)  # the bound holds: no further claim while every slot is busy
        assert gate.started == AT_ONCE
        assert _statuses(postgres_conninfo) == {"running": AT_ONCE, "queued": JOBS - AT_ONCE}
        worker.stop(timeout=10_000)  # hands the running attempts back
        stopped = True
    finally:
        gate.opened.set()
        if not stopped:  # its threads would keep the test process alive
            worker.stop(timeout=10_000)
        broker.flush_all()
        broker.close()
    assert _statuses(postgres_conninfo) == {"queued": JOBS}
    with psycopg.connect(postgres_conninfo) as conn:
        outcomes = conn.execute("SELECT outcome, count(*) FROM job_attempts GROUP BY outcome")
        assert dict(outcomes.fetchall()) == {"interrupted": AT_ONCE}
        undispatched = conn.execute(
            "SELECT count(*) FROM jobs WHERE status = %s AND dispatched_at IS NULL",
            (JobStatus.QUEUED.value,),
        ).fetchone()
    # Handed back as never dispatched: any process's next sweep dispatches them at once.
    assert undispatched == (AT_ONCE,)


async def test_slots_bound_new_work_but_not_recoveries_and_free_on_empty_claims() -> None:
    ran: list[object] = []
    release = asyncio.Event()

    async def claim(job_id: str) -> Claimed | None:
        if job_id == "broken":
            raise UnavailableError("The database is unavailable.")
        return None if job_id == "gone" else (job_id, None)  # type: ignore[return-value]

    async def run(claimed: Claimed) -> None:
        ran.append(claimed[0])
        await release.wait()

    consumer = JobConsumer(claim, run, jobs=1)
    await consumer.consume("gone")
    with pytest.raises(UnavailableError):
        await consumer.consume("broken")
    await consumer.consume("first")  # the single slot is still free
    await asyncio.sleep(0)
    assert ran == ["first"]
    waiting = asyncio.ensure_future(consumer.consume("second"))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the slot is taken until "first" ends
    # A recovery (urgent) does not queue behind new work waiting for a slot.
    await asyncio.wait_for(consumer.consume("recovery", urgent=True), timeout=5)
    await asyncio.sleep(0)
    assert ran == ["first", "recovery"]
    assert not waiting.done()
    release.set()
    await asyncio.wait_for(waiting, timeout=5)
    await asyncio.sleep(0.05)
    assert ran == ["first", "recovery", "second"]
    # The recovery took no slot, so it gave none back: still one job at a time.
    release.clear()
    await consumer.consume("third")
    blocked = asyncio.ensure_future(consumer.consume("fourth"))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    release.set()
    await asyncio.wait_for(blocked, timeout=5)
    await consumer.aclose()
    with pytest.raises(UnavailableError):  # closing: nothing more is claimed
        await consumer.consume("fifth")
