"""Prometheus metrics: HTTP requests and latency per route, jobs per type and status.

With PROMETHEUS_MULTIPROC_DIR set (as `pegasus serve --workers N` does), every worker process
writes its samples there and /metrics aggregates them all.
"""

from __future__ import annotations

import logging
import os
import time

from litestar import Controller, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from pegasus_http.dependencies import Facade

access = logging.getLogger("pegasus.access")

REQUESTS = Counter(
    "pegasus_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "pegasus_http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOBS = Gauge(
    "pegasus_jobs",
    "Jobs by type and status (from the database).",
    ["job_type", "status"],
    multiprocess_mode="mostrecent",
)
FAIL_OPEN = Gauge(
    "pegasus_rate_limiter_fail_open_total",
    "Write requests allowed because the shared rate limiter did not answer.",
    multiprocess_mode="sum",
)
QUEUE_DEPTH = Gauge(
    "pegasus_queue_depth", "Jobs queued and not yet running.", multiprocess_mode="mostrecent"
)


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Count each request and its latency under its route template (never the raw path)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, observe)
        finally:
            route = scope.get("path_template") or "unmatched"
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            access.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    return middleware


class MetricsController(Controller):
    """Prometheus scrape endpoint."""

    path = "/metrics"
    tags = ["operations"]
    include_in_schema = True

    @get("/", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, pegasus: Facade) -> Response[bytes]:
        """Return the metrics in Prometheus text format."""
        counts = await pegasus.job_counts()
        for (job_type, status), count in counts.items():
            JOBS.labels(job_type, status).set(count)
        QUEUE_DEPTH.set(sum(n for (_, status), n in counts.items() if status == "queued"))
        FAIL_OPEN.set(getattr(pegasus.ports.rate_limiter, "fail_open_count", 0))
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            body = generate_latest(registry)
        else:
            body = generate_latest()
        return Response(body, media_type=CONTENT_TYPE_LATEST)
