"""The bad-input corpus (tests/hostile_corpus.py) through the HTTP API.

Every refused case asserts its status, its problem type and that the database rows and the
files in the storage directory (hidden partial files included) are exactly as before. Damaged
files that still decode are accepted and transcribed as far as they decode.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import SQLITE_FILE, open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app
from tests.api.hostile_requests import COURSE, FORM, ID_FILTERS, LECTURE, request_corpus
from tests.api.test_hostile_input import snapshot
from tests.conftest import memory_settings
from tests.helpers import ingest, postgres_rows, sqlite_rows
from tests.hostile_corpus import AUDIO_CASES, WILDCARD_IDS, AudioCase, build_audio_corpus

Client = AsyncTestClient  # type: ignore[type-arg]
REFUSED = [case for case in AUDIO_CASES if case.status != 201]
ACCEPTED = [case for case in AUDIO_CASES if case.status == 201]
SLUGS = {
    400: "invalid-request",
    413: "too-large",
    415: "unsupported-audio",
    422: "validation-error",
}


def problem_findings(
    label: str, response: Any, status: int, detail: str | None = None
) -> list[str]:
    """What is wrong with an answer that must be the given problem."""
    wrong = []
    if response.status_code != status:
        wrong.append(f"status {response.status_code}, expected {status}")
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return [*wrong, f"not problem+json: {response.text[:120]!r}"]
    body = response.json()
    if not str(body.get("type", "")).endswith("/" + SLUGS.get(status, "?")):
        wrong.append(f"type {body.get('type')!r}")
    if detail is not None and body.get("detail") != detail:
        wrong.append(f"detail {body.get('detail')!r}")
    return [f"{label}: {w}" for w in wrong]


def stored_files(root: Path) -> list[str]:
    """Every file under the storage directory, hidden partial files included."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_audio_corpus(tmp_path_factory.mktemp("corpus"))


@dataclass
class Api:
    """The API under test, its facade, its storage directory and its database."""

    pegasus: Pegasus
    client: Client
    storage: Path
    rows: Callable[[], dict[str, list[tuple[object, ...]]]]


Backend = tuple[dict[str, object], Callable[[], dict[str, list[tuple[object, ...]]]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each SQL repository: its settings, and a reader of every row it holds."""
    if request.param == "postgres":
        conninfo = request.getfixturevalue("postgres_conninfo")
        overrides: dict[str, object] = {"repository": "postgres", "database_url": conninfo}
        return overrides, functools.partial(postgres_rows, conninfo)
    database = tmp_path / "storage" / SQLITE_FILE
    return {"repository": "sqlite"}, functools.partial(sqlite_rows, database)


@pytest.fixture
async def api(
    backend: Backend, tmp_path: Path, scripted_transcriber: ScriptedTranscriber, speech_clip: Path
) -> AsyncIterator[Api]:
    """Each SQL repository, local storage (so partial files would show), a processed lecture."""
    overrides, rows = backend
    settings = memory_settings(
        tmp_path,
        blob_store="local",
        generator="scripted",
        write_rate_limit_max_requests=100_000,
        **overrides,
    )
    async with open_pegasus(settings, transcriber=scripted_transcriber) as pegasus:
        await ingest(pegasus, speech_clip, lecture_id=LECTURE, course_id=COURSE, auto_process=True)
        async with AsyncTestClient(app=create_app(pegasus=pegasus, settings=settings)) as client:
            yield Api(pegasus=pegasus, client=client, storage=settings.storage_path, rows=rows)


async def state(api: Api) -> dict[str, Any]:
    """The records through the repositories, every row of every table, every stored file."""
    return {
        **await snapshot(api.pegasus),
        "rows": api.rows(),
        "files": [f for f in stored_files(api.storage) if not f.startswith(SQLITE_FILE)],
    }


async def unchanged(api: Api, before: dict[str, Any]) -> list[str]:
    after = await state(api)
    return [
        f"{key} changed: {before[key]!r} -> {after[key]!r}"
        for key in before
        if after[key] != before[key]
    ]


async def upload(client: Client, case: AudioCase, path: Path, lecture_id: str) -> Any:
    with path.open("rb") as audio:
        return await client.post(
            "/lectures/ingest",
            data={**FORM, "lecture_id": lecture_id, "auto_process": "true"},
            files={"audio": (case.filename, audio, "audio/mpeg")},
        )


async def test_refused_files_get_their_problem_and_leave_nothing(
    api: Api, corpus_files: dict[str, Path]
) -> None:
    client = api.client
    before = await state(api)
    assert before["rows"]["jobs"] and before["rows"]["job_attempts"] and before["files"]
    report: list[str] = []
    for index, case in enumerate(REFUSED):
        response = await upload(client, case, corpus_files[case.name], f"refused-{index}")
        report += problem_findings(case.name, response, case.status, case.detail)
    report += await unchanged(api, before)
    assert not report, "\n".join(report)


async def test_damaged_files_that_decode_are_transcribed_as_far_as_they_decode(
    api: Api, corpus_files: dict[str, Path]
) -> None:
    client = api.client
    report: list[str] = []
    for index, case in enumerate(ACCEPTED):
        lecture_id = f"damaged-{index}"
        response = await upload(client, case, corpus_files[case.name], lecture_id)
        if response.status_code != 201:
            report.append(f"{case.name}: {response.status_code} {response.text[:200]}")
            continue
        progress = (await client.get(f"/lectures/{lecture_id}/progress")).json()
        transcription = progress["stages"]["transcription"]
        if case.job_error is not None:
            if (transcription["status"], transcription["error"]) != ("failed", case.job_error):
                report.append(f"{case.name}: transcription {transcription}")
            transcript = await client.get(f"/lectures/{lecture_id}/transcript")
            if transcript.status_code != 404:
                report.append(f"{case.name}: a transcript exists")
            continue
        assert case.decodes_sec is not None
        low, high = case.decodes_sec
        lecture = (await client.get(f"/lectures/{lecture_id}")).json()
        segments = (await client.get(f"/lectures/{lecture_id}/transcript")).json()["segments"]
        if progress["overallStatus"] != "completed":
            report.append(f"{case.name}: {progress['overallStatus']} {transcription}")
        elif not low <= lecture["durationSec"] <= high:
            report.append(f"{case.name}: decoded {lecture['durationSec']} s, not in {low}..{high}")
        elif not segments or segments[-1]["endSec"] > lecture["durationSec"] + 0.01:
            report.append(f"{case.name}: segments beyond the decoded audio: {segments[-1:]}")
    assert not report, "\n".join(report)


async def test_hostile_requests_get_their_problem_and_change_nothing(
    api: Api,
) -> None:
    client = api.client
    before = await state(api)
    assert before["rows"]["jobs"] and before["rows"]["job_attempts"] and before["files"]
    calls = request_corpus()
    report: list[str] = []
    for call in calls:
        response = await client.request(call.method, call.path, **call.options)
        report += problem_findings(f"{call.method} {call.path} {call.label}", response, call.status)
    report += await unchanged(api, before)
    assert len(calls) > 150  # the corpus really ran
    assert not report, "\n".join(report)


async def test_valid_ids_holding_like_wildcards_match_only_themselves(
    api: Api,
) -> None:
    client = api.client
    assert (await client.get("/lectures", params={"course_id": COURSE})).json()["lectures"]
    for value in WILDCARD_IDS:
        for path, name in ID_FILTERS:
            response = await client.get(path, params={name: value})
            assert response.status_code in (200, 400), (path, name, value, response.text)
            if response.status_code == 200:  # an unknown id matches nothing, not course-1
                assert response.json()["pagination"]["total"] == 0, (path, name, value)


async def test_request_ids_outside_the_pattern_are_replaced_and_never_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    client = api.client
    caplog.set_level(logging.DEBUG)
    for sent in (b"r" * 129, b"a b", "é".encode(), b"abc\nforged", b"abc\r\nforged: 1", b""):
        response = await client.get("/lectures/%0Aforged", headers={"x-request-id": sent})
        returned = response.headers["x-request-id"]
        assert len(returned) == 36 and returned.count("-") == 4, (sent, returned)  # a UUID
    echoed = await client.get("/health", headers={"x-request-id": "client:id-1.2_3"})
    assert echoed.headers["x-request-id"] == "client:id-1.2_3"
    assert not [
        r for r in caplog.records if "\nforged" in r.getMessage() or "r" * 129 in r.getMessage()
    ]
