"""Job throughput on Postgres and Redis, next to a bare Dramatiq no-op actor in the same run.

Baseline: N messages to a no-op actor on a Redis broker, consumed by an in-process Dramatiq
worker with T threads: messages per second from the first send to the last message handled.

Pegasus: N trivial jobs pushed through the whole path: dispatch to Redis, conditional claim
in Postgres (with its attempt record), the heartbeat task, the stage, and the fenced
completing transaction (job, attempt, lecture status), by an in-process Dramatiq worker with
the same T threads and the PegasusLifecycle middleware that `pegasus worker` children use.
`--stage no-op` (default) replaces the transcription stage with one that does nothing, so
the job machinery alone is measured; `--stage scripted` runs a real transcription of a
0.5 s clip with the scripted engine (decode, chunk and transcript writes).
Target: jobs/s at least 50% of the baseline's messages/s. Both also report this process's
CPU milliseconds per item, which a busy machine disturbs less than the rates.

T defaults to `pegasus worker`'s own default for engines that wait on I/O (32; the no-op
stage stands for such work); the bare actor's rate hardly changes with T.

Rounds (default 3) each measure the three back to back on fresh messages and jobs; the
median round's ratio is judged, since this machine's speed drifts by more within a minute.

Run: .venv/bin/python bench/jobs_bench.py [--jobs 2000] [--rounds 3] [--threads 32]
                                          [--stage no-op|scripted]
Needs the machine's Postgres (PEGASUS_TEST_POSTGRES_URL) and Redis (PEGASUS_TEST_REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple

import dramatiq
import msgspec
import psycopg
from dramatiq.brokers.redis import RedisBroker
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import make_speech_clip  # noqa: E402
from tests.helpers import ingest  # noqa: E402

from benchkit import cpu_ms_per_item, cpu_ticks, verdict  # noqa: E402
from pegasus_adapters.bootstrap import IO_BOUND_WORKER_THREADS, open_pegasus  # noqa: E402
from pegasus_adapters.dramatiq_queue import QUEUES, UvloopAsyncIO, setup_broker  # noqa: E402
from pegasus_adapters.dramatiq_worker import PegasusLifecycle  # noqa: E402
from pegasus_adapters.settings import Settings  # noqa: E402
from pegasus_core.jobs import JobType  # noqa: E402
from pegasus_core.ports.repository import UnitOfWork  # noqa: E402
from pegasus_core.use_cases import runner  # noqa: E402
from pegasus_core.use_cases.job_context import Completion, JobContext  # noqa: E402

POSTGRES = os.environ.get("PEGASUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("PEGASUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DISPATCHERS = 16  # concurrent dispatching clients, as API requests would be


class Rate(NamedTuple):
    """Items per second, this process's CPU milliseconds per item (steadier when shared),
    and CPU milliseconds per item of the whole machine, Postgres and Redis."""

    per_sec: float
    cpu_ms: float
    servers_ms: dict[str, float]


class Clock(NamedTuple):
    """When a measurement started: wall clock, this process's CPU, the machine's CPU."""

    wall: float
    cpu: float
    ticks: dict[str, int]


def _start() -> Clock:
    return Clock(time.perf_counter(), time.process_time(), cpu_ticks())


def _rate(items: int, started: Clock) -> Rate:
    return Rate(
        items / (time.perf_counter() - started.wall),
        (time.process_time() - started.cpu) * 1000 / items,
        cpu_ms_per_item(started.ticks, cpu_ticks(), items),
    )


def _servers(rate: Rate) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in rate.servers_ms.items())


def bare_dramatiq(messages: int, threads: int, *, asynchronous: bool = False) -> Rate:
    """Return messages/s of a no-op actor through Redis with an in-process worker.

    asynchronous: an async actor on the AsyncIO middleware Pegasus uses (uvloop), instead of
    a plain function: what Dramatiq's async actors cost before any work of ours.
    """
    broker = RedisBroker(url=REDIS, namespace=f"bench-bare-{uuid.uuid4().hex}")  # type: ignore[no-untyped-call]
    done = threading.Semaphore(0)

    def noop(index: int) -> None:
        done.release()

    async def async_noop(index: int) -> None:
        done.release()

    if asynchronous:
        broker.add_middleware(UvloopAsyncIO())
    actor = dramatiq.actor(broker=broker, actor_name="noop", queue_name="bench", max_retries=0)(
        async_noop if asynchronous else noop
    )
    worker = dramatiq.Worker(broker, queues={"bench"}, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        started = _start()
        for index in range(messages):
            actor.send(index)
        for _ in range(messages):
            done.acquire()
        return _rate(messages, started)
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()


async def no_op_stage(ctx: JobContext) -> Completion:
    """A stage that does nothing: what remains is the job machinery itself."""

    async def apply(uow: UnitOfWork) -> None:
        return None

    return Completion(result={}, apply=apply)


class PegasusRun:
    """Trivial jobs in a schema of their own, seeded once and then run in rounds."""

    def __init__(self, schema: str, storage: Path, *, stage: str) -> None:
        if stage == "no-op":
            runner.STAGE_WORK[JobType.TRANSCRIPTION] = no_op_stage
        self.conninfo = psycopg.conninfo.make_conninfo(POSTGRES, options=f"-c search_path={schema}")
        self.settings = Settings(
            database_url=self.conninfo,
            redis_url=REDIS,
            queue_namespace=f"bench-jobs-{uuid.uuid4().hex}",
            storage_dir=str(storage),
            transcriber="scripted",
            generator="scripted",
            job_heartbeat_sec=5,
            job_sweep_sec=5,
        )
        self._clip = make_speech_clip(storage.parent / "clip.wav", 0.5, "wav")
        self._completed = 0

    def seed(self, jobs: int) -> list[str]:
        """Create jobs lectures and their queued transcription jobs; return the job ids."""

        async def seed() -> list[str]:
            deferred = msgspec.structs.replace(self.settings, job_queue="deferred")
            async with open_pegasus(deferred, sweep=False) as pegasus:
                for index in range(jobs):
                    await ingest(pegasus, self._clip, lecture_id=f"lec-{index:05d}")
                return [
                    (await pegasus.submit_transcription(f"lec-{index:05d}")).job.id
                    for index in range(jobs)
                ]

        job_ids = asyncio.run(seed())
        # The rounds' dispatches stand for the submitting requests', which record
        # dispatchedAt with their send. Unrecorded, the worker's own sweep would find the
        # never-dispatched jobs and dispatch them a second time (duplicates bare Dramatiq
        # never sends: about 16% extra claims).
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("UPDATE jobs SET dispatched_at = now()")
            conn.execute("VACUUM ANALYZE")  # as autovacuum would have by then: real plans
        return job_ids

    def run(self, job_ids: list[str], threads: int) -> Rate:
        """Return jobs/s of job_ids through dispatch, claim, run, completion."""
        broker, *_ = setup_broker(self.settings, PegasusLifecycle(self.settings))
        worker = dramatiq.Worker(broker, queues=QUEUES, worker_threads=threads, worker_timeout=100)
        worker.start()
        goal = self._completed + len(job_ids)

        async def dispatch_and_wait() -> Rate:
            async with open_pegasus(self.settings, sweep=False) as pegasus:
                started = _start()
                queue = pegasus.ports.queue

                async def client(ids: list[str]) -> None:
                    for job_id in ids:
                        await queue.dispatch(job_id)

                # Submissions come from concurrent requests, not one loop.
                await asyncio.gather(*(client(job_ids[i::DISPATCHERS]) for i in range(DISPATCHERS)))
                # Completion is polled on a side connection, rarely, so the poller takes
                # almost no CPU from the worker threads it measures.
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    while True:
                        # The schema holds this bench's jobs only.
                        cursor = await conn.execute(
                            "SELECT count(*) FROM jobs WHERE status = 'completed'"
                        )
                        row = await cursor.fetchone()
                        if row is not None and row[0] >= goal:
                            return _rate(len(job_ids), started)
                        await asyncio.sleep(0.1)

        try:
            return asyncio.run(dispatch_and_wait())
        finally:
            self._completed = goal
            worker.stop()
            broker.flush_all()
            broker.close()


class Round(NamedTuple):
    bare: Rate
    bare_async: Rate
    ours: Rate

    @property
    def ratio(self) -> float:
        return self.ours.per_sec / self.bare.per_sec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs (and messages) per round")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds; the median judges")
    parser.add_argument("--threads", type=int, default=IO_BOUND_WORKER_THREADS)
    parser.add_argument(
        "--stage",
        choices=("no-op", "scripted"),
        default="no-op",
        help="no-op: the job machinery alone; scripted: a real 0.5 s scripted transcription",
    )
    args = parser.parse_args()
    schema = f"bench_jobs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    rounds: list[Round] = []
    try:
        with tempfile.TemporaryDirectory(prefix="pegasus-jobs-bench-") as tmp:
            pegasus = PegasusRun(schema, Path(tmp) / "storage", stage=args.stage)
            job_ids = pegasus.seed(args.jobs * args.rounds)
            for index in range(args.rounds):
                # Each round measures the three back to back: the machine's speed drifts
                # over a minute by more than the differences measured.
                rounds.append(
                    Round(
                        bare_dramatiq(args.jobs, args.threads),
                        bare_dramatiq(args.jobs, args.threads, asynchronous=True),
                        pegasus.run(
                            job_ids[index * args.jobs : (index + 1) * args.jobs],
                            args.threads,
                        ),
                    )
                )
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{args.rounds} rounds of {args.jobs:,} messages / jobs, {args.threads} threads; "
        f"Pegasus: {args.stage} stage (dispatch, claim, run, "
        "completion). Rates per second; CPU ms per item of this process (Postgres apart)."
    )
    for index, one in enumerate(rounds, 1):
        print(
            f"  round {index}: bare no-op actor {one.bare.per_sec:,.0f}/s "
            f"({one.bare.cpu_ms:.2f} ms), async no-op actor {one.bare_async.per_sec:,.0f}/s "
            f"({one.bare_async.cpu_ms:.2f} ms), Pegasus {one.ours.per_sec:,.0f} jobs/s "
            f"({one.ours.cpu_ms:.2f} ms): ratio {one.ratio:.2f}"
        )
        print(
            "    CPU ms per item on the whole machine and in its servers: "
            f"bare {_servers(one.bare)}; Pegasus {_servers(one.ours)}"
        )
    ratio = statistics.median(one.ratio for one in rounds)
    async_ratio = statistics.median(one.ours.per_sec / one.bare_async.per_sec for one in rounds)
    print(f"median ratio {ratio:.2f} (target >= 0.50): {verdict(ratio >= 0.5)}")
    print(f"median against the async no-op actor (no target): {async_ratio:.2f}")


if __name__ == "__main__":
    main()
