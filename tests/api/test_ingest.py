"""POST /lectures/ingest through the ASGI app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from tests.api.test_read_endpoints import problem

Client = AsyncTestClient  # type: ignore[type-arg]

FIELDS = {"course_id": "bio", "preset_id": "exam-mode", "title": "Energy"}


async def post_ingest(client: Client, clip: Path, **fields: Any) -> Any:
    data = {**FIELDS, **fields}
    with clip.open("rb") as handle:
        return await client.post(
            "/lectures/ingest", data=data, files={"audio": ("talk.wav", handle, "audio/wav")}
        )


async def test_ingest_stores_the_audio_and_answers_201(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    response = await post_ingest(
        client, speech_clip, lecture_id="lec-9", course_title="Biology", duration_sec="3"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["lectureId"], body["courseId"], body["audioPath"]) == (
        "lec-9",
        "bio",
        "lectures/lec-9/audio.wav",
    )
    assert body["sizeBytes"] == speech_clip.stat().st_size and len(body["sha256"]) == 64
    assert abs(body["durationSec"] - 12.0) < 0.1  # the probed duration wins
    assert body["jobs"] == [] and body["lecture"]["status"] == "uploaded"
    assert body["lecture"]["audio"]["originalFilename"] == "talk.wav"
    course = (await client.get("/courses/bio")).json()
    assert course["title"] == "Biology"
    assert await pegasus.ports.blobs.list("lectures/lec-9/") == ["lectures/lec-9/audio.wav"]


async def test_auto_process_creates_the_transcription_job(
    client: Client, speech_clip: Path
) -> None:
    response = await post_ingest(client, speech_clip, lecture_id="auto", auto_process="true")
    assert response.status_code == 201, response.text
    jobs = response.json()["jobs"]
    assert [j["jobType"] for j in jobs] == ["transcription"]
    progress = (await client.get("/lectures/auto/progress")).json()
    assert progress["overallStatus"] == "completed"  # the inline queue ran every stage


async def test_ingest_errors_leave_nothing_behind(
    client: Client, pegasus: Pegasus, speech_clip: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.mp3"
    fake.write_bytes(b"not audio " * 500)
    problem(await post_ingest(client, fake), 415, "Unsupported audio format.")
    problem(await post_ingest(client, speech_clip, lecture_id="../x"), 400, "Invalid lecture_id.")
    problem(await post_ingest(client, speech_clip, course_id="a/b"), 400, "Invalid course_id.")
    problem(await post_ingest(client, speech_clip, preset_id="nope"), 400, "Invalid preset_id.")
    problem(await post_ingest(client, speech_clip, title="x" * 301), 422)
    problem(await post_ingest(client, speech_clip, source_type="stolen"), 422)
    problem(await post_ingest(client, speech_clip, duration_sec="-1"), 422)
    problem(await post_ingest(client, speech_clip, auto_process="maybe"), 422)
    missing = await client.post(
        "/lectures/ingest",
        data={"course_id": "bio"},
        files={"audio": ("a.wav", b"RIFF", "audio/wav")},
    )
    problem(missing, 422, "Missing form field: preset_id, title.")
    no_file = await client.post(
        "/lectures/ingest", data=FIELDS, files={"other": ("a.txt", b"x", "text/plain")}
    )
    problem(no_file, 422, "Missing file part: audio.")
    problem(await client.post("/lectures/ingest", json=FIELDS), 422)
    assert await pegasus.ports.blobs.list("") == []
    assert (await client.get("/lectures")).json()["pagination"]["total"] == 0

    assert (await post_ingest(client, speech_clip, lecture_id="twice")).status_code == 201
    problem(
        await post_ingest(client, speech_clip, lecture_id="twice"), 409, "Lecture already exists."
    )
    assert await pegasus.ports.blobs.list("") == ["lectures/twice/audio.wav"]


async def test_an_upload_over_the_limit_is_413_and_nothing_is_kept(
    pegasus: Pegasus, speech_clip: Path, tmp_path: Path
) -> None:
    from pegasus_adapters.bootstrap import open_pegasus
    from pegasus_http.app import create_app
    from tests.conftest import memory_settings

    async with (
        open_pegasus(memory_settings(tmp_path, max_audio_upload_mb=1)) as small,
        AsyncTestClient(app=create_app(pegasus=small)) as client,
    ):
        big = tmp_path / "big.wav"
        big.write_bytes(speech_clip.read_bytes() * 4)  # ~1.5 MiB
        response = await post_ingest(client, big)
        problem(response, 413)
        assert response.headers["connection"] == "close"
        assert await small.ports.blobs.list("") == []
