"""An API client over the real ASGI app, on every repository adapter with jobs run inline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.settings import Settings
from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app
from tests.conftest import memory_settings


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each repository: in-memory, a SQLite file, and Postgres."""
    overrides: dict[str, object] = {"repository": request.param}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_conninfo")
    return memory_settings(tmp_path, **overrides)


@pytest.fixture
async def pegasus(
    api_settings: Settings, scripted_transcriber: ScriptedTranscriber
) -> AsyncIterator[Pegasus]:
    """The API's facade on the repository of api_settings."""
    async with open_pegasus(api_settings, transcriber=scripted_transcriber) as instance:
        yield instance


@pytest.fixture
async def client(pegasus: Pegasus) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(pegasus=pegasus)) as test_client:
        yield test_client
