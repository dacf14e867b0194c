"""Answered requests, recorded in batches off their path: Prometheus counts and access lines."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from pegasus_http.metrics import count_request

access = logging.getLogger("pegasus.access")

# How long an answered request may wait to be counted and logged.
FLUSH_INTERVAL_SEC = 0.2
MAX_PENDING = 1024

Answered = tuple[float, str, str, int, float, str]  # time, method, route, status, elapsed, id


class LineWriter(Protocol):
    """Writes a batch of INFO lines of `pegasus.access` (`pegasus serve` passes one)."""

    def __call__(self, lines: Sequence[tuple[float, str, Mapping[str, object]]]) -> None:
        """Write lines given as (time.time() when logged, message, fields in their order)."""


class RequestLog:
    """Counts each answered request in /metrics and logs its access line, in batches.

    Done on a request's path, the Prometheus updates (locks and shared-memory writes with
    several worker processes) and the access line (a LogRecord, a handler dispatch, JSON
    and a write) cost `pegasus serve` about 0.1 ms of CPU of its 0.5 ms on a light read,
    several times what the same work costs in a tight loop: on the path it runs with the
    caches cold from each wait for the database. So record() only queues the request, and
    every FLUSH_INTERVAL_SEC the event loop counts and logs the batch (at once when
    MAX_PENDING wait). Readers of /metrics call flush() first; the app flushes at shutdown.

    The cost: a line and a count can be up to FLUSH_INTERVAL_SEC late (another worker's
    counts at a scrape), and a process killed with SIGKILL loses that much. Lines keep the
    time their request was answered. Without a writer each line goes through `logging`.
    """

    def __init__(
        self,
        writer: LineWriter | None = None,
        *,
        interval: float = FLUSH_INTERVAL_SEC,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._writer = writer
        self._interval = interval
        self._max_pending = max_pending
        self._pending: list[Answered] = []
        self._timer: asyncio.TimerHandle | None = None

    def record(self, method: str, route: str, status: int, elapsed: float, request_id: str) -> None:
        """Queue an answered request; call on the event loop."""
        self._pending.append((time.time(), method, route, status, elapsed, request_id))
        if len(self._pending) >= self._max_pending:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.flush)

    def flush(self) -> None:
        """Count and log every queued request now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for _, method, route, status, elapsed, _ in pending:
            count_request(method, route, status, elapsed)
        if not pending or not access.isEnabledFor(logging.INFO):
            return
        lines = [
            (
                answered_at,
                f"{method} {route} {status}",
                {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "request_id": request_id,
                },
            )
            for answered_at, method, route, status, elapsed, request_id in pending
        ]
        if self._writer is not None:
            self._writer(lines)
            return
        for answered_at, message, fields in lines:
            # What info() does, minus the walk up the stack for the caller's file and line
            # (the JSON lines do not print them), and dated when the request was answered.
            record = access.makeRecord(
                access.name, logging.INFO, __file__, 0, message, (), None, extra=fields
            )
            record.created = answered_at
            record.msecs = answered_at % 1 * 1000
            access.handle(record)
