"""DramatiqJobQueue.dispatch on the machine's Redis: concurrent dispatches, batched into shared
sends, each reach Redis once; with Redis unreachable each fails with UnavailableError, and a
batch stops trying at its first failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from pegasus_adapters.dramatiq_queue import QUEUE_NAME, DramatiqJobQueue, _send_each, setup_broker
from pegasus_adapters.settings import Settings
from pegasus_core.errors import UnavailableError
from tests.conftest import REDIS_URL, require_redis
from tests.processes import free_port


def _queue(redis_url: str, namespace: str) -> tuple[DramatiqJobQueue, RedisBroker]:
    settings = Settings(redis_url=redis_url, queue_namespace=namespace)
    broker, actor, urgent = setup_broker(settings)
    return DramatiqJobQueue(broker, actor, urgent), broker


@pytest.fixture
def live(queue_namespace: str) -> Iterator[tuple[DramatiqJobQueue, RedisBroker]]:
    queue, broker = _queue(REDIS_URL, queue_namespace)
    yield queue, broker
    broker.flush_all()
    broker.close()


def _queued_ids(broker: RedisBroker) -> list[str]:
    """The job ids of the messages waiting in the normal queue, oldest first."""
    key = f"{broker.namespace}:{QUEUE_NAME}"
    message_ids = broker.client.lrange(key, 0, -1)
    messages = broker.client.hmget(f"{key}.msgs", message_ids) if message_ids else []
    return [Message.decode(raw).args[0] for raw in messages]


async def test_concurrent_dispatches_all_reach_redis_once_each(
    live: tuple[DramatiqJobQueue, RedisBroker],
) -> None:
    await require_redis()
    queue, broker = live
    job_ids = [f"job-{index:03d}" for index in range(300)]  # more than one batch (MAX_BATCH)

    async def client(ids: list[str]) -> None:
        for job_id in ids:
            await queue.dispatch(job_id)

    await asyncio.gather(*(client(job_ids[i::16]) for i in range(16)))
    assert sorted(_queued_ids(broker)) == job_ids


async def test_dispatches_to_an_unreachable_redis_all_fail_promptly() -> None:
    # A port nothing listens on: every connection is refused at once.
    queue, broker = _queue(f"redis://127.0.0.1:{free_port()}/0", "test-unreachable")
    try:
        outcomes = await asyncio.gather(
            *(queue.dispatch(f"job-{index}") for index in range(50)), return_exceptions=True
        )
    finally:
        broker.close()
    assert all(isinstance(outcome, UnavailableError) for outcome in outcomes), outcomes


class _FlakyActor:
    """Records the ids it is asked to send; the second send fails as a lost Redis would."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    def send(self, job_id: str) -> None:
        self.tried.append(job_id)
        if len(self.tried) == 2:
            raise redis.ConnectionError("Connection refused")


def test_a_batch_stops_sending_at_its_first_failure() -> None:
    actor = _FlakyActor()
    outcomes = _send_each(actor, ["a", "b", "c", "d"])  # type: ignore[arg-type]
    assert actor.tried == ["a", "b"]  # c and d are not tried: each could wait for a timeout
    assert outcomes[0] is None
    assert all(isinstance(outcome, redis.ConnectionError) for outcome in outcomes[1:])
