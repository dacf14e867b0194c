"""The Litestar application: routing, dependencies, problem mapping. No behaviour of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from pegasus_adapters.bootstrap import JsonLineWriter, configure_logging, open_pegasus
from pegasus_adapters.settings import Settings, load_settings
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.rate_limiter import RateDecision, RateLimiter
from pegasus_http.collector import tune_collector
from pegasus_http.idempotency import idempotency_middleware
from pegasus_http.metrics import MetricsController
from pegasus_http.observe import observe_middleware
from pegasus_http.problems import EXCEPTION_HANDLERS
from pegasus_http.request_log import LineWriter, RequestLog
from pegasus_http.routes_artifacts import ArtifactController, ExportController
from pegasus_http.routes_courses import CourseController
from pegasus_http.routes_ingest import IngestController
from pegasus_http.routes_jobs import JobController
from pegasus_http.routes_lectures import LectureController
from pegasus_http.routes_misc import HealthController, PresetController, ReadinessController
from pegasus_http.security import SecurityPolicy, security_middleware
from pegasus_http.supervised import exit_with_supervisor


def create_app(
    pegasus: Pegasus | None = None,
    settings: Settings | None = None,
    *,
    access_lines: LineWriter | None = None,
) -> Litestar:
    """Build the API. With pegasus=None the app's lifespan opens one from settings.

    access_lines, when given, writes the batches of access lines (see RequestLog); else they
    go through `logging`.
    """
    settings = settings or (Settings() if pegasus is not None else load_settings())
    policy = security_policy(settings)
    rate_limiter = _LateRateLimiter()
    requests = RequestLog(access_lines)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if pegasus is not None:
            app.state.pegasus = pegasus
            rate_limiter.target = pegasus.ports.rate_limiter
            yield
            return
        async with open_pegasus(settings) as opened:
            app.state.pegasus = opened
            rate_limiter.target = opened.ports.rate_limiter
            yield

    return Litestar(
        route_handlers=[
            HealthController,
            ReadinessController,
            MetricsController,
            PresetController,
            CourseController,
            IngestController,
            LectureController,
            JobController,
            ArtifactController,
            ExportController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[
            observe_middleware(requests),
            security_middleware(policy, rate_limiter),
            idempotency_middleware,
        ],
        lifespan=[lifespan],
        on_shutdown=[requests.flush],
        state=State({"requests": requests}),
        openapi_config=OpenAPIConfig(title="Pegasus", version="0.1.0", path="/schema"),
        debug=False,
        logging_config=None,  # the process configures logging (JSON lines under serve)
    )


def create_server_app() -> Litestar:
    """create_app for a `pegasus serve` process: JSON log lines first.

    uvicorn starts its worker processes afresh (spawn): they inherit no logging set-up, and
    without this would drop their access lines and job events. A worker also ends when its
    supervisor is gone (see pegasus_http.supervised), and tunes the garbage collector once
    started (see pegasus_http.collector).
    """
    handler = configure_logging(json=True)
    exit_with_supervisor()
    app = create_app(access_lines=JsonLineWriter(handler, "pegasus.access"))
    app.on_startup.append(tune_collector)  # after the lifespan: the pool is open by then
    return app


def security_policy(settings: Settings) -> SecurityPolicy:
    """Read the security settings."""
    return SecurityPolicy(
        write_token=settings.write_api_token,
        read_token=settings.read_api_token,
        trusted_proxies=tuple(settings.trusted_proxies.split(",")),
        write_limit=settings.write_rate_limit_max_requests,
        write_window_sec=settings.write_rate_limit_window_sec,
    )


class _LateRateLimiter:
    """The facade's rate limiter, which exists only once the lifespan has opened it."""

    target: RateLimiter | None = None

    async def hit(self, key: str, *, limit: int, window_sec: int) -> RateDecision:
        assert self.target is not None, "the app's lifespan has not started"
        return await self.target.hit(key, limit=limit, window_sec=window_sec)
