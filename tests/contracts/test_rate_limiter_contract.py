"""The RateLimiter contract on the in-process and the Redis adapters; Redis fails open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from pegasus_adapters.memory.rate_limiter import InProcessRateLimiter
from pegasus_adapters.redis_rate_limiter import RedisRateLimiter
from pegasus_core.ports.rate_limiter import RateLimiter
from tests.conftest import REDIS_URL, require_redis
from tests.system.served import free_port


@pytest.fixture(params=["in_process", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "in_process":
        yield InProcessRateLimiter()
        return
    await require_redis()
    shared = RedisRateLimiter(REDIS_URL, namespace=f"test-{uuid.uuid4().hex}")
    yield shared
    await shared.aclose()


async def test_the_limit_holds_per_key_and_refusals_say_when_to_retry(
    limiter: RateLimiter,
) -> None:
    decisions = [await limiter.hit("client-a", limit=3, window_sec=60) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert 1 <= decisions[-1].retry_after_sec <= 60
    assert (await limiter.hit("client-b", limit=3, window_sec=60)).allowed


async def test_two_limiters_on_one_redis_share_the_window() -> None:
    await require_redis()
    namespace = f"test-{uuid.uuid4().hex}"
    first = RedisRateLimiter(REDIS_URL, namespace=namespace)
    second = RedisRateLimiter(REDIS_URL, namespace=namespace)
    try:
        results = [
            await (first if i % 2 else second).hit("k", limit=4, window_sec=60) for i in range(6)
        ]
    finally:
        await first.aclose()
        await second.aclose()
    assert [r.allowed for r in results] == [True] * 4 + [False] * 2


async def test_an_unreachable_redis_fails_open_and_is_counted() -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RedisRateLimiter(nobody, namespace="x", timeout_sec=0.2)
    try:
        decisions = [await limiter.hit("k", limit=1, window_sec=60) for _ in range(3)]
    finally:
        await limiter.aclose()
    assert all(d.allowed for d in decisions)
    assert limiter.fail_open_count == 3
