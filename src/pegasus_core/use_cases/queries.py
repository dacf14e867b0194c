"""Read-only use cases: records, lists, transcripts and artifacts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from enum import StrEnum
from typing import TypeVar

import msgspec

from pegasus_core.artifacts import (
    EXPORT_FORMATS,
    AnyArtifact,
    ArtifactRecord,
    ArtifactType,
    ExportRecord,
    ExportType,
)
from pegasus_core.context import Ports
from pegasus_core.errors import (
    ArtifactNotFoundError,
    CourseNotFoundError,
    ExportNotFoundError,
    JobNotFoundError,
    TranscriptNotFoundError,
    ValidationError,
)
from pegasus_core.ids import parse_id
from pegasus_core.jobs import Job, JobStatus, JobType
from pegasus_core.lectures import Course, Lecture, LectureStatus
from pegasus_core.pagination import MAX_LIMIT, Page, PageRequest
from pegasus_core.ports.blob_store import read_all
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.presets import require_preset
from pegasus_core.threads import Thread
from pegasus_core.transcripts import Transcript
from pegasus_core.use_cases.common import require_lecture

E = TypeVar("E", bound=StrEnum)


def parse_enum(enum: type[E], value: str | None, *, field: str) -> E | None:
    """Return the enum member named by value (None stays None); 422 for anything else."""
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationError(f"{field} must be one of: {allowed}.", field=field) from None


async def require_course(uow: UnitOfWork, course_id: str) -> Course:
    """Return the course or raise CourseNotFoundError."""
    course = await uow.courses.get(course_id)
    if course is None:
        raise CourseNotFoundError(course_id)
    return course


async def require_course_exists(uow: UnitOfWork, course_id: str) -> None:
    """Raise CourseNotFoundError unless the course exists (without counting its lectures)."""
    if not await uow.courses.exists(course_id):
        raise CourseNotFoundError(course_id)


async def get_lecture(ports: Ports, lecture_id: str) -> Lecture:
    """Return a lecture; 404 `Lecture not found.`."""
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        return await require_lecture(uow, lecture_id)


async def list_lectures(
    ports: Ports,
    page: PageRequest,
    *,
    course_id: str | None = None,
    status: str | None = None,
    preset_id: str | None = None,
) -> Page[Lecture]:
    """List lectures, newest first; an unknown course gives an empty page."""
    if course_id is not None:
        parse_id(course_id, field="course_id")
    if preset_id is not None:
        parse_id(preset_id, field="preset_id")
        require_preset(preset_id)
    status_filter = parse_enum(LectureStatus, status, field="status")
    async with ports.uow(read_only=True) as uow:
        return await uow.lectures.list(
            page, course_id=course_id, status=status_filter, preset_id=preset_id
        )


async def get_course(ports: Ports, course_id: str) -> Course:
    """Return a course; 404 `Course not found.`."""
    parse_id(course_id, field="course_id")
    async with ports.uow(read_only=True) as uow:
        return await require_course(uow, course_id)


async def list_courses(ports: Ports, page: PageRequest) -> Page[Course]:
    """List courses, newest first."""
    async with ports.uow(read_only=True) as uow:
        return await uow.courses.list(page)


async def list_threads(ports: Ports, course_id: str, page: PageRequest) -> Page[Thread]:
    """List a course's threads; 404 if the course does not exist."""
    parse_id(course_id, field="course_id")
    async with ports.uow(read_only=True) as uow:
        await require_course_exists(uow, course_id)
        return await uow.threads.list(page, course_id=course_id)


async def get_job(ports: Ports, job_id: str) -> Job:
    """Return a job; 404 `Job not found.`."""
    parse_id(job_id, field="job_id")
    async with ports.uow(read_only=True) as uow:
        job = await uow.jobs.get(job_id)
    if job is None:
        raise JobNotFoundError(job_id)
    return job


async def list_jobs(
    ports: Ports,
    page: PageRequest,
    *,
    lecture_id: str | None = None,
    status: str | None = None,
    job_type: str | None = None,
) -> Page[Job]:
    """List jobs (of one lecture, which must exist, when lecture_id is given)."""
    status_filter = parse_enum(JobStatus, status, field="status")
    type_filter = parse_enum(JobType, job_type, field="job_type")
    async with ports.uow(read_only=True) as uow:
        if lecture_id is not None:
            parse_id(lecture_id, field="lecture_id")
            await require_lecture(uow, lecture_id)
        return await uow.jobs.list(
            page, lecture_id=lecture_id, status=status_filter, job_type=type_filter
        )


async def list_failed_jobs(
    ports: Ports,
    page: PageRequest,
    *,
    lecture_id: str | None = None,
    job_type: str | None = None,
) -> Page[Job]:
    """The dead-letter list: failed jobs, optionally of one lecture or stage."""
    if lecture_id is not None:
        parse_id(lecture_id, field="lecture_id")
    type_filter = parse_enum(JobType, job_type, field="job_type")
    async with ports.uow(read_only=True) as uow:
        return await uow.jobs.list(
            page, lecture_id=lecture_id, status=JobStatus.FAILED, job_type=type_filter
        )


async def get_transcript(ports: Ports, lecture_id: str) -> Transcript:
    """Return the lecture's transcript; 404 when there is none yet."""
    lecture = await get_lecture(ports, lecture_id)
    if lecture.transcript_path is None or lecture.transcript_purged_at is not None:
        raise TranscriptNotFoundError(lecture_id)
    data = await read_all(ports.blobs, lecture.transcript_path)
    return msgspec.json.decode(data, type=Transcript)


async def list_artifacts(
    ports: Ports,
    lecture_id: str,
    page: PageRequest,
    *,
    artifact_type: str | None = None,
    preset_id: str | None = None,
) -> tuple[Page[ArtifactRecord], dict[str, AnyArtifact], list[ExportRecord]]:
    """Return a page of artifact records, their documents and the lecture's exports."""
    type_filter = parse_enum(ArtifactType, artifact_type, field="artifact_type")
    if preset_id is not None:
        parse_id(preset_id, field="preset_id")
        require_preset(preset_id)
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        await require_lecture(uow, lecture_id)
        records = await uow.artifacts.list(
            page, lecture_id=lecture_id, artifact_type=type_filter, preset_id=preset_id
        )
        exports = await uow.artifacts.list_exports(lecture_id)
    documents = {}
    for record in records.items:
        if record.purged_at is None:
            data = await read_all(ports.blobs, record.storage_path)
            documents[record.artifact_type.value] = msgspec.json.decode(data, type=AnyArtifact)
    return records, documents, exports


async def artifact_inventory(
    ports: Ports, lecture_id: str
) -> tuple[list[ArtifactRecord], list[ExportRecord]]:
    """Return the lecture's artifact and export records, without reading any document."""
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        await require_lecture(uow, lecture_id)
        records = await uow.artifacts.list(PageRequest(limit=MAX_LIMIT), lecture_id=lecture_id)
        exports = await uow.artifacts.list_exports(lecture_id)
    return list(records.items), exports


async def get_artifact(ports: Ports, lecture_id: str, artifact_type: str) -> AnyArtifact:
    """Return one current artifact document; 404 for an unknown type or a missing one."""
    parse_id(lecture_id, field="lecture_id")
    try:
        kind = ArtifactType(artifact_type)
    except ValueError:
        raise ArtifactNotFoundError(lecture_id, artifact_type) from None
    async with ports.uow(read_only=True) as uow:
        await require_lecture(uow, lecture_id)
        record = await uow.artifacts.get(lecture_id, kind)
    if record is None or record.purged_at is not None:
        raise ArtifactNotFoundError(lecture_id, artifact_type)
    document: AnyArtifact = msgspec.json.decode(
        await read_all(ports.blobs, record.storage_path), type=AnyArtifact
    )
    return document


class ExportFile(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered export ready to stream."""

    record: ExportRecord
    filename: str
    content_type: str
    chunks: AsyncIterator[bytes]


PRESIGNED_URL_SEC = 15 * 60
"""How long a presigned download URL stays valid (CONTRACT.md section 9)."""


async def export_download_url(ports: Ports, lecture_id: str, export_type: str) -> str | None:
    """Return a presigned URL (valid 15 minutes) of a rendered export.

    - None when storage cannot sign URLs (local mode): the API streams the file instead.
    - 404 `Export not found.` as for open_export.
    """
    opened = await _find_export(ports, lecture_id, export_type)
    return await ports.blobs.presigned_url(
        opened.record.storage_path,
        expires_sec=PRESIGNED_URL_SEC,
        filename=opened.filename,
        content_type=opened.content_type,
    )


async def artifact_download_urls(
    ports: Ports, lecture_id: str, records: Sequence[ArtifactRecord]
) -> dict[str, str]:
    """Return a download URL for each current artifact.

    - A presigned storage URL (valid 15 minutes) where storage signs URLs (S3).
    - Otherwise the API's own `/lectures/<id>/artifacts/<type>` path.
    - Artifacts removed by retention get none.
    """
    urls = {}
    for record in records:
        if record.purged_at is not None:
            continue
        kind = record.artifact_type.value
        signed = await ports.blobs.presigned_url(
            record.storage_path,
            expires_sec=PRESIGNED_URL_SEC,
            filename=f"{lecture_id}.{kind}.json",
            content_type="application/json",
        )
        urls[kind] = signed or f"/lectures/{lecture_id}/artifacts/{kind}"
    return urls


async def open_export(ports: Ports, lecture_id: str, export_type: str) -> ExportFile:
    """Open a rendered export for streaming; 404 `Export not found.` otherwise."""
    found = await _find_export(ports, lecture_id, export_type)
    return ExportFile(
        record=found.record,
        filename=found.filename,
        content_type=found.content_type,
        chunks=ports.blobs.open(found.record.storage_path),
    )


class _FoundExport(msgspec.Struct, frozen=True, kw_only=True):
    record: ExportRecord
    filename: str
    content_type: str


async def _find_export(ports: Ports, lecture_id: str, export_type: str) -> _FoundExport:
    parse_id(lecture_id, field="lecture_id")
    try:
        kind = ExportType(export_type)
    except ValueError:
        raise ExportNotFoundError(lecture_id) from None
    async with ports.uow(read_only=True) as uow:
        record = await uow.artifacts.get_export(lecture_id, kind)
    if record is None or record.purged_at is not None:
        raise ExportNotFoundError(lecture_id)
    extension, content_type = EXPORT_FORMATS[kind]
    return _FoundExport(
        record=record, filename=f"{lecture_id}.{extension}", content_type=content_type
    )
