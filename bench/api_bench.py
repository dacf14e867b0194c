"""Benchmark the HTTP API on Postgres against the SQL it runs, on a seeded database.

1. A fresh database: migrated by opening Pegasus once, then seeded with COPY (default 100,000
   lectures over ~200 courses plus `big` with 1,000 and `small` with 10; 300,000 jobs).
2. `pegasus serve` on a free port, measured with wrk (same concurrency for every endpoint).
3. The SQL each endpoint's use case issues, captured by running the use case on a recording
   session, replayed in a tight loop through a psycopg pool with the same concurrency: the
   throughput of "one request's worth of SQL", bare and inside the unit of work's framing.
4. Course progress for 1,000 lectures one request at a time, and a 300 MiB WAV uploaded
   through POST /lectures/ingest with the server's peak RSS growth.

Run: .venv/bin/python bench/api_bench.py [--lectures 100000] [--jobs 300000] [--duration 5]
     [--rounds 3] [--keep]
Benchmarks report: the exit code is 0 even when a target is missed, non-zero only on a crash.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import hashlib
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, TypeVar

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from benchkit import Multipart, RssPeak, free_port, step, verdict, version, watch_rss
from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.postgres.unit_of_work import (
    DEFAULT_PREPARE_THRESHOLD,
    PostgresDatabase,
    to_pyformat,
)
from pegasus_adapters.settings import Settings
from pegasus_adapters.sql.session import Row
from pegasus_adapters.sql.unit_of_work import SqlRepositories
from pegasus_core.pagination import PageRequest
from pegasus_core.use_cases import queries, reports

T = TypeVar("T")

ADMIN_URL = os.environ.get("PEGASUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BIG, SMALL = "big", "small"
BIG_LECTURES, SMALL_LECTURES = 1_000, 10
OTHER_COURSES = 200
PRESETS = ("exam-mode", "concept-map-mode", "beginner-mode", "research-mode")
SEED = 20_240_601

CONCURRENCY = 16  # wrk connections and direct-SQL tasks
POOL_MAX_SIZE = 10  # open_postgres's default: the server's pool
WARMUP_SEC = 2.0
LATENCY_SAMPLES = 50

OLD_LIST_RPS = 19.0  # GET /lectures on the old backend
LIST_SPEEDUP_TARGET = 50.0
RATIO_TARGET = 0.60  # API req/s over direct-SQL req/s
COURSE_COST_TARGET = 2.0  # big (1,000 lectures) over small (10 lectures)
COURSE_LATENCY_TARGET_MS = 20.0
UPLOAD_MIB = 300
UPLOAD_LIMIT_MB = 400
UPLOAD_RSS_TARGET_MIB = 32.0
RSS_SAMPLE_SEC = 0.05
WIDTH = 104


# --- Small helpers ---------------------------------------------------------------------------


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop (as `pegasus serve` does) when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# --- CPU accounting (Linux /proc) ------------------------------------------------------------


@dataclass(frozen=True)
class CpuSample:
    at: float
    busy: float  # CPU seconds the whole machine spent busy
    server: float  # the server process and its descendants
    client: float  # this process and the children it reaped (wrk)
    postgres: float  # the Postgres backends connected to the benchmark's database


@dataclass(frozen=True)
class CpuUse:
    server: float
    client: float
    postgres: float
    others: float

    def describe(self) -> str:
        return (
            f"cores busy: server {self.server:.2f}, postgres {self.postgres:.2f}, "
            f"client {self.client:.2f}, other processes {self.others:.2f}"
        )


def _proc_stats() -> dict[int, tuple[str, list[str]]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                text = (entry / "stat").read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                stats[int(entry.name)] = (name, text.rsplit(")", 1)[1].split())
    return stats


def _serves(pid: int, database: str) -> bool:
    # A backend's title: "postgres: [cluster: ]user database host(port) state".
    with contextlib.suppress(OSError):
        return f" {database} " in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    return False


def cpu_sample(server_pid: int | None, database: str) -> CpuSample | None:
    """Sample CPU times: the machine, the server, this process, our database's backends.

    Only backends of `database` count as postgres: other databases on the same server belong
    to other processes' work.
    """
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    stats = _proc_stats()

    def ticks(pid: int) -> int:
        # utime, stime, then cutime, cstime: the children it waited for.
        return sum(int(v) for v in stats[pid][1][11:15]) if pid in stats else 0

    server = 0
    if server_pid is not None and server_pid in stats:
        children: dict[int, list[int]] = {}
        for pid, (_, stat) in stats.items():
            children.setdefault(int(stat[1]), []).append(pid)
        todo = [server_pid]
        while todo:
            pid = todo.pop()
            server += ticks(pid)
            todo += children.get(pid, [])
    postgres = sum(
        ticks(pid)
        for pid, (name, _) in stats.items()
        if name == "postgres" and _serves(pid, database)
    )
    return CpuSample(
        at=time.perf_counter(),
        busy=(user + nice + system + irq + softirq) / tick,
        server=server / tick,
        client=ticks(os.getpid()) / tick,
        postgres=postgres / tick,
    )


def cpu_use(start: CpuSample | None, end: CpuSample | None) -> CpuUse | None:
    if start is None or end is None or end.at <= start.at:
        return None
    span = end.at - start.at
    server = (end.server - start.server) / span
    client = (end.client - start.client) / span
    postgres = (end.postgres - start.postgres) / span
    busy = (end.busy - start.busy) / span
    return CpuUse(
        server=server,
        client=client,
        postgres=postgres,
        others=max(0.0, busy - server - client - postgres),
    )


# --- Database: create, migrate, seed ---------------------------------------------------------


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"pegasus_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, make_conninfo(admin_url, dbname=name, application_name="pegasus-bench")


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def migrate(url: str, storage: Path) -> None:
    settings = Settings(
        repository="postgres", database_url=url, inline_jobs=True, storage_dir=str(storage)
    )
    async with open_pegasus(settings, sweep=False):
        pass


@dataclass(frozen=True)
class Seeded:
    courses: dict[str, int]  # course id -> lecture count
    lectures: int
    jobs: int
    probe_lecture: str  # a lecture of an ordinary course, for /lectures/{id}/progress
    seconds: float
    analyze_seconds: float


LECTURE_COLUMNS = (
    "id, course_id, preset_id, title, status, duration_sec, source_type, audio_path, "
    "audio_original_filename, audio_content_type, audio_size_bytes, audio_sha256, "
    "transcript_path, transcript_created_at, created_at, updated_at"
)
JOB_COLUMNS = (
    "id, lecture_id, job_type, status, attempts, max_attempts, params, progress, result, error, "
    "request_id, replayed_from_job_id, created_at, updated_at, started_at, finished_at, "
    "heartbeat_at"
)
STAGES = ("transcription", "generation", "export")


def course_plan(lectures: int) -> dict[str, int]:
    rest = lectures - BIG_LECTURES - SMALL_LECTURES
    if rest < 0:
        raise SystemExit(f"--lectures must be at least {BIG_LECTURES + SMALL_LECTURES}")
    plan = {BIG: BIG_LECTURES, SMALL: SMALL_LECTURES}
    count = min(OTHER_COURSES, rest)
    for i in range(count):
        plan[f"course-{i:03d}"] = rest // count + (1 if i < rest % count else 0)
    return plan


@dataclass
class SeedRows:
    lectures: list[tuple[Any, ...]] = field(default_factory=list)
    jobs: list[tuple[Any, ...]] = field(default_factory=list)


def _job_row(
    rng: random.Random,
    lecture_id: str,
    stage: str,
    status: str,
    created: datetime,
    *,
    attempts: int = 1,
    replayed_from: str | None = None,
) -> tuple[tuple[Any, ...], datetime]:
    started = created + timedelta(seconds=rng.uniform(0.05, 3.0))
    finished = started + timedelta(seconds=rng.uniform(5, 600 if stage == "transcription" else 60))
    job_id = uuid.UUID(int=rng.getrandbits(128)).hex
    result = None
    error = None
    if status == "completed":
        segments = rng.randint(50, 900)
        result = (
            f'{{"transcriptPath":"lectures/{lecture_id}/transcript.json",'
            f'"segmentCount":{segments}}}'
            if stage == "transcription"
            else '{"ok":true}'
        )
    elif status == "failed":
        error = "The language model did not answer in time."
    progress = 1.0 if status == "completed" else 0.0
    row = (
        job_id,
        lecture_id,
        stage,
        status,
        attempts,
        4,
        '{"autoProcess":true}' if stage == "transcription" else "{}",
        progress,
        result,
        error,
        uuid.UUID(int=rng.getrandbits(128)).hex,
        replayed_from,
        created,
        finished,
        started,
        finished if status in ("completed", "failed", "cancelled") else None,
        finished,
    )
    return row, finished


def seed_rows(plan: Mapping[str, int], jobs: int, now: datetime) -> tuple[SeedRows, str]:
    """Build every lecture and job row: 3 stages per lecture when jobs = 3 x lectures.

    Per lecture, 95% have all stages completed, 3% a failed export, 2% a failed generation and
    a cancelled export. More jobs than 3 per lecture become earlier failed transcriptions that
    were replayed; fewer leave the last lectures' later stages not started.
    """
    rng = random.Random(SEED)
    rows = SeedRows()
    total = sum(plan.values())
    base, extra = divmod(jobs, total)
    index = 0
    probe = ""
    for course_id, count in plan.items():
        for _ in range(count):
            lecture_id = uuid.UUID(int=rng.getrandbits(128)).hex
            if course_id.startswith("course-") and not probe and index >= total // 2:
                probe = lecture_id
            created = now - timedelta(days=rng.uniform(1, 365), seconds=rng.uniform(0, 86400))
            n_jobs = base + (1 if index < extra else 0)
            index += 1
            r = rng.random()
            statuses = ["completed"] * 3
            if r < 0.03:
                statuses[2] = "failed"
            elif r < 0.05:
                statuses[1:] = ["failed", "cancelled"]
            at = created + timedelta(seconds=rng.uniform(0.5, 5))
            previous: str | None = None
            for _ in range(max(0, n_jobs - 3)):  # replayed failures before the real run
                row, at = _job_row(
                    rng,
                    lecture_id,
                    "transcription",
                    "failed",
                    at,
                    attempts=4,
                    replayed_from=previous,
                )
                rows.jobs.append(row)
                previous = row[0]
            for position, stage in enumerate(STAGES[: min(3, n_jobs)]):
                row, at = _job_row(
                    rng,
                    lecture_id,
                    stage,
                    statuses[position],
                    at,
                    replayed_from=previous if position == 0 else None,
                )
                rows.jobs.append(row)
            done = min(3, n_jobs)
            if "failed" in statuses[:done]:
                status = "failed"
            elif done == 3:
                status = "completed"
            else:
                status = ("uploaded", "transcribed", "generated")[done]
            duration = rng.uniform(600, 5400)
            rows.lectures.append(
                (
                    lecture_id,
                    course_id,
                    rng.choice(PRESETS),
                    f"Lecture {index}: {course_id}",
                    status,
                    round(duration, 3),
                    "upload",
                    f"lectures/{lecture_id}/audio.opus",
                    f"lecture-{index}.opus",
                    "audio/ogg",
                    int(duration * 4000),
                    hashlib.sha256(lecture_id.encode()).hexdigest(),
                    f"lectures/{lecture_id}/transcript.json" if done else None,
                    created + timedelta(minutes=5) if done else None,
                    created,
                    at if n_jobs else created,
                )
            )
    return rows, probe


def seed(url: str, lectures: int, jobs: int) -> Seeded:
    started = time.perf_counter()
    now = datetime.now(UTC)
    plan = course_plan(lectures)
    rows, probe = seed_rows(plan, jobs, now)
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY courses (id, title, created_at, updated_at) FROM STDIN") as copy:
                for i, course_id in enumerate(plan):
                    at = now - timedelta(days=400) + timedelta(minutes=i)
                    copy.write_row((course_id, f"Course {course_id}", at, at))
            # The counter triggers would upsert lecture_counts once per row: rebuilt once
            # below instead, as migration 0003 does.
            cur.execute("ALTER TABLE lectures DISABLE TRIGGER lecture_counts_insert_delete")
            with cur.copy(f"COPY lectures ({LECTURE_COLUMNS}) FROM STDIN") as copy:
                for row in rows.lectures:
                    copy.write_row(row)
            cur.execute("ALTER TABLE lectures ENABLE TRIGGER lecture_counts_insert_delete")
            cur.execute("DELETE FROM lecture_counts")
            cur.execute(
                "INSERT INTO lecture_counts (course_id, preset_id, status, n) "
                "SELECT course_id, preset_id, status, COUNT(*) FROM lectures "
                "GROUP BY course_id, preset_id, status"
            )
            with cur.copy(f"COPY jobs ({JOB_COLUMNS}) FROM STDIN") as copy:
                for row in rows.jobs:
                    copy.write_row(row)
        conn.commit()
    seeded = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        # VACUUM also sets hint bits and the visibility map, as on a database in service.
        conn.execute("VACUUM (ANALYZE)")
    return Seeded(
        courses=plan,
        lectures=len(rows.lectures),
        jobs=len(rows.jobs),
        probe_lecture=probe,
        seconds=seeded - started,
        analyze_seconds=time.perf_counter() - seeded,
    )


# --- The server ------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    database: str  # the name of the database it serves

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_server(
    url: str,
    storage: Path,
    workdir: Path,
    workers: int = 1,
    *,
    python_path: str | None = None,
    name: str = "server",
) -> Server:
    """Start `pegasus serve --workers workers` on a free port and wait until it answers.

    python_path, when given, is put first on the server's PYTHONPATH (another checkout's
    `src`, say); its log goes to workdir/<name>.log.
    """
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PLC_READ_API_TOKEN", "PLC_WRITE_API_TOKEN", "REDIS_URL")
    }
    env |= {
        "DATABASE_URL": url,
        "PLC_INLINE_JOBS": "true",
        "PLC_STORAGE_DIR": str(storage),
        "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS": "1000000",
        "PLC_MAX_AUDIO_UPLOAD_MB": str(UPLOAD_LIMIT_MB),
    }
    if python_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [python_path, env.get("PYTHONPATH")]))
    log_path = workdir / f"{name}.log"
    pegasus = Path(sys.executable).parent / "pegasus"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(str(pegasus), "serve", "--host", "127.0.0.1", "--port", str(port)),
                *("--workers", str(workers)),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    database = str(conninfo_to_dict(url).get("dbname", ""))
    server = Server(process, f"http://127.0.0.1:{port}", log_path, database)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return server
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not answer /health in 60 s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # wrk: non-2xx/3xx answers and socket errors
    cpu: CpuUse | None

    def cpu_ms(self, part: str) -> float:
        """CPU milliseconds per request spent by part (server, client or postgres)."""
        if self.cpu is None or self.rps <= 0:
            return math.nan
        return 1000 * float(getattr(self.cpu, part)) / self.rps


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else math.nan


def run_wrk(url: str, duration: float, server: Server) -> Throughput:
    seconds = max(1, round(duration))
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "60s", "--latency"]
    before = cpu_sample(server.pid, server.database)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    after = cpu_sample(server.pid, server.database)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    if rps is None or requests is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return Throughput(
        rps=float(rps.group(1)),
        p50_ms=_latency_ms(output, "50"),
        p99_ms=_latency_ms(output, "99"),
        requests=int(requests.group(1)),
        errors=errors,
        cpu=cpu_use(before, after),
    )


def wrk_version() -> str:
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else "wrk ?"


# --- The SQL each endpoint runs --------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    query: str  # as psycopg receives it (`%(name)s` parameters)
    params: dict[str, Any]
    values: bool = False  # issued with fetch_values(): binary tuple rows, not dict rows

    def describe(self, width: int = 160) -> str:
        shown = dict(list(self.params.items())[:3])
        more = len(self.params) - len(shown)
        params = f"{shown}" + (f" + {more} more" if more else "")
        query = self.query if len(self.query) <= width else self.query[: width - 3] + "..."
        return f"{query}\n        params {params}"


class RecordingSession:
    """A SqlSession on one connection (as the Postgres adapter's) that records each statement."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self.statements: list[Statement] = []

    def _record(
        self, text: str, params: Mapping[str, Any] | None, *, values: bool = False
    ) -> Statement:
        statement = Statement(to_pyformat(text), dict(params or {}), values)
        self.statements.append(statement)
        return statement

    async def execute(self, text: str, params: Mapping[str, Any] | None = None) -> int:
        statement = self._record(text, params)
        async with self._conn.cursor() as cursor:
            await cursor.execute(statement.query, statement.params)
            return cursor.rowcount

    async def fetch(self, text: str, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        statement = self._record(text, params)
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(statement.query, statement.params)
            return await cursor.fetchall()

    async def fetch_values(
        self, text: str, params: Mapping[str, Any] | None = None
    ) -> Sequence[tuple[Any, ...]]:
        statement = self._record(text, params, values=True)
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cursor:
            await cursor.execute(statement.query, statement.params)
            return await cursor.fetchall()


class RecordingUnitOfWork(SqlRepositories):
    """The shared SQL repositories on a recording session, with no transaction of their own."""

    async def __aenter__(self) -> RecordingUnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def commit(self) -> None:
        return None


async def capture(url: str, call: Callable[[Any], Awaitable[object]]) -> list[Statement]:
    """Run a use case with a unit of work whose session records the SQL it issues."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        session = RecordingSession(conn)
        ports = SimpleNamespace(uow=lambda read_only=False: RecordingUnitOfWork(session))
        await call(ports)
        return session.statements


def _percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


async def _run_statements(conn: psycopg.AsyncConnection[Any], statements: list[Statement]) -> None:
    # What the adapter's session does per statement: a cursor, dict rows (fetch) or binary
    # tuple rows (fetch_values), fetchall.
    for statement in statements:
        if statement.values:
            async with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
                await cursor.execute(statement.query, statement.params)
                await cursor.fetchall()
        else:
            async with conn.cursor(row_factory=dict_row) as cursor:
                await cursor.execute(statement.query, statement.params)
                await cursor.fetchall()


Request = Callable[[list[Statement]], Awaitable[None]]


def bare_request(pool: AsyncConnectionPool[Any]) -> Request:
    """One request's worth of SQL: the statements alone, on a pooled autocommit connection."""

    async def request(statements: list[Statement]) -> None:
        async with pool.connection() as conn:
            await _run_statements(conn, statements)

    return request


def framed_request(database: PostgresDatabase) -> Request:
    """The statements the way a read-only unit of work runs them, on the adapter's pool.

    PostgresDatabase.first() takes a pooled connection and runs the first statement as its
    connection check; the rest follow in autocommit (no BEGIN, no ROLLBACK).
    """

    async def request(statements: list[Statement]) -> None:
        conn, _ = await database.first(lambda conn: _run_statements(conn, statements[:1]))
        try:
            await _run_statements(conn, statements[1:])
        finally:
            await database.release(conn)

    return request


async def hammer(
    request: Request, statements: list[Statement], duration: float, server: Server
) -> Throughput:
    """Run request(statements) from CONCURRENCY tasks for duration seconds."""

    async def loop(until: float, latencies: list[float] | None) -> int:
        done = 0
        while (now := time.perf_counter()) < until:
            await request(statements)
            if latencies is not None:
                latencies.append(time.perf_counter() - now)
            done += 1
        return done

    warm_until = time.perf_counter() + WARMUP_SEC
    await asyncio.gather(*(loop(warm_until, None) for _ in range(CONCURRENCY)))
    latencies: list[float] = []
    before = cpu_sample(server.pid, server.database)
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(loop(started + duration, latencies) for _ in range(CONCURRENCY))
    )
    elapsed = time.perf_counter() - started
    after = cpu_sample(server.pid, server.database)
    return Throughput(
        rps=sum(counts) / elapsed,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        requests=sum(counts),
        errors=0,
        cpu=cpu_use(before, after),
    )


async def sequential_ms(request: Request, statements: list[Statement], n: int) -> list[float]:
    for _ in range(5):
        await request(statements)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await request(statements)
        times.append((time.perf_counter() - started) * 1000)
    return times


@dataclass(frozen=True)
class Measurements:
    api: dict[str, Throughput]  # wrk against the server (the median round's)
    bare: dict[str, Throughput]  # the endpoint's statements alone
    framed: dict[str, Throughput]  # the statements in the unit of work's round trips
    ratios: dict[str, list[float]]  # API/SQL req/s of every round, in order
    big_api_ms: list[float]  # course progress, one request at a time
    small_api_ms: list[float]
    big_sql_ms: list[float]  # its statements alone, one at a time


class Round(NamedTuple):
    api: Throughput
    bare: Throughput | None
    framed: Throughput | None

    @property
    def ratio(self) -> float:
        return self.api.rps / self.bare.rps if self.bare else self.api.rps


def median_round(rounds: Sequence[Round]) -> Round:
    """The round whose API/SQL ratio is the median (the lower middle one for an even count)."""
    return sorted(rounds, key=lambda one: one.ratio)[(len(rounds) - 1) // 2]


async def measure(
    url: str, server: Server, endpoints: Sequence[Endpoint], duration: float, rounds: int
) -> Measurements:
    """Measure each endpoint with wrk, then its SQL alone, then in the unit of work's framing.

    Back to back per endpoint, so that the three share the machine's conditions, in rounds:
    the round with the median API/SQL ratio is reported, since this machine's speed drifts
    by more within a minute than the differences measured.
    """
    api: dict[str, Throughput] = {}
    bare: dict[str, Throughput] = {}
    framed: dict[str, Throughput] = {}
    ratios: dict[str, list[float]] = {}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        open=False,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": DEFAULT_PREPARE_THRESHOLD},
        name="bench-bare",
    )
    database = PostgresDatabase(url, max_size=POOL_MAX_SIZE)
    await pool.open(wait=True)
    await database.open()
    try:
        plain, in_uow = bare_request(pool), framed_request(database)
        for endpoint in endpoints:
            target = server.base_url + endpoint.path
            await asyncio.to_thread(run_wrk, target, WARMUP_SEC, server)
            measured: list[Round] = []
            for index in range(1, rounds + 1):
                step(f"{endpoint.label}: round {index}: API (wrk), its SQL, in a unit of work")
                measured.append(
                    Round(
                        await asyncio.to_thread(run_wrk, target, duration, server),
                        *(
                            (
                                await hammer(plain, endpoint.statements, duration, server),
                                await hammer(in_uow, endpoint.statements, duration, server),
                            )
                            if endpoint.statements
                            else (None, None)
                        ),
                    )
                )
            chosen = median_round(measured)
            api[endpoint.key] = chosen.api
            if chosen.bare is not None and chosen.framed is not None:
                bare[endpoint.key], framed[endpoint.key] = chosen.bare, chosen.framed
                ratios[endpoint.key] = [one.ratio for one in measured]
        step("course progress, one request at a time")
        by_key = {endpoint.key: endpoint for endpoint in endpoints}
        big, small = by_key["course_big"], by_key["course_small"]
        big_api = await asyncio.to_thread(sequential_api_ms, server, big.path, LATENCY_SAMPLES)
        small_api = await asyncio.to_thread(sequential_api_ms, server, small.path, LATENCY_SAMPLES)
        big_sql = await sequential_ms(plain, big.statements, LATENCY_SAMPLES)
    finally:
        await database.close()
        await pool.close()
    return Measurements(api, bare, framed, ratios, big_api, small_api, big_sql)


# --- Endpoints -------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    path: str
    use_case: Callable[[Any], Awaitable[object]] | None
    statements: list[Statement] = field(default_factory=list)


def endpoints_for(seeded: Seeded) -> list[Endpoint]:
    lecture = seeded.probe_lecture
    return [
        Endpoint("health", "GET /health", "/health", None),
        Endpoint(
            "list",
            "GET /lectures?limit=50",
            "/lectures?limit=50",
            lambda ports: queries.list_lectures(ports, PageRequest(limit=50)),
        ),
        Endpoint(
            "list_course",
            f"GET /lectures?course_id={BIG}&offset=500",
            f"/lectures?course_id={BIG}&offset=500",
            lambda ports: queries.list_lectures(
                ports, PageRequest(limit=50, offset=500), course_id=BIG
            ),
        ),
        Endpoint(
            "lecture_progress",
            "GET /lectures/{id}/progress",
            f"/lectures/{lecture}/progress",
            lambda ports: reports.lecture_progress(ports, lecture),
        ),
        Endpoint(
            "course_big",
            f"GET /courses/{BIG}/progress (1,000)",
            f"/courses/{BIG}/progress?include_lectures=false",
            lambda ports: reports.course_progress(ports, BIG, include_lectures=False),
        ),
        Endpoint(
            "course_small",
            f"GET /courses/{SMALL}/progress (10)",
            f"/courses/{SMALL}/progress?include_lectures=false",
            lambda ports: reports.course_progress(ports, SMALL, include_lectures=False),
        ),
    ]


def check_answers(server: Server, endpoints: Sequence[Endpoint]) -> list[str]:
    """GET each endpoint once: it must answer 200; lists must report the seeded totals."""
    notes = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for endpoint in endpoints:
            answer = client.get(endpoint.path)
            if answer.status_code != 200:
                raise RuntimeError(f"{endpoint.path}: {answer.status_code} {answer.text[:300]}")
            body = answer.json()
            detail = f"{len(answer.content):,} bytes"
            if "pagination" in body:
                detail += f", total {body['pagination']['total']:,}"
            if "lectureCount" in body:
                detail += f", lectureCount {body['lectureCount']:,}"
            notes.append(f"  {endpoint.label:<44} 200, {detail}")
    return notes


def sequential_api_ms(server: Server, path: str, n: int) -> list[float]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(5):
            client.get(path).raise_for_status()
        times = []
        for _ in range(n):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


# --- Upload ----------------------------------------------------------------------------------


RATE = 16_000


def build_wav(path: Path, size_bytes: int) -> float:
    """Write a 16 kHz mono 16-bit WAV of about size_bytes: 1 s of tone, 1 s of silence, ..."""
    tone = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE))
    ).tobytes()
    silence = bytes(len(tone))
    seconds = max(2, size_bytes // len(tone))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for second in range(seconds):
            out.writeframesraw(tone if second % 2 == 0 else silence)
    return float(seconds)


@dataclass(frozen=True)
class UploadResult:
    status: int
    size_bytes: int
    seconds: float
    sha256_ok: bool
    rss: RssPeak
    duration_sec: float | None


def measure_upload(server: Server, wav: Path) -> UploadResult:
    pid = server.pid
    body = Multipart(
        {
            "course_id": "upload-bench",
            "preset_id": PRESETS[0],
            "title": "A 300 MiB upload",
            "lecture_id": f"upload-{uuid.uuid4().hex[:12]}",
        },
        wav,
    )
    started = time.perf_counter()
    with watch_rss(pid, RSS_SAMPLE_SEC) as rss, httpx.Client(timeout=600) as client:
        answer = client.post(
            f"{server.base_url}/lectures/ingest", content=iter(body), headers=body.headers
        )
    elapsed = time.perf_counter() - started
    payload = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    if answer.status_code != 201:
        print(f"upload answered {answer.status_code}: {answer.text[:500]}", file=sys.stderr)
    return UploadResult(
        status=answer.status_code,
        size_bytes=wav.stat().st_size,
        seconds=elapsed,
        sha256_ok=payload.get("sha256") == body.sha256.hexdigest(),
        rss=rss,
        duration_sec=payload.get("durationSec"),
    )


# --- Report ----------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def postgres_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version()").fetchone()
        settings = conn.execute(
            "SELECT string_agg(name || '=' || setting || COALESCE(unit, ''), ', ' ORDER BY name) "
            "FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'max_connections', "
            "'synchronous_commit', 'jit')"
        ).fetchone()
    return f"{row[0] if row else '?'}\n{'':<28} {settings[0] if settings else ''}"


def info(label: str, text: str) -> str:
    return f"  {label:<26} {text}"


@dataclass(frozen=True)
class Results:
    seeded: Seeded
    endpoints: list[Endpoint]
    m: Measurements
    upload: UploadResult | None
    answers: list[str]
    duration: float
    rounds: int
    db_name: str
    server_workers: int


def machine_lines(url: str) -> list[str]:
    cpus = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        "Machine",
        info("platform", platform.platform()),
        info("cpu", f"{cpu_model()}, {cpus} cores (usable here: {usable}), load {load}"),
        info("python", f"{platform.python_version()} ({sys.executable})"),
        info("postgres", postgres_version(url)),
        info(
            "client / server",
            f"{wrk_version()}; uvicorn {version('uvicorn')}, litestar {version('litestar')}, "
            f"psycopg {version('psycopg')}, psycopg-pool {version('psycopg-pool')}",
        ),
    ]


def report(r: Results, url: str) -> list[str]:
    s = r.seeded
    lines = [
        "=" * WIDTH,
        "Pegasus HTTP API benchmark (Postgres)",
        "=" * WIDTH,
        *machine_lines(url),
        "Data",
        info(
            "database",
            f"{r.db_name}: {s.lectures:,} lectures in {len(s.courses)} courses ({BIG} "
            f"{s.courses[BIG]:,}, {SMALL} {s.courses[SMALL]:,}, others ~"
            f"{(s.lectures - BIG_LECTURES - SMALL_LECTURES) // max(1, len(s.courses) - 2):,}), "
            f"{s.jobs:,} jobs",
        ),
        info("seed (COPY) / VACUUM ANALYZE", f"{s.seconds:.1f} s / {s.analyze_seconds:.1f} s"),
        "Answers (one GET each before measuring)",
        *r.answers,
        "SQL per request (captured by running each use case on a recording session)",
    ]
    for endpoint in r.endpoints:
        if endpoint.statements:
            lines.append(f"  {endpoint.label}: {len(endpoint.statements)} statements")
            lines += [f"    {st.describe()}" for st in endpoint.statements]
    lines += [
        "  A read-only unit of work adds no round trip: no BEGIN or ROLLBACK (autocommit), and",
        "  its first statement doubles as the connection check.",
        "",
        f"Throughput: wrk -t1 -c{CONCURRENCY} -d{r.duration:g}s against pegasus serve --workers "
        f"{r.server_workers} (one per core, as deployed),",
        f"then the same SQL from {CONCURRENCY} tasks on a pool of {POOL_MAX_SIZE} in this process, "
        f"back to back per endpoint, in {r.rounds} rounds (the median API/SQL round is shown)",
        f"  {'endpoint':<40} {'API req/s':>10} {'API p99':>9} {'SQL req/s':>10} {'SQL p99':>9}"
        f" {'API/SQL':>8} {'UoW req/s':>10} {'API/UoW':>8}  target",
    ]
    m = r.m
    for endpoint in r.endpoints:
        api = m.api[endpoint.key]
        bare = m.bare.get(endpoint.key)
        framed = m.framed.get(endpoint.key)
        errors = f"  ({api.errors} errors!)" if api.errors else ""
        if bare is None or framed is None:
            lines.append(
                f"  {endpoint.label:<40} {api.rps:>10,.0f} {api.p99_ms:>7.1f}ms"
                f" {'-':>10} {'-':>9} {'-':>8} {'-':>10} {'-':>8}  no SQL{errors}"
            )
            continue
        ratio = api.rps / bare.rps
        lines.append(
            f"  {endpoint.label:<40} {api.rps:>10,.0f} {api.p99_ms:>7.1f}ms"
            f" {bare.rps:>10,.0f} {bare.p99_ms:>7.1f}ms {ratio:>8.2f}"
            f" {framed.rps:>10,.0f} {api.rps / framed.rps:>8.2f}"
            f"  >= {RATIO_TARGET:.2f}: {verdict(ratio >= RATIO_TARGET)}{errors}"
        )
    lines += [
        "  SQL: the statements alone on an autocommit pooled connection. UoW: as a read-only unit",
        "  of work runs them (PostgresDatabase.first, then autocommit). API/SQL of each round:",
        *(
            f"    {endpoint.label:<38} {'  '.join(f'{x:.2f}' for x in m.ratios[endpoint.key])}"
            for endpoint in r.endpoints
            if endpoint.key in m.ratios
        ),
        "",
        "CPU per request in ms (cores busy / req/s: less sensitive to other load than req/s);",
        "SQL/API: the client's CPU for the bare SQL over the server's CPU for the request;",
        "other load: cores busy with other processes during the API / SQL / UoW runs",
        f"  {'endpoint':<40} {'API: server':>12} {'postgres':>9} {'SQL: client':>12}"
        f" {'postgres':>9} {'UoW: client':>12} {'postgres':>9} {'SQL/API':>8}  other load",
    ]

    def ms(result: Throughput | None, part: str) -> str:
        return "-" if result is None else f"{result.cpu_ms(part):.3f}"

    for endpoint in r.endpoints:
        api, bare, framed = (
            m.api[endpoint.key],
            m.bare.get(endpoint.key),
            m.framed.get(endpoint.key),
        )
        others = "/".join(
            f"{result.cpu.others:.2f}"
            for result in (api, bare, framed)
            if result is not None and result.cpu is not None
        )
        share = "-" if bare is None else f"{bare.cpu_ms('client') / api.cpu_ms('server'):.2f}"
        lines.append(
            f"  {endpoint.label:<40} {ms(api, 'server'):>12} {ms(api, 'postgres'):>9}"
            f" {ms(bare, 'client'):>12} {ms(bare, 'postgres'):>9}"
            f" {ms(framed, 'client'):>12} {ms(framed, 'postgres'):>9} {share:>8}  {others}"
        )
    busiest = max(
        (result.cpu.others for result in m.api.values() if result.cpu is not None), default=0.0
    )
    if busiest > 0.25:
        lines.append(
            f"  NOTE: other processes kept up to {busiest:.2f} of the cores busy during the API "
            "runs: req/s figures are noisy."
        )
    list_rps = m.api["list"].rps
    speedup = list_rps / OLD_LIST_RPS
    big_rps, small_rps = m.api["course_big"].rps, m.api["course_small"].rps
    cost = small_rps / big_rps
    cpu_cost = m.api["course_big"].cpu_ms("server") / m.api["course_small"].cpu_ms("server")
    big_med = statistics.median(m.big_api_ms)
    small_med = statistics.median(m.small_api_ms)
    sql_big_med = statistics.median(m.big_sql_ms)
    lines += [
        "",
        "Targets",
        info(
            "list vs old backend",
            f"{list_rps:,.0f} req/s = {speedup:.0f}x the old {OLD_LIST_RPS:g} req/s; "
            f"target >= {LIST_SPEEDUP_TARGET:g}x ({LIST_SPEEDUP_TARGET * OLD_LIST_RPS:,.0f} "
            f"req/s): {verdict(speedup >= LIST_SPEEDUP_TARGET)}",
        ),
        info(
            "course progress big/small",
            f"cost {cost:.2f}x (req/s {small_rps:,.0f} small / {big_rps:,.0f} big); "
            f"target <= {COURSE_COST_TARGET:g}x: {verdict(cost <= COURSE_COST_TARGET)}",
        ),
        info(
            "",
            f"server CPU per request {cpu_cost:.1f}x; one at a time: median {big_med:.1f} ms "
            f"big / {small_med:.1f} ms small = {big_med / small_med:.1f}x",
        ),
        info(
            "course progress, 1,000",
            f"one request at a time, median of {len(m.big_api_ms)}: {big_med:.1f} ms "
            f"(p90 {_percentile(m.big_api_ms, 0.9):.1f} ms; its SQL alone {sql_big_med:.1f} "
            f"ms); target < {COURSE_LATENCY_TARGET_MS:g} ms: "
            f"{verdict(big_med < COURSE_LATENCY_TARGET_MS)}",
        ),
    ]
    up = r.upload
    if up is None:
        lines.append(info("upload", "not run"))
    else:
        hwm = (
            "n/a (not reset)" if up.rss.hwm_mib is None else f"{up.rss.hwm_mib:.1f} (reset before)"
        )
        lines += [
            info(
                "upload",
                f"{up.size_bytes / 2**20:,.0f} MiB WAV ({(up.duration_sec or 0) / 60:.0f} min) "
                f"-> {up.status} in {up.seconds:.1f} s ({up.size_bytes / 2**20 / up.seconds:.0f}"
                f" MiB/s), sha256 {'matches' if up.sha256_ok else 'DIFFERS'}",
            ),
            info(
                "",
                f"server RSS {up.rss.before_mib:.1f} MiB before, peak "
                f"{up.rss.sampled_peak_mib:.1f} (sampled every {RSS_SAMPLE_SEC * 1000:g} ms), "
                f"VmHWM {hwm}, {up.rss.after_mib:.1f} after",
            ),
            info(
                "upload peak RSS growth",
                f"{up.rss.growth_mib:.1f} MiB; target < {UPLOAD_RSS_TARGET_MIB:g} MiB: "
                f"{verdict(up.status == 201 and up.rss.growth_mib < UPLOAD_RSS_TARGET_MIB)}",
            ),
        ]
    lines.append("=" * WIDTH)
    return lines


# --- Main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path, db_name: str, url: str) -> list[str]:
    storage = workdir / "storage"
    step(f"migrating {db_name} (open_pegasus)")
    run_async(migrate(url, storage))
    step(f"seeding {args.lectures:,} lectures and {args.jobs:,} jobs with COPY")
    seeded = seed(url, args.lectures, args.jobs)
    step(f"seeded in {seeded.seconds:.1f} s, VACUUM ANALYZE {seeded.analyze_seconds:.1f} s")
    endpoints = endpoints_for(seeded)
    for endpoint in endpoints:
        if endpoint.use_case is not None:
            endpoint.statements = run_async(capture(url, endpoint.use_case))
    step(f"starting pegasus serve --workers {args.server_workers}")
    server = start_server(url, storage, workdir, args.server_workers)
    try:
        answers = check_answers(server, endpoints)
        measured = run_async(measure(url, server, endpoints, args.duration, args.rounds))
    finally:
        stop_server(server)
    upload = None
    if args.upload_mib > 0:
        # One process serves an upload: its own RSS is the figure, so it runs alone.
        step("starting pegasus serve --workers 1 for the upload")
        server = start_server(url, storage, workdir)
        try:
            wav = workdir / "upload.wav"
            step(f"building a {args.upload_mib} MiB WAV")
            build_wav(wav, args.upload_mib * 2**20)
            step("uploading it through POST /lectures/ingest")
            upload = measure_upload(server, wav)
            wav.unlink()
        finally:
            stop_server(server)
    return report(
        Results(
            seeded=seeded,
            endpoints=endpoints,
            m=measured,
            upload=upload,
            answers=answers,
            duration=args.duration,
            rounds=args.rounds,
            db_name=db_name,
            server_workers=args.server_workers,
        ),
        url,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lectures", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=300_000)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per endpoint; the median one is reported"
    )
    parser.add_argument(
        "--upload-mib", type=int, default=UPLOAD_MIB, help="size of the upload (0 skips it)"
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="pegasus serve --workers for the throughput runs (default: the machine's cores)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a database to CREATE DATABASE from")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, the storage and the server log"
    )
    args = parser.parse_args(argv)
    if args.upload_mib > UPLOAD_LIMIT_MB - 1:
        parser.error(f"--upload-mib must be below {UPLOAD_LIMIT_MB}")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="pegasus-api-bench-"))
    step(f"creating a database from {conninfo_to_dict(args.admin_url).get('host', '?')}")
    db_name, url = create_database(args.admin_url)
    try:
        lines = run(args, workdir, db_name, url)
        print("\n".join(lines), flush=True)
    finally:
        if args.keep:
            step(f"kept database {db_name} ({url}) and {workdir}")
        else:
            drop_database(args.admin_url, db_name)
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
