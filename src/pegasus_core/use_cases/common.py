"""Steps several use cases share: loading, status refresh, dispatch and job events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from pegasus_core.context import Ports
from pegasus_core.errors import LectureNotFoundError, UnavailableError
from pegasus_core.jobs import Job
from pegasus_core.lectures import Lecture, LectureProgress
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.progress import lecture_status, snapshot

log = logging.getLogger("pegasus.jobs")


async def require_lecture(uow: UnitOfWork, lecture_id: str) -> Lecture:
    """Return the lecture or raise LectureNotFoundError."""
    lecture = await uow.lectures.get(lecture_id)
    if lecture is None:
        raise LectureNotFoundError(lecture_id)
    return lecture


async def refresh_status(ports: Ports, uow: UnitOfWork, lecture_id: str) -> None:
    """Store the lecture's status, overall status and progress derived from its jobs.

    Runs inside the caller's transaction, with every job transition and progress write, so
    course roll-ups can aggregate lecture rows without reading jobs.
    """
    await refresh_statuses(ports, uow, [lecture_id])


async def refresh_statuses(ports: Ports, uow: UnitOfWork, lecture_ids: Iterable[str]) -> None:
    """refresh_status for several lectures, in two statements whatever their number."""
    latest = await uow.jobs.latest_by_stage(list(dict.fromkeys(lecture_ids)))
    progress = []
    for lecture_id, stages in latest.items():
        snap = snapshot(stages)
        progress.append(
            LectureProgress(
                lecture_id=lecture_id,
                status=lecture_status(stages).value,
                overall_status=snap.overall_status,
                progress_percent=snap.progress_percent,
            )
        )
    await uow.lectures.set_progress(progress, now=ports.clock.now())


def job_event(job: Job, *, status: str, attempt: int | None = None, **extra: object) -> None:
    """Log one structured event for a job transition."""
    log.info(
        "job %s %s",
        job.job_type.value,
        status,
        extra={
            "job_id": job.id,
            "lecture_id": job.lecture_id,
            "job_type": job.job_type.value,
            "status": status,
            "attempt": job.attempts if attempt is None else attempt,
            "request_id": job.request_id,
            **extra,
        },
    )


async def dispatch(ports: Ports, jobs: Iterable[Job], *, urgent: bool = False) -> None:
    """Hand committed queued jobs to the queue and record when (in one transaction).

    The jobs are handed over together, in order: a queue that batches its sends (Dramatiq)
    sends them in one go, so a sweep that dispatches a hundred jobs does not make its next
    take-back wait behind a hundred round trips. A queue that is down leaves the job queued
    and undispatched: the sweep dispatches it later, so the write that created it still
    succeeds.
    """
    jobs = list(jobs)
    outcomes = await asyncio.gather(
        *(ports.queue.dispatch(job.id, urgent=urgent) for job in jobs), return_exceptions=True
    )
    dispatched = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, UnavailableError):
            # Expected from a queue that never dispatches (the CLI without --wait).
            level = logging.DEBUG if ports.queue.kind == "deferred" else logging.WARNING
            log.log(
                level,
                "dispatch of job %s deferred: %s",
                job.id,
                outcome,
                extra={"job_id": job.id, "lecture_id": job.lecture_id},
            )
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            dispatched.append(job)
    if not dispatched:
        return
    async with ports.uow() as uow:
        await uow.jobs.mark_dispatched(dispatched, now=ports.clock.now())
        await uow.commit()
