"""Idempotency-Key: replay of a success, 409 on reuse or while in progress, 400 on a bad key."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from tests.api.test_ingest import FIELDS
from tests.api.test_read_endpoints import problem
from tests.helpers import ingest

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_a_repeat_replays_the_first_answer_and_creates_nothing(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip)
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post(
        "/lectures/lec-1/transcribe", json={"language": "en"}, headers=headers
    )
    again = await client.post(
        "/lectures/lec-1/transcribe", json={"language": "en"}, headers=headers
    )
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    jobs = (await client.get("/lectures/lec-1/jobs")).json()["jobs"]
    assert len([j for j in jobs if j["jobType"] == "transcription"]) == 1
    problem(
        await client.post("/lectures/lec-1/transcribe", json={"language": "fr"}, headers=headers),
        409,
        "Idempotency-Key reuse with different request payload.",
    )


async def test_a_failed_request_releases_its_key(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    problem(await client.post("/lectures/lec-1/transcribe", headers=headers), 404)
    await ingest(pegasus, speech_clip)
    assert (await client.post("/lectures/lec-1/transcribe", headers=headers)).status_code == 202


async def test_bad_keys_are_refused(client: Client) -> None:
    for key in ("", "has space", "x" * 256, "semi;colon"):
        problem(
            await client.post("/lectures/x/transcribe", headers={"Idempotency-Key": key}),
            400,
            "Invalid Idempotency-Key.",
        )


async def test_concurrent_keyed_ingests_store_one_lecture(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    data = speech_clip.read_bytes()

    async def one() -> tuple[int, dict[str, object], bool]:
        response = await client.post(
            "/lectures/ingest",
            data={**FIELDS, "lecture_id": "once"},
            files={"audio": ("talk.wav", data, "audio/wav")},
            headers={"Idempotency-Key": "upload-1"},
        )
        return (
            response.status_code,
            response.json(),
            response.headers.get("idempotent-replayed") == "true",
        )

    results = await asyncio.gather(*(one() for _ in range(20)))
    created = [body for status, body, replayed in results if status == 201 and not replayed]
    replays = [body for status, body, replayed in results if status == 201 and replayed]
    busy = [body for status, body, _ in results if status == 409]
    assert len(created) == 1 and len(created) + len(replays) + len(busy) == 20
    assert all(body == created[0] for body in replays)
    assert all(
        b["detail"] == "A request with this Idempotency-Key is still in progress." for b in busy
    )
    assert (await client.get("/lectures")).json()["pagination"]["total"] == 1
    assert await pegasus.ports.blobs.list("lectures/") == ["lectures/once/audio.wav"]
    other = await client.post(
        "/lectures/ingest",
        data={**FIELDS, "lecture_id": "once"},
        files={"audio": ("talk.wav", data[:-2] + b"\0\0", "audio/wav")},
        headers={"Idempotency-Key": "upload-1"},
    )
    problem(other, 409, "Idempotency-Key reuse with different request payload.")
