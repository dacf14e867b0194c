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
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import SQLITE_FILE, open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app
from tests.api.test_hostile_input import snapshot
from tests.conftest import memory_settings
from tests.helpers import ingest, postgres_rows, sqlite_rows
from tests.hostile_corpus import (
    AUDIO_CASES,
    NEWLINE_IDS,
    OFFSETS,
    PAGINATION,
    SQL_METACHARACTERS,
    WILDCARD_IDS,
    AudioCase,
    build_audio_corpus,
)

Client = AsyncTestClient  # type: ignore[type-arg]
LECTURE, COURSE, JOB_FILTERS = "lec-1", "course-1", "/jobs/failed"
FORM = {"course_id": COURSE, "preset_id": "exam-mode", "title": "Hostile"}
JSON = {"content-type": "application/json"}
REFUSED = [case for case in AUDIO_CASES if case.status != 201]
ACCEPTED = [case for case in AUDIO_CASES if case.status == 201]
SLUGS = {
    400: "invalid-request",
    413: "too-large",
    415: "unsupported-audio",
    422: "validation-error",
}

# Every list filter that takes an identifier, and every one that takes an enum value.
ID_FILTERS = [
    ("/lectures", "course_id"),
    ("/lectures", "preset_id"),
    (f"/courses/{COURSE}/lectures", "preset_id"),
    (JOB_FILTERS, "lecture_id"),
    (f"/lectures/{LECTURE}/artifacts", "preset_id"),
]
ENUM_FILTERS = [
    ("/lectures", "status"),
    (f"/courses/{COURSE}/lectures", "status"),
    (f"/lectures/{LECTURE}/jobs", "status"),
    (JOB_FILTERS, "job_type"),
    (f"/lectures/{LECTURE}/artifacts", "artifact_type"),
]
LISTS = [
    "/lectures",
    "/courses",
    f"/courses/{COURSE}/lectures",
    f"/courses/{COURSE}/threads",
    f"/lectures/{LECTURE}/jobs",
    JOB_FILTERS,
    f"/lectures/{LECTURE}/artifacts",
]


@dataclass(frozen=True)
class Call:
    """One hostile request and the problem it must get."""

    label: str
    method: str
    path: str
    status: int
    options: dict[str, Any]


def multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"corpus") -> dict[str, Any]:
    """A hand-made multipart body: (part headers, part body) pairs, well terminated."""
    body = b"".join(
        b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts
    )
    return {
        "content": body + b"--" + boundary + b"--\r\n",
        "headers": {"content-type": f"multipart/form-data; boundary={boundary.decode()}"},
    }


def field(name: str, value: bytes) -> tuple[bytes, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"'.encode(), value)


def form(**values: bytes) -> list[tuple[bytes, bytes]]:
    return [field(name, value) for name, value in {**_encoded(FORM), **values}.items()]


def _encoded(values: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in values.items()}


AUDIO_PART = (b'Content-Disposition: form-data; name="audio"; filename="a.wav"', b"RIFF" * 4096)
NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECT = b'{"course_id":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001


def request_corpus() -> list[Call]:
    """Every hostile request that is not an audio file."""
    generate, transcribe, ingest_path = (
        f"/lectures/{LECTURE}/generate",
        f"/lectures/{LECTURE}/transcribe",
        "/lectures/ingest",
    )
    calls = [
        # Multipart abuse: thousands of parts, huge values and headers, broken envelopes.
        Call(
            "5000 parts",
            "POST",
            ingest_path,
            413,
            multipart(*[field(f"f{i}", b"x") for i in range(5000)], AUDIO_PART),
        ),
        Call(
            "1 MiB title",
            "POST",
            ingest_path,
            413,
            multipart(*form(title=b"t" * 2**20), AUDIO_PART),
        ),
        Call(
            "1 MiB course_id",
            "POST",
            ingest_path,
            413,
            multipart(*form(course_id=b"c" * 2**20), AUDIO_PART),
        ),
        Call(
            "100 KB part header",
            "POST",
            ingest_path,
            413,
            multipart((b"X-Long: " + b"h" * 100_000, b"x"), AUDIO_PART),
        ),
        Call(
            "invalid UTF-8 title",
            "POST",
            ingest_path,
            422,
            multipart(*form(title=b"\xff\xfe\xfd"), AUDIO_PART),
        ),
        Call(
            "invalid UTF-8 course_id",
            "POST",
            ingest_path,
            422,
            multipart(*form(course_id=b"c\xc3("), AUDIO_PART),
        ),
        Call(
            "no boundary",
            "POST",
            ingest_path,
            422,
            {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
        ),
        Call("JSON to ingest", "POST", ingest_path, 422, {"content": b"{}", "headers": JSON}),
        Call(
            "body ends mid-part",
            "POST",
            ingest_path,
            422,
            {**multipart(*form()), "content": multipart(*form(), AUDIO_PART)["content"][:-40]},
        ),
        # JSON bodies: malformed, deeply nested, invalid UTF-8, wrong shapes.
        Call(
            "malformed JSON", "POST", generate, 422, {"content": b'{"course_id":', "headers": JSON}
        ),
        Call("100k-deep array", "POST", generate, 422, {"content": NESTED, "headers": JSON}),
        Call("50k-deep object", "POST", generate, 422, {"content": NESTED_OBJECT, "headers": JSON}),
        Call(
            "100k-deep array to transcribe",
            "POST",
            transcribe,
            422,
            {"content": NESTED, "headers": JSON},
        ),
        Call(
            "invalid UTF-8 in JSON",
            "POST",
            generate,
            422,
            {"content": b'{"course_id":"\xff\xfe"}', "headers": JSON},
        ),
        Call(
            "invalid UTF-8 in JSON key",
            "POST",
            transcribe,
            422,
            {"content": b'{"\xffmodel":"x"}', "headers": JSON},
        ),
        Call("JSON array body", "POST", generate, 422, {"content": b"[1, 2]", "headers": JSON}),
        Call(
            "unknown JSON field",
            "POST",
            transcribe,
            422,
            {"content": b'{"provider":"offline","x":1}', "headers": JSON},
        ),
        # Idempotency-Key: oversized or outside its alphabet.
        Call(
            "256-char Idempotency-Key",
            "POST",
            f"/lectures/{LECTURE}/export",
            400,
            {"headers": {"Idempotency-Key": "k" * 256}},
        ),
        Call(
            "Idempotency-Key with a space",
            "POST",
            f"/lectures/{LECTURE}/export",
            400,
            {"headers": {"Idempotency-Key": "a b"}},
        ),
        # Invalid UTF-8 in path and query identifiers.
        Call("invalid UTF-8 path id", "GET", "/lectures/%FF%FE", 400, {}),
        Call("invalid UTF-8 query id", "GET", "/lectures?course_id=%FF%FE", 400, {}),
    ]
    for value in NEWLINE_IDS:  # header and log injection through identifiers
        segment = quote(value, safe="")
        calls += [
            Call(f"newline path id {value!r}", "GET", f"/lectures/{segment}", 400, {}),
            Call(f"newline path id {value!r}", "DELETE", f"/lectures/{segment}", 400, {}),
            Call(
                f"newline filter {value!r}",
                "GET",
                "/lectures",
                400,
                {"params": {"course_id": value}},
            ),
            Call(
                f"newline form id {value!r}",
                "POST",
                ingest_path,
                400,
                multipart(*form(lecture_id=value.encode()), AUDIO_PART),
            ),
        ]
    for value in SQL_METACHARACTERS:
        for path, name in ID_FILTERS:
            calls.append(
                Call(
                    f"SQL in {name} of {path}: {value!r}",
                    "GET",
                    path,
                    400,
                    {"params": {name: value}},
                )
            )
        for path, name in ENUM_FILTERS:
            calls.append(
                Call(
                    f"SQL in {name} of {path}: {value!r}",
                    "GET",
                    path,
                    422,
                    {"params": {name: value}},
                )
            )
    for path in LISTS:
        for value in PAGINATION:
            calls.append(
                Call(f"limit={value!r} on {path}", "GET", path, 422, {"params": {"limit": value}})
            )
        for value in OFFSETS:
            calls.append(
                Call(f"offset={value!r} on {path}", "GET", path, 422, {"params": {"offset": value}})
            )
    return calls


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
