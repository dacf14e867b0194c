"""Reads, job submissions and errors through the ASGI app (ingest goes through the facade
until the streaming ingest endpoint lands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from tests.helpers import ingest

Client = AsyncTestClient  # type: ignore[type-arg]


def problem(response: Any, status: int, detail: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("https://")
    if detail is not None:
        assert body["detail"] == detail
    return body


async def test_health_and_request_ids(client: Client) -> None:
    response = await client.get("/health", headers={"x-request-id": "abc-123"})
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["time"].endswith("Z")
    assert response.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/health", headers={"x-request-id": "bad id\t"})
    assert replaced.headers["x-request-id"] != "bad id\t"
    assert len(replaced.headers["x-request-id"]) == 36


async def test_presets(client: Client) -> None:
    listed = (await client.get("/presets")).json()["presets"]
    assert [p["id"] for p in listed][:2] == ["exam-mode", "concept-map-mode"]
    exam = (await client.get("/presets/exam-mode")).json()
    assert exam["outputProfile"]["summaryStyle"] == "concise_academic"
    assert exam["generation"]["flashcardCount"] == 25
    problem(await client.get("/presets/nope"), 404, "Preset not found.")


async def test_a_processed_lecture_through_every_read(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip, auto_process=True)
    lecture = (await client.get("/lectures/lec-1")).json()
    assert lecture["courseId"] == "course-1" and lecture["status"] == "completed"
    assert lecture["audio"]["path"] == "lectures/lec-1/audio.wav"
    assert lecture["createdAt"].endswith("Z")

    listed = (await client.get("/lectures", params={"course_id": "course-1"})).json()
    assert [x["id"] for x in listed["lectures"]] == ["lec-1"]
    assert listed["pagination"] == {
        "limit": 50,
        "offset": 0,
        "count": 1,
        "total": 1,
        "hasMore": False,
        "nextOffset": None,
        "prevOffset": None,
    }
    empty = (await client.get("/lectures", params={"course_id": "unknown"})).json()
    assert empty["lectures"] == [] and empty["pagination"]["total"] == 0

    transcript = (
        await client.get("/lectures/lec-1/transcript", params={"segment_limit": 2})
    ).json()
    assert transcript["segmentCount"] == 2 < transcript["totalSegmentCount"]
    assert transcript["engine"] == {"provider": "scripted", "model": "scripted"}
    no_text = (
        await client.get("/lectures/lec-1/transcript", params={"include_text": "false"})
    ).json()
    assert no_text["text"] == ""

    progress = (await client.get("/lectures/lec-1/progress")).json()
    assert (
        progress["overallStatus"],
        progress["progressPercent"],
        progress["stageCount"],
        progress["currentStage"],
    ) == ("completed", 100, 3, "completed")
    assert progress["links"]["transcript"] == "/lectures/lec-1/transcript"
    assert set(progress["stages"]) == {"transcription", "generation", "export"}

    summary = (await client.get("/lectures/lec-1/summary")).json()
    assert summary["artifactCount"] == 5 and summary["exportCount"] == 7
    assert summary["links"]["exports"]["markdown"] == "/exports/lec-1/markdown"

    artifacts = (await client.get("/lectures/lec-1/artifacts")).json()
    assert set(artifacts["artifacts"]) == {
        "summary",
        "outline",
        "key-terms",
        "flashcards",
        "exam-questions",
    }
    assert artifacts["artifacts"]["summary"]["artifactType"] == "summary"
    assert artifacts["pagination"]["total"] == 5
    one = (await client.get("/lectures/lec-1/artifacts/flashcards")).json()
    assert one["cards"] and one["lectureId"] == "lec-1"
    problem(await client.get("/lectures/lec-1/artifacts/poems"), 404)

    jobs = (await client.get("/lectures/lec-1/jobs")).json()
    assert [j["jobType"] for j in jobs["jobs"]] == ["export", "generation", "transcription"]
    job = (await client.get(f"/jobs/{jobs['jobs'][0]['id']}")).json()
    assert job["status"] == "completed" and job["progress"] == 1.0

    download = await client.get("/exports/lec-1/markdown")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="lec-1.md"'
    assert download.headers["content-type"] == "text/markdown; charset=utf-8"
    assert download.text.startswith("# The water cycle")
    problem(await client.get("/exports/lec-1/docx"), 404, "Export not found.")

    integrity = (
        await client.get("/lectures/lec-1/integrity", params={"verify": "checksum"})
    ).json()
    assert integrity["status"] == "ok" and integrity["missingCount"] == 0

    courses = (await client.get("/courses")).json()
    assert courses["courses"][0]["lectureCount"] == 1
    course_progress = (await client.get("/courses/course-1/progress")).json()
    assert course_progress["overallStatus"] == "completed"
    assert course_progress["lectures"][0]["title"] == "The water cycle"
    brief = (
        await client.get("/courses/course-1/progress", params={"include_lectures": "false"})
    ).json()
    assert "lectures" not in brief
    threads = (await client.get("/courses/course-1/threads")).json()
    assert threads["courseId"] == "course-1" and threads["threads"]
    for thread in threads["threads"]:
        assert thread["lectureRefs"] == ["lec-1"] and thread["status"] in (
            "foundational",
            "advanced",
        )
        assert [e["changeType"] for e in thread["evolution"]] == ["introduced"]


async def test_job_submissions_deduplicate_and_check_their_inputs(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip)
    problem(await client.post("/lectures/lec-1/generate"), 409, "Transcript not ready.")
    problem(await client.post("/lectures/lec-1/export"), 409, "Artifacts not ready.")
    accepted = await client.post("/lectures/lec-1/transcribe", json={"language": "en"})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["jobType"] == "transcription"
    generated = await client.post("/lectures/lec-1/generate", json={"course_id": "course-1"})
    assert generated.status_code == 202
    assert generated.json()["presetId"] == "exam-mode"
    problem(
        await client.post("/lectures/lec-1/generate", json={"preset_id": "beginner-mode"}),
        400,
        "preset_id does not match lecture.",
    )
    problem(await client.post("/lectures/lec-1/transcribe", content=b"{not json"), 422)
    problem(await client.post("/lectures/lec-1/transcribe", json={"colour": "red"}), 422)
    problem(await client.post("/lectures/nope/transcribe"), 404, "Lecture not found.")


async def test_validation_and_identifier_errors(client: Client) -> None:
    problem(await client.get("/lectures", params={"limit": 0}), 422)
    problem(await client.get("/lectures", params={"limit": 501}), 422)
    problem(await client.get("/lectures", params={"offset": -1}), 422)
    problem(await client.get("/lectures", params={"limit": "ten"}), 422)
    problem(await client.get("/lectures", params={"status": "sleeping"}), 422)
    problem(await client.get("/lectures", params={"preset_id": "nope"}), 400, "Invalid preset_id.")
    problem(await client.get("/lectures/*"), 400, "Invalid lecture_id.")
    problem(await client.get("/lectures/" + "x" * 129), 400)
    problem(await client.get("/courses/a%0A"), 400)
    problem(await client.get("/jobs/failed", params={"job_type": "dance"}), 422)
    problem(await client.get("/no/such/route"), 404)
    problem(await client.get("/lectures/missing"), 404, "Lecture not found.")
    problem(await client.get("/courses/missing/lectures"), 404, "Course not found.")


async def test_delete_lecture_and_course(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip, lecture_id="a", auto_process=True)
    await ingest(pegasus, speech_clip, lecture_id="b")
    deleted = (await client.delete("/lectures/a")).json()
    assert deleted["lectureId"] == "a" and deleted["deleted"]["jobs"] == 3
    assert deleted["deleted"]["storagePaths"] > 0
    course = (await client.delete("/courses/course-1", params={"purge_storage": "true"})).json()
    assert (course["courseDeleted"], course["lecturesDeleted"]) == (True, 1)
    problem(await client.get("/courses/course-1"), 404, "Course not found.")
    failed = (await client.get("/jobs/failed")).json()
    assert failed["filters"] == {"lectureId": None, "jobType": None, "status": "failed"}
