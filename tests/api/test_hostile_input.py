"""Hostile identifiers and bad parameter values, in every slot, change nothing.

Every identifier slot (path segments, list filters, ingest form fields, and the generate body)
gets each hostile value, URL-encoded as a careful client would send it; each must answer 400
(or 404 for a `/` inside a path segment, which the server decodes before routing) as
`application/problem+json`. Other parameters with bad values answer 422. After the whole
corpus, every database row and every stored object is exactly as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_http.app import create_app
from tests.api.test_ingest import FIELDS
from tests.conftest import memory_settings
from tests.helpers import ingest

Client = AsyncTestClient  # type: ignore[type-arg]

LECTURE, COURSE = "lec-1", "course-1"
HOSTILE = {
    "dot-dot": "../x",
    "slash": "a/b",
    "star": "*",
    "129 chars": "x" * 129,
    "NUL": "nul\x00byte",
    "trailing newline": "abc\n",
}

# (method, path template); "{}" is the identifier slot.
PATH_SLOTS = [
    ("GET", "/lectures/{}"),
    ("GET", "/lectures/{}/transcript"),
    ("GET", "/lectures/{}/progress"),
    ("GET", "/lectures/{}/summary"),
    ("GET", "/lectures/{}/integrity"),
    ("GET", "/lectures/{}/jobs"),
    ("GET", "/lectures/{}/artifacts"),
    ("GET", "/lectures/{}/artifacts/summary"),
    ("DELETE", "/lectures/{}"),
    ("POST", "/lectures/{}/transcribe"),
    ("POST", "/lectures/{}/generate"),
    ("POST", "/lectures/{}/export"),
    ("GET", "/courses/{}"),
    ("GET", "/courses/{}/lectures"),
    ("GET", "/courses/{}/threads"),
    ("GET", "/courses/{}/progress"),
    ("DELETE", "/courses/{}"),
    ("GET", "/jobs/{}"),
    ("POST", "/jobs/{}/replay"),
    ("GET", "/presets/{}"),
    ("GET", "/exports/{}/markdown"),
]
# (list endpoint, identifier query parameter)
QUERY_SLOTS = [
    ("/lectures", "course_id"),
    ("/lectures", "preset_id"),
    (f"/courses/{COURSE}/lectures", "preset_id"),
    ("/jobs/failed", "lecture_id"),
    (f"/lectures/{LECTURE}/artifacts", "preset_id"),
]
FORM_SLOTS = ["course_id", "lecture_id"]
BODY_SLOTS = [(f"/lectures/{LECTURE}/generate", "course_id")]

# Non-identifier parameters with bad values, on records that exist: 422, nothing happens.
BAD_VALUES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/lectures", {"limit": "0"}),
    ("GET", "/lectures", {"limit": "-1"}),
    ("GET", "/lectures", {"limit": "501"}),
    ("GET", "/lectures", {"limit": "ten"}),
    ("GET", "/lectures", {"offset": "-1"}),
    ("GET", "/lectures", {"offset": "2147483648"}),
    ("GET", "/lectures", {"offset": "first"}),
    ("GET", "/lectures", {"status": "sleeping"}),
    ("GET", "/courses", {"limit": "0"}),
    ("GET", "/courses", {"offset": "-1"}),
    ("GET", f"/courses/{COURSE}/lectures", {"limit": "501"}),
    ("GET", f"/courses/{COURSE}/lectures", {"status": "sleeping"}),
    ("GET", f"/courses/{COURSE}/threads", {"offset": "-5"}),
    ("GET", f"/courses/{COURSE}/progress", {"include_lectures": "sometimes"}),
    ("GET", f"/lectures/{LECTURE}/jobs", {"status": "sleeping"}),
    ("GET", f"/lectures/{LECTURE}/jobs", {"limit": "many"}),
    ("GET", "/jobs/failed", {"limit": "0"}),
    ("GET", "/jobs/failed", {"job_type": "dance"}),
    ("GET", f"/lectures/{LECTURE}/artifacts", {"artifact_type": "poems"}),
    ("GET", f"/lectures/{LECTURE}/artifacts", {"offset": "-1"}),
    ("GET", f"/lectures/{LECTURE}/transcript", {"include_text": "maybe"}),
    ("GET", f"/lectures/{LECTURE}/transcript", {"segment_limit": "-1"}),
    ("GET", f"/lectures/{LECTURE}/transcript", {"segment_limit": "many"}),
    ("DELETE", f"/lectures/{LECTURE}", {"purge_storage": "perhaps"}),
    ("DELETE", f"/courses/{COURSE}", {"purge_storage": "perhaps"}),
]


@dataclass
class Findings:
    """Every answer that broke the contract, reported together."""

    problems: list[str] = field(default_factory=list)
    requests: int = 0

    def expect(self, label: str, response: Any, allowed: set[int]) -> None:
        self.requests += 1
        content_type = response.headers.get("content-type", "")
        wrong: list[str] = []
        if response.status_code not in allowed:
            wrong.append(f"status {response.status_code} not in {sorted(allowed)}")
        if not content_type.startswith("application/problem+json"):
            wrong.append(f"content-type {content_type!r}")
        else:
            body = response.json()
            if body.get("status") != response.status_code:
                wrong.append(f"body status {body.get('status')!r}")
            if not all(isinstance(body.get(key), str) for key in ("type", "title", "detail")):
                wrong.append(f"not a problem document: {body!r}")
        if wrong:
            self.problems.append(f"{label}: {'; '.join(wrong)}; body {response.text[:200]!r}")


async def snapshot(pegasus: Pegasus) -> dict[str, Any]:
    """Every row the corpus could touch, and every stored object."""
    page = PageRequest(limit=500)
    async with pegasus.ports.uow(read_only=True) as uow:
        lectures = (await uow.lectures.list(page)).items
        artifacts = []
        exports = []
        for lecture in lectures:
            artifacts.extend((await uow.artifacts.list(page, lecture_id=lecture.id)).items)
            exports.extend(await uow.artifacts.list_exports(lecture.id))
        return {
            "lectures": list(lectures),
            "courses": list((await uow.courses.list(page)).items),
            "jobs": list((await uow.jobs.list(page)).items),
            "artifacts": artifacts,
            "exports": exports,
            "blobs": sorted(await pegasus.ports.blobs.list("")),
        }


@pytest.fixture
async def seeded(
    tmp_path: Path, scripted_transcriber: ScriptedTranscriber, speech_clip: Path
) -> AsyncIterator[tuple[Pegasus, Client]]:
    settings = memory_settings(tmp_path, write_rate_limit_max_requests=100000)
    async with open_pegasus(settings, transcriber=scripted_transcriber) as pegasus:
        await ingest(pegasus, speech_clip, lecture_id=LECTURE, course_id=COURSE, auto_process=True)
        await ingest(pegasus, speech_clip, lecture_id="lec-2", course_id=COURSE)
        async with AsyncTestClient(app=create_app(pegasus=pegasus, settings=settings)) as client:
            yield pegasus, client


async def test_hostile_identifiers_and_bad_values_are_refused_and_change_nothing(
    seeded: tuple[Pegasus, Client], speech_clip: Path
) -> None:
    pegasus, client = seeded
    before = await snapshot(pegasus)
    assert len(before["lectures"]) == 2 and len(before["jobs"]) == 3
    assert before["artifacts"] and before["exports"] and before["blobs"]
    findings = Findings()

    for name, value in HOSTILE.items():
        segment = quote(value, safe="")
        in_path = {400, 404} if "/" in value else {400}
        for method, template in PATH_SLOTS:
            url = template.format(segment)
            response = await client.request(method, url)
            findings.expect(f"{method} {url} ({name})", response, in_path)

        for path, parameter in QUERY_SLOTS:
            response = await client.get(path, params={parameter: value})
            findings.expect(f"GET {path}?{parameter}= ({name})", response, {400})

        for slot in FORM_SLOTS:
            with speech_clip.open("rb") as audio:
                response = await client.post(
                    "/lectures/ingest",
                    data={**FIELDS, "course_id": COURSE, slot: value},
                    files={"audio": ("talk.wav", audio, "audio/wav")},
                )
            findings.expect(f"POST /lectures/ingest form {slot} ({name})", response, {400})

        for path, body_field in BODY_SLOTS:
            response = await client.post(path, json={body_field: value})
            findings.expect(f"POST {path} body {body_field} ({name})", response, {400})

    for method, path, params in BAD_VALUES:
        response = await client.request(method, path, params=params)
        findings.expect(f"{method} {path} {params}", response, {422})

    after = await snapshot(pegasus)
    changed = [key for key in before if after[key] != before[key]]
    assert findings.requests == len(HOSTILE) * (
        len(PATH_SLOTS) + len(QUERY_SLOTS) + len(FORM_SLOTS) + len(BODY_SLOTS)
    ) + len(BAD_VALUES)
    report = list(findings.problems)
    report += [f"{key} changed: {before[key]!r} -> {after[key]!r}" for key in changed]
    assert not report, "\n".join(report)
