"""The Litestar application: routing, dependencies, problem mapping. No behaviour of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.settings import Settings, load_settings
from pegasus_core.pegasus import Pegasus
from pegasus_http.dependencies import provide_page, provide_pegasus
from pegasus_http.problems import EXCEPTION_HANDLERS
from pegasus_http.request_ids import request_id_middleware
from pegasus_http.routes_artifacts import ArtifactController, ExportController
from pegasus_http.routes_courses import CourseController
from pegasus_http.routes_jobs import JobController
from pegasus_http.routes_lectures import LectureController
from pegasus_http.routes_misc import HealthController, PresetController


def create_app(pegasus: Pegasus | None = None, settings: Settings | None = None) -> Litestar:
    """Build the API. With pegasus=None the app's lifespan opens one from settings."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if pegasus is not None:
            app.state.pegasus = pegasus
            yield
            return
        async with open_pegasus(settings or load_settings()) as opened:
            app.state.pegasus = opened
            yield

    return Litestar(
        route_handlers=[
            HealthController,
            PresetController,
            CourseController,
            LectureController,
            JobController,
            ArtifactController,
            ExportController,
        ],
        dependencies={
            "pegasus": Provide(provide_pegasus, sync_to_thread=False),
            "page": Provide(provide_page, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[request_id_middleware],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="Pegasus", version="0.1.0", path="/schema"),
        debug=False,
    )
