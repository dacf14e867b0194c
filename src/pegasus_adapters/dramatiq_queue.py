"""Dramatiq on Redis: the broker, the one `run_job` actor, and the JobQueue that sends to it.

Messages carry a job id only; the jobs table is the source of truth. Dramatiq's own retries
are off (retries live in the jobs table) and its time limit is not used (the job runner
enforces one scaled to the audio).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Middleware, Retries, ShutdownNotifications

from pegasus_adapters.settings import Settings
from pegasus_core.errors import UnavailableError

log = logging.getLogger("pegasus.queue")

QUEUE_NAME = "pegasus"
ACTOR_NAME = "run_job"
# A dispatch or health probe that Redis does not answer quickly counts as "queue down": the
# job stays queued in the database and the sweep dispatches it later.
REDIS_TIMEOUT_SEC = 1.0

Handler = Callable[[str], Awaitable[None]]


class Dispatcher:
    """The process's job handler, set once the process has opened Pegasus."""

    handler: Handler | None = None


async def run_job_message(job_id: str) -> None:
    """The actor body: run the job through this process's Pegasus."""
    if Dispatcher.handler is None:
        raise RuntimeError("Pegasus is not open in this worker process")
    await Dispatcher.handler(job_id)


def setup_broker(
    settings: Settings, *extra: Middleware
) -> tuple[RedisBroker, dramatiq.Actor[[str], None]]:
    """Build the Redis broker and declare the run_job actor on it (never a global broker)."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.redis_url,
        namespace=settings.queue_namespace,
        middleware=[ShutdownNotifications(), Retries(max_retries=0), AsyncIO(), *extra],
        socket_timeout=REDIS_TIMEOUT_SEC,
        socket_connect_timeout=REDIS_TIMEOUT_SEC,
        health_check_interval=10,
    )
    declare = dramatiq.actor(
        broker=broker, actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, max_retries=0
    )
    return broker, declare(run_job_message)


class DramatiqJobQueue:
    """Sends job ids to the run_job actor through Redis."""

    kind = "dramatiq"

    def __init__(self, broker: RedisBroker, actor: dramatiq.Actor[[str], None]) -> None:
        self._broker = broker
        self._actor = actor

    def bind(self, handler: Handler) -> None:
        """Run this process's jobs with handler (workers; API processes only send)."""
        Dispatcher.handler = handler

    async def dispatch(self, job_id: str) -> None:
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._actor.send, job_id), timeout=2 * REDIS_TIMEOUT_SEC
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError("The job queue is unavailable.") from exc

    async def check(self) -> None:
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._broker.client.ping), timeout=2 * REDIS_TIMEOUT_SEC
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise UnavailableError("The job queue is unavailable.") from exc

    async def aclose(self) -> None:
        """Close the broker's connections."""
        await asyncio.to_thread(self._broker.close)
