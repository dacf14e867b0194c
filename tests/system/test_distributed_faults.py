"""Distributed mode under faults, with real processes.

Redis down (writes still accepted, readiness says so, the limiter fails open) and back (the job
runs); a message lost in a Redis restart (the sweep sends it again); every pooled Postgres
connection of the API killed (the next requests succeed); two API processes sharing rate limits
and idempotency keys; and bad configuration refused at startup with every problem named.

The machine's Redis and Postgres are never stopped: Redis outages use a private redis-server
(tests/system/private_redis.py), and only this test's own Postgres backends are terminated.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
import redis

from tests.conftest import POSTGRES_URL
from tests.system.cli_runner import cli_env, pegasus_cmd
from tests.system.private_redis import private_redis
from tests.system.served import free_port, served

pytestmark = pytest.mark.slow

T = TypeVar("T")

SWEEP = 1
FAST_JOBS = {
    "PLC_JOB_HEARTBEAT_SEC": "1",
    "PLC_JOB_STALE_SEC": "5",
    "PLC_JOB_SWEEP_SEC": str(SWEEP),
}
ENGINES = {"PLC_TRANSCRIBER": "scripted", "PLC_GENERATOR": "scripted"}


# --- helpers -----------------------------------------------------------------------------


def distributed_env(conninfo: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Postgres + Redis, a namespace of this test's own, scripted engines, fast job timing."""
    return {
        "DATABASE_URL": conninfo,
        "REDIS_URL": redis_url,
        "PLC_QUEUE_NAMESPACE": f"test-{uuid.uuid4().hex}",
        **ENGINES,
        **FAST_JOBS,
        **extra,
    }


def application_name(conninfo: str) -> str:
    """The postgres_conninfo fixture names the test's connections after its schema."""
    return str(psycopg.conninfo.conninfo_to_dict(conninfo)["application_name"])


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """Poll probe until it returns something truthy; fail with its last answer at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(interval)


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


def _is_worker_child(pid: int) -> bool:
    try:
        return b"pegasus_adapters.dramatiq_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@contextmanager
def running_worker(storage: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run `pegasus worker` (one process, two threads) until the block ends."""
    storage.mkdir(parents=True, exist_ok=True)
    log = (storage.parent / f"worker-{uuid.uuid4().hex[:8]}.log").open("wb")
    supervisor = subprocess.Popen(
        pegasus_cmd("worker", "--processes", "1", "--threads", "2"),
        env=cli_env(storage, **env),
        stdout=log,
        stderr=log,
    )
    try:
        yield supervisor
    finally:
        children = children_of(supervisor.pid)
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            supervisor.wait(timeout=10)
        # Children stop with their supervisor; make sure none of ours lingers.
        deadline = time.monotonic() + 15
        while any(_is_worker_child(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in children:
            if _is_worker_child(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        log.close()


def ingest(http: httpx.Client, clip: Path, lecture_id: str, **headers: str) -> None:
    with clip.open("rb") as handle:
        created = http.post(
            "/lectures/ingest",
            data={
                "course_id": "faults",
                "preset_id": "exam-mode",
                "title": "Faults",
                "lecture_id": lecture_id,
            },
            files={"audio": ("clip.wav", handle, "audio/wav")},
            headers=headers,
        )
    assert created.status_code == 201, created.text


def get_job(http: httpx.Client, job_id: str) -> dict[str, Any]:
    answer = http.get(f"/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def wait_for_completion(http: httpx.Client, job_id: str, *, timeout: float) -> dict[str, Any]:
    def completed() -> dict[str, Any] | None:
        job = get_job(http, job_id)
        assert job["status"] in ("queued", "running", "completed"), job
        return job if job["status"] == "completed" else None

    return wait_until(completed, timeout=timeout, what=f"job {job_id} to complete")


def metric(text: str, name: str) -> float:
    """Return the value of an unlabelled sample in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def messages_in(redis_url: str, namespace: str, queue: str) -> list[bytes]:
    """The Dramatiq messages held in Redis for one queue (each names its job id)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return [bytes(m) for m in client.hvals(f"{namespace}:{queue}.msgs")]
    finally:
        client.close()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def backends(admin: psycopg.Connection[Any], name: str) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = %s AND pid <> pg_backend_pid()",
        (name,),
    ).fetchall()
    return [row[0] for row in rows]


def terminate_backends(admin: psycopg.Connection[Any], name: str) -> list[int]:
    """Terminate every backend named `name` (this test's only) and wait until they are gone."""
    pids = backends(admin, name)
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_until(
        lambda: not set(pids) & set(backends(admin, name)),
        timeout=10,
        what="the terminated backends to go",
        interval=0.05,
    )
    return pids


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    from tests.audio_fixtures import make_speech_clip

    return make_speech_clip(tmp_path / "clip.wav", 2.0, "wav")


# --- 1. Redis down, then back ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
def test_writes_are_accepted_while_redis_is_down_and_run_once_it_is_back(
    postgres_conninfo: str, tmp_path: Path, clip: Path
) -> None:
    storage = tmp_path / "storage"
    with private_redis(tmp_path / "redis") as broker:
        env = distributed_env(postgres_conninfo, broker.url, PLC_WRITE_RATE_LIMIT_MAX_REQUESTS="3")
        with (
            running_worker(storage, env) as worker,
            served(storage, **env) as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            ingest(http, clip, "outage")  # one write counted in Redis
            broker.stop()

            # Six writes while Redis is down, twice the limit: all accepted (fail open).
            accepted = http.post("/lectures/outage/transcribe")
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["jobId"]
            assert accepted.json()["deduplicated"] is False
            repeats = [http.post("/lectures/outage/transcribe") for _ in range(5)]
            assert [r.status_code for r in repeats] == [202] * 5, [r.text for r in repeats]
            assert {r.json()["jobId"] for r in repeats} == {job_id}

            # The row is committed but not dispatched, and the failing sweeps leave it so.
            watch_until = time.monotonic() + 3 * SWEEP
            while True:
                job = get_job(http, job_id)
                assert job["status"] == "queued", job
                assert job["dispatchedAt"] is None, job
                if time.monotonic() > watch_until:
                    break
                time.sleep(0.25)

            ready = http.get("/health/ready")
            assert ready.status_code == 503, ready.text
            body = ready.json()
            assert body["status"] == "degraded"
            assert body["checks"]["database"]["status"] == "ok"
            assert body["checks"]["queue"]["status"] == "error"
            reason = body["checks"]["queue"]["reason"]
            assert isinstance(reason, str) and 0 < len(reason) <= 100, reason
            for secret in (
                "127.0.0.1",
                "localhost",
                f":{broker.port}",
                "redis://",
                "postgresql",
                application_name(postgres_conninfo),
            ):
                assert secret not in ready.text, (secret, ready.text)

            metrics = http.get("/metrics")
            assert metrics.status_code == 200
            assert metric(metrics.text, "pegasus_rate_limiter_fail_open_total") >= 6

            # Redis comes back on the same port: the sweep dispatches, the worker runs it.
            broker.start()
            done = wait_for_completion(http, job_id, timeout=30)
            assert done["attempts"] == 1, done
            wait_until(
                lambda: http.get("/health/ready").status_code == 200,
                timeout=10,
                what="readiness to recover",
            )
            assert worker.poll() is None, "the worker supervisor died"


# --- 2. A message lost in a Redis restart ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
def test_a_message_lost_in_a_redis_restart_is_dispatched_again(
    postgres_conninfo: str, tmp_path: Path, clip: Path
) -> None:
    storage = tmp_path / "storage"
    with private_redis(tmp_path / "redis") as broker:
        env = distributed_env(postgres_conninfo, broker.url, PLC_JOB_REDISPATCH_SEC="3")
        namespace = env["PLC_QUEUE_NAMESPACE"]
        with (
            served(storage, **env) as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            ingest(http, clip, "lost")
            accepted = http.post("/lectures/lost/transcribe")  # no worker is running
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["jobId"]
            first = wait_until(
                lambda: get_job(http, job_id)["dispatchedAt"],
                timeout=10,
                what="the first dispatch",
            )
            assert any(job_id.encode() in m for m in messages_in(broker.url, namespace, "pegasus"))

            broker.restart()  # no persistence: the message is gone
            assert not any(
                job_id.encode() in m for m in messages_in(broker.url, namespace, "pegasus")
            )
            assert get_job(http, job_id)["status"] == "queued"

            # PLC_JOB_REDISPATCH_SEC after the lost dispatch, the sweep sends the job again
            # into the new Redis (to the normal queue: a job dispatched long ago may also be
            # waiting in a long queue, and recoveries go ahead of it).
            def dispatched_again() -> bool:
                again = get_job(http, job_id)["dispatchedAt"]
                return (
                    again is not None
                    and parse_time(again) > parse_time(first)
                    and any(
                        job_id.encode() in m for m in messages_in(broker.url, namespace, "pegasus")
                    )
                )

            wait_until(dispatched_again, timeout=15, what="the sweep to dispatch the job again")

            with running_worker(storage, env) as worker:
                done = wait_for_completion(http, job_id, timeout=30)
                assert worker.poll() is None, "the worker supervisor died"
            assert done["attempts"] == 1, done


# --- 3. Every pooled Postgres connection of the API terminated ---------------------------


@pytest.mark.postgres
def test_the_api_recovers_by_itself_after_its_postgres_connections_are_terminated(
    postgres_conninfo: str, tmp_path: Path, clip: Path
) -> None:
    storage = tmp_path / "storage"
    name = application_name(postgres_conninfo)
    env = {"DATABASE_URL": postgres_conninfo, "PLC_INLINE_JOBS": "true", **ENGINES, **FAST_JOBS}
    with (
        served(storage, **env) as base,
        httpx.Client(base_url=base, timeout=30) as http,
        psycopg.connect(POSTGRES_URL, autocommit=True) as admin,
    ):
        ingest(http, clip, "pg")
        # Concurrent reads make the pool hold several connections.
        with ThreadPoolExecutor(8) as pool:
            warm = list(pool.map(lambda _: http.get("/lectures/pg").status_code, range(32)))
        assert warm == [200] * 32

        killed = terminate_backends(admin, name)
        assert killed, "the API held no Postgres connection"
        row = admin.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        terminated_at = row[0]

        reads = [http.get("/lectures/pg") for _ in range(20)]
        assert [r.status_code for r in reads] == [200] * 20, [r.text for r in reads]
        posted = http.post("/lectures/pg/transcribe")
        assert posted.status_code == 202, posted.text
        assert posted.json()["deduplicated"] is False
        assert http.get("/health/ready").status_code == 200
        fresh = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND backend_start > %s",
            (name, terminated_at),
        ).fetchone()
        assert fresh is not None and fresh[0] >= 1  # the pool replaced what was killed
        done = wait_for_completion(http, posted.json()["jobId"], timeout=30)
        assert done["attempts"] == 1, done


# --- 4. Two API processes share rate limits and idempotency keys -------------------------


@pytest.mark.postgres
@pytest.mark.redis
def test_two_api_processes_share_rate_limits_and_idempotency_keys(
    postgres_conninfo: str, tmp_path: Path, clip: Path
) -> None:
    storage = tmp_path / "storage"
    with private_redis(tmp_path / "redis") as broker:
        env = distributed_env(postgres_conninfo, broker.url, PLC_WRITE_RATE_LIMIT_MAX_REQUESTS="5")
        with (
            served(storage, **env) as base_a,
            served(storage, **env) as base_b,
            httpx.Client(base_url=base_a, timeout=30) as a,
            httpx.Client(base_url=base_b, timeout=30) as b,
        ):
            # Each client is named by X-Forwarded-For (the loopback peer is a trusted proxy).
            setup = {"X-Forwarded-For": "198.51.100.1"}
            ingest(a, clip, "rate", **setup)
            ingest(a, clip, "idem", **setup)

            client = {"X-Forwarded-For": "198.51.100.2"}
            answers = [
                server.post("/lectures/rate/transcribe", headers=client)
                for server in (a, a, a, b, b, b)
            ]
            assert [r.status_code for r in answers] == [202] * 5 + [429], [r.text for r in answers]
            refused = answers[-1]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60, refused.headers
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["detail"] == "Too many write requests. Please retry shortly."

            keyed = {"X-Forwarded-For": "198.51.100.3", "Idempotency-Key": "faults-key-1"}
            first = a.post("/lectures/idem/transcribe", json={"model": "first"}, headers=keyed)
            assert first.status_code == 202, first.text
            assert first.json()["deduplicated"] is False
            assert "Idempotent-Replayed" not in first.headers

            replayed = b.post("/lectures/idem/transcribe", json={"model": "first"}, headers=keyed)
            assert replayed.status_code == 202, replayed.text
            assert replayed.headers.get("Idempotent-Replayed") == "true", replayed.headers
            # Executed again it would say deduplicated: true; replayed, it is the same answer.
            assert replayed.json() == first.json()

            other = b.post("/lectures/idem/transcribe", json={"model": "second"}, headers=keyed)
            assert other.status_code == 409, other.text
            assert other.json()["detail"] == "Idempotency-Key reuse with different request payload."

            jobs = a.get("/lectures/idem/jobs").json()
            assert jobs["pagination"]["total"] == 1, jobs


# --- 5. Bad configuration is refused at startup ------------------------------------------


def run_pegasus(storage: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `pegasus` with exactly the given Pegasus variables (none inherited)."""
    environ = cli_env(storage, **env)
    for variable in ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION", "AWS_REGION"):
        if variable not in env:
            environ.pop(variable, None)
    return subprocess.run(
        pegasus_cmd(*args),
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_configuration_is_refused_at_startup_naming_every_problem(tmp_path: Path) -> None:
    storage = tmp_path / "storage"

    serve = run_pegasus(
        storage,
        "serve",
        "--port",
        str(free_port()),
        STORAGE_MODE="s3",
        PLC_WRITE_RATE_LIMIT_MAX_REQUESTS="abc",
    )
    assert serve.returncode != 0, serve
    assert "S3_BUCKET" in serve.stderr, serve.stderr
    assert "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS" in serve.stderr, serve.stderr
    assert serve.stderr.count("pegasus: ") == 1, serve.stderr  # one message for both
    assert "Traceback" not in serve.stderr, serve.stderr

    # `pegasus worker` always needs REDIS_URL: embedded, and with Postgres + inline jobs.
    for env in (
        {},
        {"DATABASE_URL": "postgresql://pegasus:s3cret@127.0.0.1:1/none", "PLC_INLINE_JOBS": "1"},
    ):
        worker = run_pegasus(storage, "worker", **env)
        assert worker.returncode != 0, (env, worker)
        assert "REDIS_URL" in worker.stderr, (env, worker.stderr)
        assert "Traceback" not in worker.stderr, worker.stderr
        assert "s3cret" not in worker.stderr + worker.stdout, worker.stderr

    # A queue without a shared database is a configuration error, for the API and the worker.
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    for command in (("serve", "--port", str(free_port())), ("worker",)):
        refused = run_pegasus(storage, *command, REDIS_URL=nobody)
        assert refused.returncode != 0, (command, refused)
        assert "REDIS_URL" in refused.stderr, (command, refused.stderr)
        assert "DATABASE_URL" in refused.stderr, (command, refused.stderr)
        assert "configuration" in refused.stderr, (command, refused.stderr)
        assert "Traceback" not in refused.stderr, refused.stderr
