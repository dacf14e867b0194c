"""An API client over the real ASGI app, on in-memory adapters with jobs run inline."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app


@pytest.fixture
async def client(pegasus: Pegasus) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(pegasus=pegasus)) as test_client:
        yield test_client
