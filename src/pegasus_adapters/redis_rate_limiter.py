"""The write rate limiter shared by every API process, on Redis; it fails open."""

from __future__ import annotations

import logging
import math
import time
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pegasus_core.ports.rate_limiter import RateDecision

log = logging.getLogger("pegasus.ratelimit")

# A sliding log in a sorted set, atomically: drop entries older than the window, then either
# refuse (returning the oldest entry's time) or record this request.
_SCRIPT = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, oldest[2]}
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {1, 0}
"""


class RedisRateLimiter:
    """Sliding-window limiter in Redis, shared by every API process.

    When Redis does not answer within `timeout_sec` the request is allowed, logged and counted
    (`fail_open_count`, exported by /metrics).
    """

    def __init__(self, url: str, *, namespace: str, timeout_sec: float = 0.2) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_sec, socket_connect_timeout=timeout_sec
        )
        self._script = self._client.register_script(_SCRIPT)
        self._prefix = f"{namespace}:ratelimit:"
        self.fail_open_count = 0

    async def hit(self, key: str, *, limit: int, window_sec: int) -> RateDecision:
        now = time.time()
        try:
            allowed, oldest = await self._script(
                keys=[self._prefix + key],
                args=[now, window_sec, limit, f"{now}:{uuid.uuid4().hex}"],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self.fail_open_count += 1
            log.warning("rate limiter unavailable, request allowed: %s", type(exc).__name__)
            return RateDecision(allowed=True)
        if int(allowed):
            return RateDecision(allowed=True)
        retry = max(1, math.ceil(float(oldest) + window_sec - now))
        return RateDecision(allowed=False, retry_after_sec=retry)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
