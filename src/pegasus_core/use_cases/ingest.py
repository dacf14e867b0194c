"""Ingest: stream an upload into storage, prove it is audio, record course and lecture."""

from __future__ import annotations

from collections.abc import AsyncIterable

from pegasus_core.context import Ports
from pegasus_core.errors import LectureExistsError, TooLargeError, ValidationError
from pegasus_core.ids import parse_id
from pegasus_core.jobs import Job, JobType
from pegasus_core.lectures import (
    AudioRef,
    Lecture,
    LectureStatus,
    SourceType,
    audio_key,
    lecture_prefix,
)
from pegasus_core.ports.audio_probe import HEAD_BYTES
from pegasus_core.presets import require_preset
from pegasus_core.records import Record
from pegasus_core.streams import peek
from pegasus_core.use_cases.common import dispatch
from pegasus_core.use_cases.submit import create_job, new_job

MAX_TITLE = 300


class IngestRequest(Record, frozen=True, kw_only=True):
    """The fields of an ingest, validated before any byte of audio is read."""

    course_id: str
    preset_id: str
    title: str
    lecture_id: str | None = None
    course_title: str | None = None
    duration_sec: float | None = None
    source_type: SourceType = SourceType.UPLOAD
    original_filename: str = "audio"
    auto_process: bool = False
    request_id: str | None = None


class IngestResult(Record, frozen=True, kw_only=True):
    """What an ingest created."""

    lecture: Lecture
    jobs: tuple[Job, ...]


def validate_ingest(ports: Ports, request: IngestRequest) -> str:
    """Check every field of an ingest; return the lecture id to use.

    Raises InvalidRequestError (400) for identifiers and the preset, ValidationError (422) for
    the title and the duration.
    """
    parse_id(request.course_id, field="course_id")
    lecture_id = request.lecture_id or ports.ids.new_id()
    parse_id(lecture_id, field="lecture_id")
    require_preset(request.preset_id)
    if not 1 <= len(request.title) <= MAX_TITLE:
        raise ValidationError(f"title must be 1 to {MAX_TITLE} characters.", field="title")
    if request.duration_sec is not None and request.duration_sec < 0:
        raise ValidationError("duration_sec must be >= 0.", field="duration_sec")
    return lecture_id


async def ingest_lecture(
    ports: Ports, request: IngestRequest, audio: AsyncIterable[bytes]
) -> IngestResult:
    """Store a lecture recording and, with auto_process, queue its transcription.

    - The upload is streamed to storage while hashed; past the size limit: 413, nothing kept.
    - The format is probed from the stored bytes, in place with range reads: not audio gives
      415 and nothing is kept.
    - Audio longer than the duration limit gives 413.
    - An existing lecture id gives 409 `Lecture already exists.`; a new course is created with
      course_title (an existing course's title is never changed).
    """
    lecture_id = validate_ingest(ports, request)
    async with ports.uow(read_only=True) as uow:
        if await uow.lectures.get(lecture_id) is not None:
            raise LectureExistsError(lecture_id)
    # Stored at once under the name its first bytes suggest, so that no copy follows (a move
    # in S3 is a copy of the whole object); under a neutral name when they do not tell.
    head, audio = await peek(audio, HEAD_BYTES)
    guess = ports.probe.guess_extension(head)
    staging = audio_key(lecture_id, guess) if guess else f"{lecture_prefix(lecture_id)}upload.part"
    blobs = ports.blobs
    written = [staging]
    try:
        info = await blobs.put(staging, audio, max_bytes=ports.limits.max_upload_bytes)
        probed = await ports.probe.probe_stored(
            blobs, staging, info.size_bytes, max_duration_sec=ports.limits.max_duration_sec
        )
        if probed.duration_sec > ports.limits.max_duration_sec:
            raise TooLargeError("Audio is longer than the allowed duration.")
        key = audio_key(lecture_id, probed.extension)
        if key != staging:
            written.append(key)
            await blobs.move(staging, key)
        result = await _record(
            ports,
            request,
            lecture_id,
            key,
            info.size_bytes,
            info.sha256,
            probed.content_type,
            probed.duration_sec,
        )
    except BaseException:
        for leftover in written:
            await blobs.delete(leftover)
        raise
    await dispatch(ports, result.jobs)
    return result


async def _record(
    ports: Ports,
    request: IngestRequest,
    lecture_id: str,
    key: str,
    size: int,
    sha256: str,
    content_type: str,
    duration: float,
) -> IngestResult:
    now = ports.clock.now()
    lecture = Lecture(
        id=lecture_id,
        course_id=request.course_id,
        preset_id=request.preset_id,
        title=request.title,
        status=LectureStatus.UPLOADED,
        duration_sec=round(duration, 3) if duration > 0 else request.duration_sec,
        source_type=request.source_type,
        audio=AudioRef(
            path=key,
            original_filename=request.original_filename,
            content_type=content_type,
            size_bytes=size,
            sha256=sha256,
        ),
        transcript_path=None,
        created_at=now,
        updated_at=now,
    )
    jobs: tuple[Job, ...] = ()
    async with ports.uow() as uow:
        await uow.courses.ensure(
            request.course_id, title=request.course_title or request.course_id, now=now
        )
        await uow.lectures.add(lecture)
        await uow.tombstones.clear(lecture_prefix(lecture_id))
        if request.auto_process:
            submitted = await create_job(
                ports,
                uow,
                new_job(
                    ports,
                    lecture_id=lecture_id,
                    job_type=JobType.TRANSCRIPTION,
                    params={"autoProcess": True},
                    request_id=request.request_id,
                ),
            )
            jobs = (submitted.job,)
        stored = await uow.lectures.get(lecture_id)
        await uow.commit()
    assert stored is not None
    return IngestResult(lecture=stored, jobs=jobs)
