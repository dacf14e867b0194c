"""Health, readiness and presets."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec

from pegasus_core.presets import Preset
from pegasus_http.dependencies import AnyRequest, PathId, facade
from pegasus_http.docs import READ
from pegasus_http.schemas import Health, PresetList, ReadinessBody


class HealthController(Controller):
    """Liveness."""

    path = "/health"
    tags = ["operations"]

    @get("/", summary="Liveness")
    async def health(self) -> Health:
        """Answer ok while the process serves requests."""
        return Health(status="ok", time=datetime.now(UTC))


class PresetController(Controller):
    """Study presets."""

    path = "/presets"
    tags = ["presets"]

    @get("/", summary="List presets", responses=READ)
    async def list_presets(self, request: AnyRequest) -> PresetList:
        """Return the built-in study presets."""
        pegasus = facade(request)
        return PresetList(presets=pegasus.list_presets())

    @get("/{preset_id:str}", summary="Get a preset", responses=READ)
    async def get_preset(self, request: AnyRequest, preset_id: PathId) -> Preset:
        """Return one preset; 404 `Preset not found.`."""
        pegasus = facade(request)
        return pegasus.get_preset(preset_id)


class ReadinessController(Controller):
    """Readiness."""

    path = "/health/ready"
    tags = ["operations"]

    @get(
        "/",
        summary="Readiness",
        responses={503: ResponseSpec(ReadinessBody, description="A check failed")},
    )
    async def ready(self, request: AnyRequest) -> Response[ReadinessBody]:
        """Check database, queue and storage; 503 with the same body when any check fails."""
        pegasus = facade(request)
        result = await pegasus.check_readiness()
        body = ReadinessBody(status=result.status, time=datetime.now(UTC), checks=result.checks)
        return Response(body, status_code=200 if result.status == "ok" else 503)
