"""Concurrent jobs share their claim and completion transactions, each keeping its outcome."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_core.jobs import JobStatus, JobType
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.repository import UnitOfWork, UnitOfWorkFactory
from pegasus_core.use_cases import runner
from pegasus_core.use_cases.job_context import Completion, JobContext
from tests.conftest import memory_settings
from tests.helpers import ingest

JOBS = 6


class CountingUnitsOfWork:
    """A unit-of-work factory that counts the read-write units of work it hands out."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.writes = 0

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        self.writes += not read_only
        return self.inner(read_only=read_only)


async def test_concurrent_jobs_share_transactions_and_a_failed_apply_fails_only_its_job(
    tmp_path: Path, speech_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def stage(ctx: JobContext) -> Completion:
        await release.wait()  # every job is claimed before any finishes

        async def apply(uow: UnitOfWork) -> None:
            if ctx.lecture.id == "lec-3":
                raise RuntimeError("a broken stage output")
            await uow.lectures.update(ctx.lecture.id, now=ctx.lease.job.created_at, duration_sec=9)

        return Completion(result={"lecture": ctx.lecture.id}, apply=apply)

    monkeypatch.setitem(runner.STAGE_WORK, JobType.TRANSCRIPTION, stage)
    settings = memory_settings(tmp_path, job_queue="deferred")
    async with open_pegasus(settings, sweep=False) as app:
        job_ids = []
        for index in range(JOBS):
            await ingest(app, speech_clip, lecture_id=f"lec-{index}")
            job_ids.append((await app.submit_transcription(f"lec-{index}")).job.id)
        counting = CountingUnitsOfWork(app.ports.uow)
        pegasus = Pegasus(dataclasses.replace(app.ports, uow=counting))
        runs = [asyncio.ensure_future(pegasus.run_job(job_id)) for job_id in job_ids]
        # Dispatching one id twice runs it once.
        runs.append(asyncio.ensure_future(pegasus.run_job(job_ids[0])))
        async with asyncio.timeout(30):
            while counting.writes < 1:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            claims = counting.writes
            release.set()
            await asyncio.gather(*runs)
        jobs = {job.lecture_id: job for job in (await app.list_jobs(PageRequest())).items}
        lectures = {lec.id: lec for lec in (await app.list_lectures(PageRequest())).items}
        async with app.ports.uow(read_only=True) as uow:
            outcomes = {
                lid: [a.outcome for a in await uow.jobs.attempts(job.id)]
                for lid, job in jobs.items()
            }
    assert claims < JOBS  # six claims took fewer than six transactions
    failed = {lid for lid, job in jobs.items() if job.status is JobStatus.FAILED}
    assert failed == {"lec-3"}
    assert {job.status for lid, job in jobs.items() if lid != "lec-3"} == {JobStatus.COMPLETED}
    assert outcomes == {f"lec-{i}": ["failed" if i == 3 else "completed"] for i in range(JOBS)}
    assert jobs["lec-1"].result == {"lecture": "lec-1", "attempt": 1}
    # Each kept completion wrote its own records; the broken one wrote none.
    assert {lid: lec.duration_sec for lid, lec in lectures.items()}["lec-1"] == 9
    assert lectures["lec-3"].duration_sec != 9
