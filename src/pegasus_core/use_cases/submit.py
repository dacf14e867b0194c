"""Submitting jobs: one active job per lecture and stage, replay of failed jobs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pegasus_core.context import Ports
from pegasus_core.errors import ConflictError, InvalidRequestError, JobNotFoundError
from pegasus_core.ids import parse_id
from pegasus_core.jobs import Job, JobStatus, JobType
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.records import Record
from pegasus_core.use_cases.common import dispatch, job_event, refresh_status, require_lecture


class Submitted(Record, frozen=True, kw_only=True):
    """A job accepted by a submit: new, or the active one it was deduplicated to."""

    job: Job
    deduplicated: bool


def new_job(
    ports: Ports,
    *,
    lecture_id: str,
    job_type: JobType,
    params: Mapping[str, Any],
    request_id: str | None,
    replayed_from: str | None = None,
) -> Job:
    """Build a queued job under the configured attempt budget."""
    now = ports.clock.now()
    return Job(
        id=ports.ids.new_id(),
        lecture_id=lecture_id,
        job_type=job_type,
        max_attempts=ports.policy.max_attempts,
        params=dict(params),
        request_id=request_id,
        replayed_from_job_id=replayed_from,
        created_at=now,
        updated_at=now,
    )


async def create_job(ports: Ports, uow: UnitOfWork, job: Job) -> Submitted:
    """Insert the job (or find the active one) and refresh the lecture status, uncommitted."""
    stored = await uow.jobs.add(job)
    if stored.id == job.id:
        await refresh_status(ports, uow, job.lecture_id)
        job_event(job, status="queued")
    return Submitted(job=stored, deduplicated=stored.id != job.id)


async def _submit(
    ports: Ports,
    *,
    lecture_id: str,
    job_type: JobType,
    params: Mapping[str, Any],
    request_id: str | None,
) -> Submitted:
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow() as uow:
        lecture = await require_lecture(uow, lecture_id)
        if job_type is JobType.GENERATION and lecture.transcript_path is None:
            raise ConflictError("Transcript not ready.", lectureId=lecture_id)
        if job_type is JobType.EXPORT:
            latest = await uow.jobs.latest_by_stage([lecture_id])
            generation = latest[lecture_id].get(JobType.GENERATION)
            if generation is None or generation.status is not JobStatus.COMPLETED:
                raise ConflictError("Artifacts not ready.", lectureId=lecture_id)
        submitted = await create_job(
            ports,
            uow,
            new_job(
                ports,
                lecture_id=lecture_id,
                job_type=job_type,
                params=params,
                request_id=request_id,
            ),
        )
        await uow.commit()
    if not submitted.deduplicated:
        await dispatch(ports, [submitted.job])
    return submitted


async def submit_transcription(
    ports: Ports,
    *,
    lecture_id: str,
    provider: str | None = None,
    model: str | None = None,
    language: str | None = None,
    request_id: str | None = None,
) -> Submitted:
    """Queue transcription of a lecture.

    - Deduplicated: while a transcription job is queued or running it is returned instead.
    - The offline engine is English only: another language is refused (400).
    """
    if language is not None and not ports.transcriber.supports_language(language):
        raise InvalidRequestError("Language not supported by the offline engine.", field="language")
    params = {
        k: v
        for k, v in {"provider": provider, "model": model, "language": language}.items()
        if v is not None
    }
    return await _submit(
        ports,
        lecture_id=lecture_id,
        job_type=JobType.TRANSCRIPTION,
        params=params,
        request_id=request_id,
    )


async def submit_generation(
    ports: Ports,
    *,
    lecture_id: str,
    course_id: str | None = None,
    preset_id: str | None = None,
    model: str | None = None,
    request_id: str | None = None,
) -> Submitted:
    """Queue generation of the study artifacts.

    - course_id and preset_id default from the lecture and must match it when given (400).
    - 409 `Transcript not ready.` when the lecture has no transcript.
    """
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        lecture = await require_lecture(uow, lecture_id)
    if course_id is not None and course_id != lecture.course_id:
        raise InvalidRequestError("course_id does not match lecture.", field="course_id")
    if preset_id is not None and preset_id != lecture.preset_id:
        raise InvalidRequestError("preset_id does not match lecture.", field="preset_id")
    params = {"model": model} if model else {}
    return await _submit(
        ports,
        lecture_id=lecture_id,
        job_type=JobType.GENERATION,
        params=params,
        request_id=request_id,
    )


async def submit_export(
    ports: Ports, *, lecture_id: str, request_id: str | None = None
) -> Submitted:
    """Queue rendering of every export type; 409 `Artifacts not ready.` before generation."""
    return await _submit(
        ports, lecture_id=lecture_id, job_type=JobType.EXPORT, params={}, request_id=request_id
    )


async def replay_job(ports: Ports, *, job_id: str, request_id: str | None = None) -> Submitted:
    """Queue a failed job again with its original parameters.

    - Only failed jobs (409 otherwise).
    - If the replacement of this job is still active, that replacement is returned.
    - Dedup rules apply: an active job of the same stage is returned instead.
    """
    parse_id(job_id, field="job_id")
    async with ports.uow() as uow:
        job = await uow.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        if job.status is not JobStatus.FAILED:
            raise ConflictError("Only failed jobs can be replayed.", jobId=job_id)
        replacement = await uow.jobs.find_replacement(job_id)
        if replacement is not None and replacement.is_active:
            return Submitted(job=replacement, deduplicated=True)
        lecture = await require_lecture(uow, job.lecture_id)
        del lecture  # only its existence matters
        submitted = await create_job(
            ports,
            uow,
            new_job(
                ports,
                lecture_id=job.lecture_id,
                job_type=job.job_type,
                params=job.params,
                request_id=request_id,
                replayed_from=job_id,
            ),
        )
        await uow.commit()
    if not submitted.deduplicated:
        await dispatch(ports, [submitted.job])
    return submitted
