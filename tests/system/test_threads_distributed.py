"""Course threads built by two worker processes on Postgres, in sequence and in parallel."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.settings import Settings
from pegasus_core.jobs import JobStatus
from pegasus_core.pegasus import Pegasus
from tests.conftest import REDIS_URL, require_redis
from tests.helpers import ingest
from tests.system.cli_runner import pegasus_cmd
from tests.system.test_worker_crashes import worker_env
from tests.thread_lectures import TOPICS, assert_one_thread, lecture_text, seed_transcript

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def wait_done(app: Pegasus, job_ids: list[str], supervisor: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        jobs = [await app.get_job(job_id) for job_id in job_ids]
        if all(j.status is JobStatus.COMPLETED for j in jobs):
            return
        assert all(j.status is not JobStatus.FAILED for j in jobs), [j.error for j in jobs]
        assert time.monotonic() < deadline, [j.status for j in jobs]
        assert supervisor.poll() is None, "the supervisor died"
        await asyncio.sleep(0.2)


async def test_five_lectures_of_a_course_share_one_thread_in_sequence_and_in_parallel(
    postgres_conninfo: str, tmp_path: Path, queue_namespace: str
) -> None:
    await require_redis()
    from tests.audio_fixtures import make_speech_clip

    clip = make_speech_clip(tmp_path / "clip.wav", 2.0, "wav")
    namespace = queue_namespace
    storage = tmp_path / "storage"
    env = worker_env(postgres_conninfo, namespace, storage)
    env["PLC_GENERATOR"] = "offline"  # keyword-overlap matching
    # Two threads per process: the parallel pair overlaps even when one process takes both.
    log = (tmp_path / "workers.log").open("wb")
    supervisor = subprocess.Popen(
        pegasus_cmd("worker", "--processes", "2", "--threads", "2"), env=env, stdout=log, stderr=log
    )
    settings = Settings(
        database_url=postgres_conninfo,
        redis_url=REDIS_URL,
        queue_namespace=namespace,
        storage_dir=str(storage),
        transcriber="scripted",
        generator="offline",
    )
    lectures = [f"lec-{i}" for i in range(len(TOPICS))]
    try:
        async with open_pegasus(settings, sweep=False) as app:
            for index, lecture_id in enumerate(lectures):
                await ingest(app, clip, lecture_id=lecture_id, course_id="physics")
                await seed_transcript(app, lecture_id, lecture_text(index))
            for lecture_id in lectures[:3]:  # one after the other
                submitted = await app.submit_generation(lecture_id)
                await wait_done(app, [submitted.job.id], supervisor)
            together = [await app.submit_generation(lecture_id) for lecture_id in lectures[3:]]
            await wait_done(app, [s.job.id for s in together], supervisor)
            runs = [(await app.job_attempts(s.job.id))[-1] for s in together]
            first, second = sorted(runs, key=lambda a: a.started_at)
            overlapped = first.ended_at is not None and second.started_at < first.ended_at
            print(
                f"\nparallel pair: {len({a.worker for a in runs})} worker process(es), "
                f"attempts overlapped: {overlapped}"
            )
            await assert_one_thread(app, "physics", lectures)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        log.close()
