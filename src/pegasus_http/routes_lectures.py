"""Lectures: reads, job submissions, deletion."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from pegasus_core.lectures import Lecture
from pegasus_core.pagination import DEFAULT_LIMIT, PageRequest
from pegasus_core.use_cases.deletion import LectureDeletion
from pegasus_core.use_cases.reports import IntegrityReport
from pegasus_http.bodies import optional_body
from pegasus_http.dependencies import AnyRequest, Limit, Offset, PathId, facade, request_id
from pegasus_http.docs import READ, WRITE
from pegasus_http.schemas import (
    GenerateBody,
    JobAccepted,
    JobList,
    LectureList,
    LectureProgressBody,
    LectureSummaryBody,
    TranscribeBody,
    TranscriptBody,
    lecture_links,
)

Optional = Annotated[str | None, QueryParameter(required=False)]


class LectureController(Controller):
    """Lectures and their processing."""

    path = "/lectures"
    tags = ["lectures"]

    @get("/", summary="List lectures", responses=READ)
    async def list_lectures(
        self,
        request: AnyRequest,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        course_id: Optional = None,
        status: Optional = None,
        preset_id: Optional = None,
    ) -> LectureList:
        """List lectures newest first; an unknown course gives an empty page."""
        pegasus = facade(request)
        result = await pegasus.list_lectures(
            PageRequest(limit=limit, offset=offset),
            course_id=course_id,
            status=status,
            preset_id=preset_id,
        )
        return LectureList(lectures=list(result.items), pagination=result.pagination)

    @get("/{lecture_id:str}", summary="Get a lecture", responses=READ)
    async def get_lecture(self, request: AnyRequest, lecture_id: PathId) -> Lecture:
        """Return a lecture; 404 `Lecture not found.`."""
        pegasus = facade(request)
        return await pegasus.get_lecture(lecture_id)

    @get("/{lecture_id:str}/transcript", summary="Get the transcript", responses=READ)
    async def transcript(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        include_text: FromQuery[bool] = True,
        segment_limit: Annotated[int | None, QueryParameter(ge=0, required=False)] = None,
    ) -> TranscriptBody:
        """Return the transcript; 404 `Transcript not found for lecture.` before transcription."""
        pegasus = facade(request)
        lecture = await pegasus.get_lecture(lecture_id)
        transcript = await pegasus.get_transcript(lecture_id)
        segments = transcript.segments
        shown = segments if segment_limit is None else segments[:segment_limit]
        return TranscriptBody(
            lecture_id=lecture_id,
            transcript_path=lecture.transcript_path,
            language=transcript.language,
            engine={"provider": transcript.engine.provider, "model": transcript.engine.model},
            text=transcript.text if include_text else "",
            segments=[
                {"startSec": s.start_sec, "endSec": s.end_sec, "text": s.text} for s in shown
            ],
            segment_count=len(shown),
            total_segment_count=len(segments),
        )

    @get("/{lecture_id:str}/progress", summary="Stage progress", responses=READ)
    async def progress(self, request: AnyRequest, lecture_id: PathId) -> LectureProgressBody:
        """Return each stage's state and the overall progress."""
        pegasus = facade(request)
        result = await pegasus.lecture_progress(lecture_id)
        return LectureProgressBody.of(result.lecture, result.snapshot)

    @get("/{lecture_id:str}/summary", summary="Lecture dashboard", responses=READ)
    async def summary(self, request: AnyRequest, lecture_id: PathId) -> LectureSummaryBody:
        """Return the lecture with its artifact and export counts and stage snapshot."""
        pegasus = facade(request)
        result = await pegasus.lecture_progress(lecture_id)
        records, exports = await pegasus.artifact_inventory(lecture_id)
        snap = result.snapshot
        return LectureSummaryBody(
            lecture=result.lecture,
            artifact_count=len(records),
            export_count=len(exports),
            artifact_types=sorted(r.artifact_type.value for r in records),
            export_types=sorted(e.export_type.value for e in exports),
            overall_status=snap.overall_status,
            progress_percent=snap.progress_percent,
            current_stage=snap.current_stage,
            has_failed_stage=snap.has_failed_stage,
            stages=snap.stages,
            links=lecture_links(lecture_id, exports),
        )

    @get("/{lecture_id:str}/integrity", summary="Check stored files", responses=READ)
    async def integrity(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        verify: Annotated[str | None, QueryParameter(required=False, pattern="^checksum$")] = None,
    ) -> IntegrityReport:
        """Check the audio, transcript, artifacts and exports against storage."""
        pegasus = facade(request)
        return await pegasus.check_integrity(lecture_id, verify_checksum=verify == "checksum")

    @get("/{lecture_id:str}/jobs", summary="A lecture's jobs", responses=READ)
    async def jobs(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        status: Optional = None,
    ) -> JobList:
        """List the lecture's jobs, newest first."""
        pegasus = facade(request)
        result = await pegasus.list_jobs(
            PageRequest(limit=limit, offset=offset), lecture_id=lecture_id, status=status
        )
        return JobList(lecture_id=lecture_id, jobs=list(result.items), pagination=result.pagination)

    @post(
        "/{lecture_id:str}/transcribe",
        status_code=HTTP_202_ACCEPTED,
        summary="Queue transcription",
        responses=WRITE,
    )
    async def transcribe(
        self,
        request: AnyRequest,
        lecture_id: PathId,
    ) -> JobAccepted:
        """Queue transcription; an active transcription job is returned (deduplicated)."""
        pegasus = facade(request)
        body = await optional_body(request, TranscribeBody)
        submitted = await pegasus.submit_transcription(
            lecture_id,
            provider=body.provider,
            model=body.model,
            language=body.language,
            request_id=request_id(request),
        )
        return JobAccepted.of(submitted)

    @post(
        "/{lecture_id:str}/generate",
        status_code=HTTP_202_ACCEPTED,
        summary="Queue generation",
        responses=WRITE,
    )
    async def generate(
        self,
        request: AnyRequest,
        lecture_id: PathId,
    ) -> JobAccepted:
        """Queue generation of the study artifacts (409 before a transcript exists)."""
        pegasus = facade(request)
        body = await optional_body(request, GenerateBody)
        submitted = await pegasus.submit_generation(
            lecture_id,
            course_id=body.course_id,
            preset_id=body.preset_id,
            model=body.openai_model,
            request_id=request_id(request),
        )
        lecture = await pegasus.get_lecture(lecture_id)
        return JobAccepted.of(submitted, course_id=lecture.course_id, preset_id=lecture.preset_id)

    @post(
        "/{lecture_id:str}/export",
        status_code=HTTP_202_ACCEPTED,
        summary="Queue export",
        responses=WRITE,
    )
    async def export(
        self,
        request: AnyRequest,
        lecture_id: PathId,
    ) -> JobAccepted:
        """Queue rendering of every export type (409 before generation completes)."""
        pegasus = facade(request)
        submitted = await pegasus.submit_export(lecture_id, request_id=request_id(request))
        return JobAccepted.of(submitted)

    @delete(
        "/{lecture_id:str}", status_code=HTTP_200_OK, summary="Delete a lecture", responses=WRITE
    )
    async def delete_lecture(
        self,
        request: AnyRequest,
        lecture_id: PathId,
        purge_storage: FromQuery[bool] = True,
    ) -> LectureDeletion:
        """Delete the lecture, its jobs, artifacts and exports (and its files)."""
        pegasus = facade(request)
        return await pegasus.delete_lecture(lecture_id, purge_storage=purge_storage)
