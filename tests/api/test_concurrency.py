"""Fifty simultaneous identical job submissions create exactly one job, on every repository.

Jobs stay queued (the deferred queue runs nothing), so every request after the first finds the
active job: the database, not a read then a write, must make that hold under concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app
from tests.conftest import memory_settings
from tests.helpers import ingest

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUESTS = 50


class InFlight:
    """An ASGI wrapper counting the HTTP requests in progress, to prove they overlapped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.current = 0
        self.peak = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.current += 1
        self.peak = max(self.peak, self.current)
        try:
            await self.app(scope, receive, send)
        finally:
            self.current -= 1


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan in a task of its own (its scopes must end where they began)."""
    to_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()

    async def send(message: MutableMapping[str, Any]) -> None:
        await from_app.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, send))
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        stopped = await from_app.get()
        await task
        assert stopped["type"] == "lifespan.shutdown.complete", stopped


@dataclass
class DeferredApi:
    pegasus: Pegasus
    client: httpx.AsyncClient
    in_flight: InFlight


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repository(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings of each repository; a missing Postgres skips (under CI fails) its param."""
    if request.param == "postgres":
        conninfo: str = request.getfixturevalue("postgres_conninfo")
        return {"repository": "postgres", "database_url": conninfo}
    return {"repository": request.param}


@pytest.fixture
async def deferred_api(
    tmp_path: Path, repository: dict[str, str], scripted_transcriber: ScriptedTranscriber
) -> AsyncIterator[DeferredApi]:
    settings = memory_settings(
        tmp_path, job_queue="deferred", write_rate_limit_max_requests=1000, **repository
    )
    async with open_pegasus(settings, transcriber=scripted_transcriber) as pegasus:
        app = create_app(pegasus=pegasus, settings=settings)
        in_flight = InFlight(app)  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=in_flight)  # type: ignore[arg-type]
        async with (
            lifespan(in_flight),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield DeferredApi(pegasus, client, in_flight)


async def test_fifty_concurrent_transcribe_requests_create_one_job(
    deferred_api: DeferredApi, speech_clip: Path
) -> None:
    pegasus, client = deferred_api.pegasus, deferred_api.client
    await ingest(pegasus, speech_clip, lecture_id="lec-1")
    gate = asyncio.Event()

    async def submit() -> httpx.Response:
        await gate.wait()
        return await client.post("/lectures/lec-1/transcribe")

    tasks = [asyncio.create_task(submit()) for _ in range(REQUESTS)]
    await asyncio.sleep(0)  # every task is now waiting at the gate
    gate.set()
    responses = await asyncio.gather(*tasks)

    assert [r.status_code for r in responses] == [202] * REQUESTS, [
        r.text for r in responses if r.status_code != 202
    ]
    bodies = [r.json() for r in responses]
    job_ids = {body["jobId"] for body in bodies}
    assert len(job_ids) == 1, job_ids
    assert sorted(body["deduplicated"] for body in bodies) == [False] + [True] * (REQUESTS - 1)
    assert {(body["jobType"], body["status"], body["lectureId"]) for body in bodies} == {
        ("transcription", "queued", "lec-1")
    }
    assert deferred_api.in_flight.peak > 1, "the requests never overlapped"

    jobs = await pegasus.list_jobs(PageRequest(), lecture_id="lec-1")
    assert [(job.id, job.job_type.value, job.status.value) for job in jobs.items] == [
        (job_ids.pop(), "transcription", "queued")
    ]
    assert (await pegasus.get_lecture("lec-1")).status.value == "processing"
