"""Distributed mode under fire: worker processes killed with SIGKILL while jobs run."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.settings import Settings
from pegasus_core.jobs import JobAttempt, JobStatus
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from tests.conftest import REDIS_URL, require_redis
from tests.helpers import ingest
from tests.system.cli_runner import pegasus_cmd

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

LECTURES = 200
HEARTBEAT, STALE, SWEEP = 1, 5, 1


def worker_env(conninfo: str, namespace: str, storage: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLC_", "OPENAI_"))}
    env.update(
        {
            "DATABASE_URL": conninfo,
            "REDIS_URL": REDIS_URL,
            "PLC_QUEUE_NAMESPACE": namespace,
            "PLC_STORAGE_DIR": str(storage),
            "PLC_TRANSCRIBER": "scripted",
            "PLC_GENERATOR": "scripted",
            "PLC_SCRIPTED_DELAY_MS": "200",
            "PLC_JOB_HEARTBEAT_SEC": str(HEARTBEAT),
            "PLC_JOB_STALE_SEC": str(STALE),
            "PLC_JOB_SWEEP_SEC": str(SWEEP),
            "PLC_JOB_REDISPATCH_SEC": "10",
        }
    )
    return env


async def _unfinished(pegasus: Pegasus) -> str:
    """Describe every job not completed, with its attempts: what a liveness failure needs."""
    lines = []
    for offset in range(0, 3 * LECTURES, 500):
        for job in (await pegasus.list_jobs(PageRequest(limit=500, offset=offset))).items:
            if job.status is JobStatus.COMPLETED:
                continue
            attempts = await pegasus.job_attempts(job.id)
            lines.append(
                f"{job.id} {job.job_type.value} {job.status.value} attempts={job.attempts} "
                f"error={job.error!r} dispatched={job.dispatched_at} heartbeat={job.heartbeat_at} "
                f"retry={job.retry_at} attempts: "
                + "; ".join(
                    f"{a.attempt} {a.worker} {a.started_at:%H:%M:%S.%f}-"
                    f"{a.ended_at and f'{a.ended_at:%H:%M:%S.%f}'} {a.outcome}"
                    for a in attempts
                )
            )
    return "\n".join(lines)


def _recovery(job_id: str, lost: JobAttempt, following: JobAttempt) -> str:
    """One line of a failure's story: who lost the job, who took it up again, and when."""
    assert lost.last_heartbeat_at is not None
    waited = (following.started_at - lost.last_heartbeat_at).total_seconds()
    return (
        f"{job_id} {lost.worker} heartbeat {lost.last_heartbeat_at:%H:%M:%S.%f} -> "
        f"{following.worker} {following.started_at:%H:%M:%S.%f} waited {waited:.2f}"
    )


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


async def test_jobs_survive_three_killed_workers_without_overlap_or_loss(
    postgres_conninfo: str, tmp_path: Path, queue_namespace: str
) -> None:
    await require_redis()
    from tests.audio_fixtures import make_speech_clip

    clip = make_speech_clip(tmp_path / "clip.wav", 2.0, "wav")
    namespace = queue_namespace
    storage = tmp_path / "storage"
    env = worker_env(postgres_conninfo, namespace, storage)
    log = (tmp_path / "workers.log").open("wb")
    supervisor = subprocess.Popen(
        pegasus_cmd("worker", "--processes", "2", "--threads", "4"), env=env, stdout=log, stderr=log
    )
    settings = Settings(
        database_url=postgres_conninfo,
        redis_url=REDIS_URL,
        queue_namespace=namespace,
        storage_dir=str(storage),
        transcriber="scripted",
        generator="scripted",
    )
    killed: list[int] = []
    kills: list[str] = []  # for a failure's story
    try:
        async with open_pegasus(settings, sweep=False) as pegasus:
            for index in range(LECTURES):
                await ingest(pegasus, clip, lecture_id=f"lec-{index:03d}", auto_process=True)
            started = time.monotonic()
            for at in (1.5, 3.0, 4.5):
                await asyncio.sleep(max(0.0, started + at - time.monotonic()))
                victims = children_of(supervisor.pid)
                assert victims, "the supervisor has no worker process"
                os.kill(victims[0], signal.SIGKILL)
                killed.append(victims[0])
                kills.append(f"{victims[0]} at {datetime.now(UTC):%H:%M:%S.%f}")
            deadline = time.monotonic() + 240
            while True:
                page = await pegasus.list_jobs(
                    PageRequest(limit=1), status=JobStatus.COMPLETED.value
                )
                if page.total == 3 * LECTURES:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"only {page.total} jobs completed; the others:\n"
                        + await _unfinished(pegasus)
                        + f"\nworker log tail:\n{_tail(tmp_path / 'workers.log')}"
                    )
                assert supervisor.poll() is None, "the supervisor died"
                await asyncio.sleep(1)
            jobs = []
            for offset in range(0, 3 * LECTURES, 500):
                jobs += (await pegasus.list_jobs(PageRequest(limit=500, offset=offset))).items
            lost_attempts, slowest, recoveries = 0, 0.0, []
            for job in jobs:
                assert job.status is JobStatus.COMPLETED
                assert job.result is not None and job.result["attempt"] == job.attempts
                attempts = await pegasus.job_attempts(job.id)
                assert [a.attempt for a in attempts] == list(range(1, job.attempts + 1))
                for previous, following in itertools.pairwise(attempts):
                    assert previous.ended_at is not None
                    assert previous.ended_at <= following.started_at  # never overlapped
                    if previous.outcome == "lost":
                        lost_attempts += 1
                        assert previous.last_heartbeat_at is not None
                        waited = following.started_at - previous.last_heartbeat_at
                        recoveries.append(_recovery(job.id, previous, following))
                        slowest = max(slowest, waited.total_seconds())
            assert slowest <= STALE + 2 * SWEEP, (
                f"kills: {kills}\nrecoveries:\n"
                + "\n".join(recoveries)
                + f"\nworker log:\n{_tail(tmp_path / 'workers.log', 200)}"
            )
            print(
                f"\n{len(jobs)} jobs completed; {len(killed)} workers killed; "
                f"{lost_attempts} attempts lost and taken back; slowest re-claim "
                f"{slowest:.2f} s after the last heartbeat (bound {STALE + 2 * SWEEP} s)\n"
                f"kills: {kills}\n" + "\n".join(recoveries)
            )
            # Each kill hit a busy process, so running attempts were lost and taken back.
            assert lost_attempts >= len(killed), lost_attempts
            assert len(set(children_of(supervisor.pid))) == 2  # the dead were replaced
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        log.close()
