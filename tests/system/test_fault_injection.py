"""Faults injected into real processes during a batch: nothing is lost, nothing is left over.

Each case runs a real API process and a real `pegasus worker` (Postgres + a private Redis),
submits a batch of lectures with auto_process, injects one fault while the batch runs, lifts it,
and then proves: every job completed (lost = 0), attempts never overlapped and the kept result
is the last attempt's, every lecture is `completed` with integrity `ok`, and the files in storage
are exactly those the database refers to (plus transcription chunks): no orphan, no partial
upload. Each case also proves its fault fired (a retry or re-claim in the attempt records, and
for Redis jobs left undispatched while it was down), and prints per fault: jobs submitted,
completed, retried (more than one attempt) and lost.

Faults are injected without touching the machine's services (DESIGN.md section 5): storage
faults and the hanging engine through PLC_FAULT_DIR switch files (pegasus_adapters/faults.py),
Postgres through loopback TCP proxies the test cuts, Redis as a private redis-server.
"""

from __future__ import annotations

import collections
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pegasus_adapters.faults import CRASH_EXIT_CODE
from tests.system.private_redis import PrivateRedis, private_redis
from tests.system.served import served
from tests.system.tcp_proxy import TcpProxy, tcp_proxy
from tests.system.test_distributed_faults import ENGINES, running_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

BATCH = 3
STALE = 3
TIMING = {
    "PLC_JOB_HEARTBEAT_SEC": "1",
    "PLC_JOB_STALE_SEC": str(STALE),
    "PLC_JOB_SWEEP_SEC": "1",
    "PLC_JOB_REDISPATCH_SEC": "3",
    "PLC_JOB_RETRY_BACKOFF_SEC": "1",
    "PLC_JOB_MAX_ATTEMPTS": "8",
    "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS": "10000",
}
STAGES = ("transcription", "generation", "export")


@dataclass
class Cluster:
    """The processes under test and the handles to hurt them."""

    http: httpx.Client
    db: psycopg.Connection[Any]
    storage: Path
    switches: Path
    redis: PrivateRedis
    api_proxy: TcpProxy
    worker_proxy: TcpProxy
    worker_log: Path

    def arm(self, switch: str, *keys: str) -> None:
        """Turn a fault on (for keys containing any of `keys`; none: every key)."""
        (self.switches / switch).write_text("\n".join(keys))

    def disarm(self, switch: str) -> None:
        (self.switches / switch).unlink(missing_ok=True)

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()


@contextmanager
def cluster(conninfo: str, tmp_path: Path, **extra: str) -> Iterator[Cluster]:
    """Start a private Redis, two Postgres proxies, the worker and the API."""
    storage, switches = tmp_path / "storage", tmp_path / "faults"
    switches.mkdir()
    upstream = conninfo_to_dict(conninfo)
    address = (str(upstream.get("host", "127.0.0.1")), int(upstream.get("port", 5432)))
    with ExitStack() as stack:
        broker = stack.enter_context(private_redis(tmp_path / "redis"))
        api_proxy = stack.enter_context(tcp_proxy(address))
        worker_proxy = stack.enter_context(tcp_proxy(address))
        common = {
            "REDIS_URL": broker.url,
            "PLC_QUEUE_NAMESPACE": f"test-{uuid.uuid4().hex}",
            "PLC_FAULT_DIR": str(switches),
            **ENGINES,
            **TIMING,
            **extra,
        }

        def via(proxy: TcpProxy) -> dict[str, str]:
            return {"DATABASE_URL": make_conninfo(conninfo, port=str(proxy.port)), **common}

        worker = stack.enter_context(running_worker(storage, via(worker_proxy)))
        base = stack.enter_context(served(storage, **via(api_proxy)))
        http = stack.enter_context(httpx.Client(base_url=base, timeout=60))
        db = stack.enter_context(psycopg.connect(conninfo, autocommit=True))
        logs = sorted(tmp_path.glob("worker-*.log"))  # running_worker's log
        yield Cluster(
            http=http,
            db=db,
            storage=storage,
            switches=switches,
            redis=broker,
            api_proxy=api_proxy,
            worker_proxy=worker_proxy,
            worker_log=logs[-1],
        )
        assert worker.poll() is None, "the worker supervisor died"


def ingest(http: httpx.Client, clip: Path, lecture_id: str) -> httpx.Response:
    with clip.open("rb") as handle:
        return http.post(
            "/lectures/ingest",
            data={
                "course_id": "faults",
                "preset_id": "exam-mode",
                "title": "Faults",
                "lecture_id": lecture_id,
                "auto_process": "true",
            },
            files={"audio": ("clip.wav", handle, "audio/wav")},
        )


def submit(c: Cluster, clip: Path, prefix: str, count: int = BATCH) -> list[str]:
    ids = [f"{prefix}-{index}" for index in range(count)]
    for lecture_id in ids:
        created = ingest(c.http, clip, lecture_id)
        assert created.status_code == 201, created.text
    return ids


def outcomes(c: Cluster, lecture_ids: list[str]) -> collections.Counter[str]:
    rows = c.rows(
        "SELECT a.outcome FROM job_attempts a JOIN jobs j ON j.id = a.job_id "
        "WHERE j.lecture_id = ANY(%s)",
        lecture_ids,
    )
    return collections.Counter(str(row[0]) for row in rows)


def wait_for_outcome(c: Cluster, lecture_ids: list[str], outcome: str, at_least: int = 1) -> None:
    wait_until(
        lambda: outcomes(c, lecture_ids)[outcome] >= at_least,
        timeout=60,
        what=f"{at_least} attempt(s) ending {outcome!r}",
    )


def wait_for_batch(c: Cluster, lecture_ids: list[str]) -> None:
    def done() -> bool:
        completed = c.rows(
            "SELECT count(*) FROM jobs WHERE lecture_id = ANY(%s) AND job_type = 'export' "
            "AND status = 'completed'",
            lecture_ids,
        )[0][0]
        active = c.rows("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0]
        return completed == len(lecture_ids) and active == 0

    wait_until(done, timeout=120, what=f"the batch {lecture_ids} to complete", interval=0.5)


def account(c: Cluster, fault: str, lecture_ids: list[str], say: Say) -> dict[str, int]:
    """Check the batch ended consistent; return and print what happened to its jobs."""
    jobs = c.rows(
        "SELECT id, lecture_id, job_type, status, attempts, result FROM jobs "
        "WHERE lecture_id = ANY(%s)",
        lecture_ids,
    )
    attempts = collections.defaultdict(list)
    for job_id, number, started, ended, outcome in c.rows(
        "SELECT job_id, attempt, started_at, ended_at, outcome FROM job_attempts "
        "WHERE job_id = ANY(%s) ORDER BY job_id, attempt",
        [job[0] for job in jobs],
    ):
        attempts[job_id].append((number, started, ended, outcome))
    for job_id, lecture_id, job_type, status, count, result in jobs:
        assert status == "completed", (job_id, lecture_id, job_type, status)
        history = attempts[job_id]
        assert [a[0] for a in history] == list(range(1, count + 1)), (job_id, history)
        assert [a[3] for a in history].count("completed") == 1, (job_id, history)
        assert history[-1][3] == "completed", (job_id, history)
        for earlier, later in itertools.pairwise(history):  # attempts never overlapped
            assert earlier[2] is not None and earlier[2] <= later[1], (job_id, history)
        assert f'"attempt":{count}' in result.replace(" ", ""), (job_id, result)
    per_lecture = collections.Counter((job[1], job[2]) for job in jobs)
    assert set(per_lecture) == {(lid, stage) for lid in lecture_ids for stage in STAGES}
    assert set(per_lecture.values()) == {1}, per_lecture  # one job per stage, never two
    statuses = c.rows("SELECT id, status FROM lectures WHERE id = ANY(%s)", lecture_ids)
    assert sorted(statuses) == [(lid, "completed") for lid in sorted(lecture_ids)]
    check_storage(c, lecture_ids)
    report = {
        "submitted": len(jobs),
        "completed": sum(job[3] == "completed" for job in jobs),
        "retried": sum(job[4] > 1 for job in jobs),
        "lost": sum(job[3] != "completed" for job in jobs),
    }
    seen = dict(outcomes(c, lecture_ids))
    say(f"fault {fault}: " + " ".join(f"{k}={v}" for k, v in report.items()) + f" {seen}")
    assert report["lost"] == 0
    return report


def check_storage(c: Cluster, lecture_ids: list[str]) -> None:
    """Integrity ok, and the files on disk are what the records name (chunks aside)."""
    on_disk = sorted(
        path.relative_to(c.storage).as_posix()
        for path in (c.storage / "lectures").rglob("*")
        if path.is_file()
    )
    expected: set[str] = set()
    for lecture_id in lecture_ids:
        integrity = c.http.get(f"/lectures/{lecture_id}/integrity?verify=checksum").json()
        assert integrity["status"] == "ok", integrity
        expected |= {check["path"] for check in integrity["checks"]}
    chunks = {p for p in on_disk if "/chunks/" in p}
    lectures = {p.split("/")[1] for p in on_disk}
    assert lectures <= set(lecture_ids), f"files of lectures that do not exist: {lectures}"
    assert set(on_disk) - chunks == expected, sorted(set(on_disk) ^ expected)
    assert all(not Path(p).name.startswith(".") for p in on_disk), on_disk  # no partial files


Say = Callable[[str], None]


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Say:
    """Print a line of the fault report even when pytest captures output."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(f"\n{line}")

    return write


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    from tests.audio_fixtures import make_speech_clip

    return make_speech_clip(tmp_path / "clip.wav", 2.0, "wav")


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    """An upload of several request chunks, so a write can fail in the middle of it."""
    from tests.audio_fixtures import make_speech_clip

    return make_speech_clip(tmp_path / "upload.wav", 12.0, "wav")


def test_a_storage_write_failure_mid_upload_and_mid_job(
    postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say, upload: Path
) -> None:
    with cluster(postgres_conninfo, tmp_path) as c:
        # Whatever key the upload is written to first (staging, or audio.<ext> at once).
        c.arm("storage-eio", "lectures/eio-upload/")
        refused = ingest(c.http, upload, "eio-upload")
        assert refused.status_code == 503, refused.text
        assert refused.json()["type"].endswith("/unavailable"), refused.text
        assert c.http.get("/lectures/eio-upload").status_code == 404
        assert not [p for p in c.storage.rglob("*") if p.is_file() and "eio-upload" in str(p)]

        c.arm("storage-eio", "transcript.json")
        ids = submit(c, clip, "eio")
        wait_for_outcome(c, ids, "retry")
        c.disarm("storage-eio")
        retried_upload = ingest(c.http, upload, "eio-upload")  # the client tries again
        assert retried_upload.status_code == 201, retried_upload.text
        wait_for_batch(c, [*ids, "eio-upload"])
        report = account(c, "storage write failure (EIO)", [*ids, "eio-upload"], say)
        assert report["retried"] >= 1


def test_disk_full(postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say) -> None:
    with cluster(postgres_conninfo, tmp_path) as c:
        # Full for everything a job writes (and readiness's probe); uploads still fit.
        c.arm("storage-enospc", "chunks/", "transcript.json", "artifacts/", "exports/", ".health/")
        ids = submit(c, clip, "full")
        wait_for_outcome(c, ids, "retry", at_least=BATCH)
        ready = c.http.get("/health/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["storage"]["status"] == "error"
        assert str(c.storage) not in ready.text and str(tmp_path) not in ready.text
        c.disarm("storage-enospc")
        wait_for_batch(c, ids)
        assert c.http.get("/health/ready").status_code == 200
        assert account(c, "disk full (ENOSPC)", ids, say)["retried"] >= BATCH


def test_postgres_going_away_under_the_workers(
    postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say
) -> None:
    with cluster(postgres_conninfo, tmp_path, PLC_SCRIPTED_DELAY_MS="1500") as c:
        ids = submit(c, clip, "pg")
        wait_until(
            lambda: c.rows("SELECT count(*) FROM jobs WHERE status = 'running'")[0][0] >= 1,
            timeout=30,
            what="a running job",
            interval=0.05,
        )
        c.worker_proxy.cut()  # the workers lose Postgres, mid-job; the API keeps it
        wait_for_outcome(c, ids, "lost")  # taken back by the API's sweep: stale heartbeat
        c.worker_proxy.restore()
        # Then Postgres goes away for every process at once, mid-batch, and comes back.
        more = submit(c, clip, "pg-all")
        wait_until(
            lambda: c.rows("SELECT count(*) FROM jobs WHERE status = 'running'")[0][0] >= 1,
            timeout=30,
            what="a running job",
            interval=0.05,
        )
        resets = c.api_proxy.reset + c.worker_proxy.reset
        c.api_proxy.cut()
        c.worker_proxy.cut()
        time.sleep(STALE + 2)  # longer than a heartbeat may be stale
        c.api_proxy.restore()
        c.worker_proxy.restore()
        wait_for_batch(c, [*ids, *more])
        assert c.api_proxy.reset + c.worker_proxy.reset > resets  # connections were cut
        account(c, "Postgres gone (workers, then everyone)", [*ids, *more], say)


def test_redis_going_away(postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say) -> None:
    with cluster(postgres_conninfo, tmp_path, PLC_SCRIPTED_DELAY_MS="500") as c:
        ids = submit(c, clip, "redis")
        c.redis.stop()
        # Stages finishing now create jobs that cannot be dispatched: they wait in the table.
        wait_until(
            lambda: (
                c.rows(
                    "SELECT count(*) FROM jobs WHERE lecture_id = ANY(%s) AND status = 'queued' "
                    "AND dispatched_at IS NULL",
                    ids,
                )[0][0]
                >= 1
            ),
            timeout=30,
            what="a job left undispatched while Redis is down",
        )
        ready = c.http.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["queue"]["status"] == "error"
        c.redis.start()  # empty: every message it held is lost
        wait_for_batch(c, ids)
        account(c, "Redis gone (restarted empty)", ids, say)


def test_an_engine_that_hangs_hits_the_time_limit(
    postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say
) -> None:
    limits = {"PLC_JOB_TIME_LIMIT_MIN_SEC": "3", "PLC_JOB_TIME_LIMIT_FACTOR": "1"}
    with cluster(postgres_conninfo, tmp_path, **limits) as c:
        c.arm("engine-hangs")
        ids = submit(c, clip, "hang")
        wait_for_outcome(c, ids, "retry")
        c.disarm("engine-hangs")
        wait_for_batch(c, ids)
        assert account(c, "engine hangs (time limit)", ids, say)["retried"] >= 1


def test_a_worker_killed_between_writing_results_and_committing(
    postgres_conninfo: str, tmp_path: Path, clip: Path, say: Say
) -> None:
    with cluster(postgres_conninfo, tmp_path) as c:
        c.arm("crash-after-put", "transcript.json")
        ids = submit(c, clip, "crash")
        wait_until(
            lambda: not (c.switches / "crash-after-put").exists(),
            timeout=30,
            what="the crash to fire",
        )
        wait_for_outcome(c, ids, "lost")  # the dead attempt, taken back when it went stale
        wait_for_batch(c, ids)
        assert f"exited with {CRASH_EXIT_CODE}" in c.worker_log.read_text()
        assert account(c, "worker killed before commit", ids, say)["retried"] >= 1
