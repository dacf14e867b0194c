"""The in-process sliding-window rate limiter (embedded mode, and tests)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from pegasus_core.ports.rate_limiter import RateDecision

# Forget idle clients now and then so the table cannot grow without bound.
_PRUNE_EVERY = 1024


class InProcessRateLimiter:
    """A log of request times per key; exact sliding window, one process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._calls = 0

    async def hit(self, key: str, *, limit: int, window_sec: int) -> RateDecision:
        now = self._clock()
        start = now - window_sec
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= start:
            hits.popleft()
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._prune(start)
        if len(hits) >= limit:
            return RateDecision(
                allowed=False, retry_after_sec=max(1, math.ceil(hits[0] + window_sec - now))
            )
        hits.append(now)
        return RateDecision(allowed=True)

    def _prune(self, start: float) -> None:
        for stale in [k for k, hits in self._hits.items() if not hits or hits[-1] <= start]:
            del self._hits[stale]
