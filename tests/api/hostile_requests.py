"""The hostile HTTP requests of the bad-input corpus, each with the status it must get.

Plain data for tests/api/test_bad_input_corpus.py: multipart abuse, malformed, deep and
non-UTF-8 JSON, header and log injection through identifiers, SQL metacharacters in every
filter, bad Idempotency-Keys and pagination values on every list endpoint. The audio files
of the corpus are in tests/hostile_corpus.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tests.hostile_corpus import NEWLINE_IDS, OFFSETS, PAGINATION, SQL_METACHARACTERS

LECTURE, COURSE, JOB_FILTERS = "lec-1", "course-1", "/jobs/failed"
FORM = {"course_id": COURSE, "preset_id": "exam-mode", "title": "Hostile"}
JSON = {"content-type": "application/json"}
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
