"""A worker process runs the messages it takes while its Pegasus is still opening, on its
own Pegasus, not on one the same process opened to dispatch. Real Postgres and Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import dramatiq
import psycopg
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.dramatiq_queue import QUEUES, Dispatcher, setup_broker
from pegasus_adapters.dramatiq_worker import PegasusLifecycle, _log_task_stacks
from pegasus_adapters.settings import Settings
from tests.audio_fixtures import make_speech_clip
from tests.conftest import REDIS_URL, require_redis
from tests.helpers import ingest

JOBS = 3
OPENING_SEC = 1.0


class SlowToOpen(PegasusLifecycle):
    """Opens Pegasus only after the worker's threads have taken the waiting messages."""

    async def _open(self) -> None:
        await asyncio.sleep(OPENING_SEC)
        await super()._open()


def _completed(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE status = 'completed'").fetchone()
    assert row is not None
    return int(row[0])


async def test_messages_taken_while_pegasus_opens_wait_for_it_and_run(
    postgres_conninfo: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    queue_namespace: str,
) -> None:
    await require_redis()
    settings = Settings(
        database_url=postgres_conninfo,
        redis_url=REDIS_URL,
        queue_namespace=queue_namespace,
        storage_dir=str(tmp_path / "storage"),
        transcriber="scripted",
        generator="scripted",
        # Only the first delivery can run these jobs within the test: no sweep re-dispatch.
        job_sweep_sec=3600,
        job_redispatch_sec=3600,
    )
    clip = make_speech_clip(tmp_path / "clip.wav", 0.5, "wav")
    broker, *_ = setup_broker(settings, SlowToOpen(settings))
    worker = dramatiq.Worker(broker, queues=QUEUES, worker_threads=2, worker_timeout=100)
    try:
        # This process opens a Pegasus of its own to submit, and keeps it open meanwhile.
        async with open_pegasus(settings, sweep=False) as submitter:
            for index in range(JOBS):
                await ingest(submitter, clip, lecture_id=f"lec-{index}")
                await submitter.submit_transcription(f"lec-{index}")  # sent to Redis now
            # Dramatiq emits after_worker_boot (which opens Pegasus) once its threads run.
            await asyncio.to_thread(worker.start)
            deadline = time.monotonic() + 60
            while _completed(postgres_conninfo) < JOBS:
                assert time.monotonic() < deadline, "the jobs taken at start never ran"
                await asyncio.sleep(0.1)
            # They ran on the worker's Pegasus: the submitter's was never its handler.
            assert Dispatcher.handler is not None
            assert Dispatcher.handler != submitter.run_job
            # What `kill -USR1` does: every task of the worker's loop logs its stack.
            with caplog.at_level(logging.WARNING, logger="pegasus.worker"):
                _log_task_stacks()
                await asyncio.sleep(0.5)
            assert any("pegasus-sweep" in r.getMessage() for r in caplog.records)
    finally:
        worker.stop(timeout=10_000)  # in finally: its threads would outlive the test
        broker.flush_all()
        broker.close()
    assert Dispatcher.handler is None  # closed with the worker: later messages fail fast
    with psycopg.connect(postgres_conninfo) as conn:
        attempts = conn.execute("SELECT count(*), max(attempt) FROM job_attempts").fetchone()
    assert attempts == (JOBS, 1)  # each job ran once, from its first message
