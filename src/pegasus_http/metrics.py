"""Prometheus metrics: HTTP requests and latency per route, jobs per type and status.

With PROMETHEUS_MULTIPROC_DIR set (as `pegasus serve --workers N` does), every worker process
writes its samples there and /metrics aggregates them all.
"""

from __future__ import annotations

import os

from litestar import Controller, Response, get
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from pegasus_http.dependencies import AnyRequest, facade

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


# The labelled children per (method, route, status): labels() takes a lock and builds its key
# on every call. Bounded: routes are templates ("unmatched" for the rest), methods and statuses
# few.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def count_request(method: str, route: str, status: int, elapsed: float) -> None:
    """Count and time an answered request under its route template."""
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
        )
    children[0].inc()
    children[1].observe(elapsed)


class MetricsController(Controller):
    """Prometheus scrape endpoint."""

    path = "/metrics"
    tags = ["operations"]
    include_in_schema = True

    @get("/", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, request: AnyRequest) -> Response[bytes]:
        """Return the metrics in Prometheus text format."""
        request.app.state.requests.flush()  # this process's answered requests, counted now
        pegasus = facade(request)
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
