"""Rate limiting: a sliding window of requests per client key."""

from __future__ import annotations

from typing import Protocol

from pegasus_core.records import Record


class RateDecision(Record, frozen=True, kw_only=True):
    """Whether a request may proceed, and if not, when to retry."""

    allowed: bool
    retry_after_sec: int = 0


class RateLimiter(Protocol):
    """Counts requests per key over a sliding window shared by every API process using it."""

    async def hit(self, key: str, *, limit: int, window_sec: int) -> RateDecision:
        """Record one request for key; refuse it if limit requests fell in the last window.

        A refused request is not counted. Adapters that cannot reach their store allow the
        request (fail open) and say so in their logs and metrics.
        """
        ...
