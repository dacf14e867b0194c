"""Health, readiness and presets."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get

from pegasus_core.presets import Preset
from pegasus_http.dependencies import Facade, PathId
from pegasus_http.schemas import Health, PresetList


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

    @get("/", summary="List presets")
    async def list_presets(self, pegasus: Facade) -> PresetList:
        """Return the built-in study presets."""
        return PresetList(presets=pegasus.list_presets())

    @get("/{preset_id:str}", summary="Get a preset")
    async def get_preset(self, pegasus: Facade, preset_id: PathId) -> Preset:
        """Return one preset; 404 `Preset not found.`."""
        return pegasus.get_preset(preset_id)
