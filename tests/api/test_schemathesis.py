"""Schemathesis against the OpenAPI document the API serves, through its ASGI integration.

Every API operation is one test. Each test's ASGI lifespan opens a fresh Pegasus (in-memory
adapters, jobs inline, a raised write rate limit so 429 does not drown everything) and seeds
one processed lecture, `lec-1` in `course-1`, so the operation is exercised against existing
records as well as missing ones: identifier parameters take a real value half of the time.
Generation is deterministic (fixed seed, derandomized) and runs the examples, coverage and
fuzzing phases with MAX_EXAMPLES examples per operation in the fuzzing phase.

Pegasus is opened inside the app's lifespan on purpose: Schemathesis serves ASGI apps from an
event loop of its own, and the SQLite-backed repositories are bound to the loop that opened
them. Schemathesis ends the lifespan after every test, so each operation starts from the same
seeded state (a DELETE of the seeded lecture cannot starve the later operations of it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import schemathesis
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.pagination import PageRequest
from pegasus_http.app import create_app
from tests.audio_fixtures import make_speech_clip
from tests.conftest import LECTURE_TEXT, memory_settings
from tests.helpers import ingest

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SEED = 20260101
MAX_EXAMPLES = 25
LECTURE, COURSE = "lec-1", "course-1"
PRESETS = [
    "exam-mode",
    "concept-map-mode",
    "beginner-mode",
    "neurodivergent-friendly-mode",
    "research-mode",
]
ARTIFACT_TYPES = ["summary", "outline", "key-terms", "flashcards", "exam-questions"]
EXPORT_TYPES = ["markdown", "pdf", "anki", "apkg", "json", "srt", "vtt"]
JOB_TYPES = ["transcription", "generation", "export"]
# Job ids are random per seeding, so generation draws these stand-ins and the test swaps in the
# ids of the current seeding right before the call.
JOB_STAND_INS = {f"seeded-{job_type}-job": job_type for job_type in JOB_TYPES}


class SeededApi:
    """An ASGI app whose lifespan opens a fresh, seeded Pegasus and serves create_app over it."""

    def __init__(self) -> None:
        self._app: Litestar | None = None
        self._stack: AsyncExitStack | None = None
        self.job_ids: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self._app is not None, "the lifespan has not started"
        await self._app(scope, receive, send)  # type: ignore[arg-type]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as exc:
                    await self._stop()
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        self._stack = stack = AsyncExitStack()
        tmp_path = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = memory_settings(tmp_path, write_rate_limit_max_requests=100000)
        transcriber = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=5.0, words_per_sec=3.0)
        pegasus = await stack.enter_async_context(open_pegasus(settings, transcriber=transcriber))
        clip = make_speech_clip(tmp_path / "clip.wav", 12.0, "wav")
        await ingest(pegasus, clip, lecture_id=LECTURE, course_id=COURSE, auto_process=True)
        assert (await pegasus.get_lecture(LECTURE)).status.value == "completed"
        jobs = await pegasus.list_jobs(PageRequest(), lecture_id=LECTURE)
        self.job_ids = {job.job_type.value: job.id for job in jobs.items}
        assert sorted(self.job_ids) == sorted(JOB_TYPES), self.job_ids
        app = create_app(pegasus=pegasus, settings=settings)
        await stack.enter_async_context(app.lifespan())
        self._app = app

    async def _stop(self) -> None:
        stack, self._stack, self._app = self._stack, None, None
        if stack is not None:
            await stack.aclose()


def _real_half_the_time(dictionary: str) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": 0.5}


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "dictionaries": {
            "lectures": {"values": [LECTURE]},
            "courses": {"values": [COURSE]},
            "jobs": {"values": list(JOB_STAND_INS)},
            "presets": {"values": PRESETS},
            "artifact-types": {"values": ARTIFACT_TYPES},
            "export-types": {"values": EXPORT_TYPES},
            "job-types": {"values": JOB_TYPES},
        },
        "parameters": {
            "lecture_id": _real_half_the_time("lectures"),
            "course_id": _real_half_the_time("courses"),
            "job_id": _real_half_the_time("jobs"),
            "preset_id": _real_half_the_time("presets"),
            "artifact_type": _real_half_the_time("artifact-types"),
            "export_type": _real_half_the_time("export-types"),
            "job_type": _real_half_the_time("job-types"),
        },
    }
)

API = SeededApi()
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", API, config=CONFIG)


@schema.parametrize()
def test_every_operation_honours_the_openapi_document(case: schemathesis.Case) -> None:
    job_id = (case.path_parameters or {}).get("job_id")
    if job_id in JOB_STAND_INS:
        assert case.path_parameters is not None
        case.path_parameters["job_id"] = API.job_ids[JOB_STAND_INS[job_id]]
    case.call_and_validate(checks=CHECKS)
