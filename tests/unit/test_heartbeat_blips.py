"""A database blip during a heartbeat does not end the heartbeats of a running job."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.sql.jobs import SqlJobRepository
from pegasus_core.errors import UnavailableError
from pegasus_core.jobs import JobStatus, Lease
from pegasus_core.pagination import PageRequest
from pegasus_core.transcripts import ChunkSpan
from tests.conftest import LECTURE_TEXT, memory_settings
from tests.helpers import ingest


async def test_heartbeats_go_on_after_one_fails(
    tmp_path: Path, speech_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beats: list[str] = []
    real_heartbeat = SqlJobRepository.heartbeat

    async def blip_once(
        self: SqlJobRepository, lease: Lease, *, now: datetime, progress: float | None
    ) -> bool:
        beats.append("failed" if not beats else "ok")
        if len(beats) == 1:
            raise UnavailableError("The database is unavailable.")
        return await real_heartbeat(self, lease, now=now, progress=progress)

    monkeypatch.setattr(SqlJobRepository, "heartbeat", blip_once)
    engine = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=4.0, max_concurrency=1)
    release = asyncio.Event()

    async def hold(chunk: ChunkSpan) -> None:
        await release.wait()

    engine.before_chunk = hold
    settings = memory_settings(tmp_path, job_queue="in_process", job_heartbeat_sec=1)
    async with open_pegasus(settings, transcriber=engine, sweep=False) as app:
        await ingest(app, speech_clip, auto_process=True)
        async with asyncio.timeout(30):  # heartbeats that stopped never get here
            while beats.count("ok") < 2:
                await asyncio.sleep(0.05)
        release.set()
        while app.ports.queue.busy:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        jobs = (await app.list_jobs(PageRequest(), lecture_id="lec-1")).items
    assert beats[0] == "failed"
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.COMPLETED, 1)}
