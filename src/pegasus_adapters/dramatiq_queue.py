"""Dramatiq on Redis: the broker, the one `run_job` actor, and the JobQueue that sends to it.

Messages carry a job id only; the jobs table is the source of truth. Dramatiq's own retries
are off (retries live in the jobs table) and its time limit is not used (the job runner
enforces one scaled to the audio).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import dramatiq
import redis
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Middleware, Retries, ShutdownNotifications

from pegasus_adapters.settings import Settings
from pegasus_core.errors import UnavailableError
from pegasus_core.group_commit import GroupCommit

log = logging.getLogger("pegasus.queue")

QUEUE_NAME = "pegasus"
ACTOR_NAME = "run_job"
# Recoveries (taken-back, retried, lost) go to their own queue with a higher priority:
# Dramatiq workers take prioritised messages first from the work they have fetched, so a
# taken-back job does not wait behind the whole backlog.
URGENT_QUEUE_NAME = "pegasus-urgent"
URGENT_ACTOR_NAME = "run_job_urgent"
QUEUES = {QUEUE_NAME, URGENT_QUEUE_NAME}
# A dispatch or health probe that Redis does not answer quickly counts as "queue down": the
# job stays queued in the database and the sweep dispatches it later.
REDIS_TIMEOUT_SEC = 1.0

Handler = Callable[[str], Awaitable[None]]
T = TypeVar("T")
OPEN_TIMEOUT_SEC = 60.0  # how long a message taken at start waits for Pegasus to open


class Dispatcher:
    """The worker process's job handler: its own Pegasus, once open (PegasusLifecycle).

    Only the worker's lifecycle sets it: a process that also opens a Pegasus of its own to
    dispatch (a test, a benchmark) must not have the worker's messages run on that one,
    whose pools belong to another event loop. `opening` is true from the worker's boot until
    its Pegasus is open.
    """

    handler: Handler | None = None
    opening = False


async def run_job_message(job_id: str) -> None:
    """The actor body: run the job through this worker process's Pegasus.

    Dramatiq's threads take messages as soon as the worker starts, while Pegasus may still
    be opening: those wait for it rather than fail, which would leave their jobs to the
    sweep's re-dispatch (PLC_JOB_REDISPATCH_SEC) minutes later.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OPEN_TIMEOUT_SEC
    while Dispatcher.handler is None and Dispatcher.opening and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if Dispatcher.handler is None:
        raise RuntimeError("Pegasus is not open in this worker process")
    await Dispatcher.handler(job_id)


Actor = dramatiq.Actor[[str], None]


async def run_job_urgent_message(job_id: str) -> None:
    """The urgent actor's body: the same work, taken first."""
    await run_job_message(job_id)


class UvloopAsyncIO(AsyncIO):
    """Dramatiq's AsyncIO middleware, with its event loop thread running uvloop when installed.

    Every async actor of a worker process runs on that one loop, so its cost per callback
    bounds the process's job throughput: on the jobs benchmark, a job's database round
    trips took about 1.7x less CPU on uvloop than on the default loop.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Start the loop thread, on a uvloop loop when uvloop is importable."""
        try:
            import uvloop
        except ImportError:  # e.g. Windows: the default loop works, only slower
            super().before_worker_boot(broker, worker)  # type: ignore[no-untyped-call]
            return
        thread = EventLoopThread(self.logger)
        # EventLoopThread makes its loop in __init__ and runs whatever `loop` holds at start.
        thread.loop.close()
        thread.loop = uvloop.new_event_loop()
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)


def setup_broker(settings: Settings, *extra: Middleware) -> tuple[RedisBroker, Actor, Actor]:
    """Build the Redis broker and declare the two actors on it (never a global broker)."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.redis_url,
        namespace=settings.queue_namespace,
        middleware=[ShutdownNotifications(), Retries(max_retries=0), UvloopAsyncIO(), *extra],
        socket_timeout=REDIS_TIMEOUT_SEC,
        socket_connect_timeout=REDIS_TIMEOUT_SEC,
        health_check_interval=10,
    )
    normal = dramatiq.actor(
        broker=broker, actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, max_retries=0, priority=10
    )(run_job_message)
    urgent = dramatiq.actor(
        broker=broker,
        actor_name=URGENT_ACTOR_NAME,
        queue_name=URGENT_QUEUE_NAME,
        max_retries=0,
        priority=0,
    )(run_job_urgent_message)
    return broker, normal, urgent


def _send_each(actor: Actor, job_ids: Sequence[str]) -> list[BaseException | None]:
    """Send each job id in order; return one outcome per id (None when sent).

    Once a send fails the rest fail with it, untried: Redis is down or slow, and each try
    could wait for its own timeout.
    """
    outcomes: list[BaseException | None] = []
    for job_id in job_ids:
        if outcomes and outcomes[-1] is not None:
            outcomes.append(outcomes[-1])
            continue
        try:
            actor.send(job_id)
        except (redis.RedisError, OSError) as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


class DramatiqJobQueue:
    """Sends job ids to the run_job actor through Redis.

    Sends block on Redis, so they run in a thread; dispatches that arrive while a batch is
    being sent go together in the next one (GroupCommit), one thread hop per batch instead of
    one per job: on the jobs benchmark a hop per dispatch cost more CPU than the send itself.

    In a worker process (run_locally), an urgent dispatch (the sweep's recoveries) that
    reached Redis is also started at once on this process's loop: a taken-back job then
    resumes without waiting for a free worker thread, which on a loaded machine can take
    seconds. Whichever copy claims first runs; the other is dropped by the conditional
    claim. With the queue down, nothing runs: the job waits in the database like any other.
    """

    kind = "dramatiq"
    # Recoveries are what dead processes were running and retries whose time has come: a
    # handful at once. The bound only keeps a burst from piling onto one process.
    LOCAL_RECOVERIES = 16
    MAX_BATCH = 256  # sends in one thread hop: about 30 ms of Redis round trips

    def __init__(self, broker: RedisBroker, actor: Actor, urgent_actor: Actor) -> None:
        self._broker = broker
        self.run_locally = False
        self._handler: Handler | None = None
        self._local: set[asyncio.Future[None]] = set()
        # One thread per batch in flight (normal and urgent sends) and one for health checks.
        self._threads = ThreadPoolExecutor(max_workers=3, thread_name_prefix="pegasus-redis")
        self._sends = {
            urgent: GroupCommit[str, None](
                functools.partial(self._send_batch, urgent_actor if urgent else actor),
                max_batch=self.MAX_BATCH,
            )
            for urgent in (False, True)
        }

    async def _in_thread(self, func: Callable[[], T]) -> T:
        """Run a blocking Redis call on the queue's own threads, with the queue's timeout.

        Not the loop's default executor: there, file I/O of running jobs could make a
        recovery's dispatch or a health check wait its turn.
        """
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._threads, func), timeout=2 * REDIS_TIMEOUT_SEC
        )

    async def _send_batch(self, actor: Actor, job_ids: Sequence[str]) -> list[BaseException | None]:
        return await self._in_thread(functools.partial(_send_each, actor, job_ids))

    def bind(self, handler: Handler) -> None:
        """Run local recoveries with handler (see run_locally).

        Messages reach a worker's actors through Dispatcher, which only its lifecycle sets.
        """
        self._handler = handler

    async def dispatch(self, job_id: str, *, urgent: bool = False) -> None:
        try:
            await self._sends[urgent].submit(job_id)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError("The job queue is unavailable.") from exc
        handler = self._handler
        if urgent and self.run_locally and handler and len(self._local) < self.LOCAL_RECOVERIES:
            task: asyncio.Future[None] = asyncio.ensure_future(handler(job_id))
            self._local.add(task)
            task.add_done_callback(self._local.discard)

    async def check(self) -> None:
        try:
            await self._in_thread(self._broker.client.ping)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError("The job queue is unavailable.") from exc

    async def aclose(self) -> None:
        """Stop local recoveries (their jobs are handed back) and close the broker."""
        for task in list(self._local):
            task.cancel()
        await asyncio.gather(*self._local, return_exceptions=True)
        await asyncio.to_thread(self._broker.close)
        self._threads.shutdown(wait=False)
