"""Wire shapes that differ from the core records: bodies, accepted jobs, lists, progress."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from pegasus_core.artifacts import ArtifactRecord, ExportRecord
from pegasus_core.jobs import Job
from pegasus_core.lectures import Course, Lecture
from pegasus_core.pagination import Pagination
from pegasus_core.presets import Preset
from pegasus_core.progress import StageProgress, StagesSnapshot
from pegasus_core.threads import Thread
from pegasus_core.use_cases.readiness import Check
from pegasus_core.use_cases.submit import Submitted


class Wire(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A response shape with camelCase keys."""


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request body with snake_case keys; unknown keys are refused."""


class TranscribeBody(Body, frozen=True, kw_only=True):
    """Optional body of POST /lectures/{id}/transcribe."""

    provider: Literal["openai", "offline"] | None = None
    model: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=16)] | None = None


class GenerateBody(Body, frozen=True, kw_only=True):
    """Optional body of POST /lectures/{id}/generate."""

    course_id: str | None = None
    preset_id: str | None = None
    openai_model: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class Health(Wire, frozen=True, kw_only=True):
    """GET /health."""

    status: str
    time: datetime


class ReadinessBody(Wire, frozen=True, kw_only=True):
    """GET /health/ready."""

    status: str
    time: datetime
    checks: Mapping[str, Check]


class JobAccepted(Wire, frozen=True, kw_only=True):
    """202 answer to a job submission."""

    job_id: str
    status: str
    job_type: str
    lecture_id: str
    deduplicated: bool
    course_id: str | None = None
    preset_id: str | None = None
    replayed_from_job_id: str | None = None

    @classmethod
    def of(cls, submitted: Submitted, **extra: Any) -> JobAccepted:
        """Describe a submission."""
        job = submitted.job
        return cls(
            job_id=job.id,
            status=job.status.value,
            job_type=job.job_type.value,
            lecture_id=job.lecture_id,
            deduplicated=submitted.deduplicated,
            **extra,
        )


class PresetList(Wire, frozen=True, kw_only=True):
    """GET /presets."""

    presets: list[Preset]


class CourseList(Wire, frozen=True, kw_only=True):
    """GET /courses."""

    courses: list[Course]
    pagination: Pagination


class LectureList(Wire, frozen=True, kw_only=True):
    """GET /lectures and GET /courses/{id}/lectures."""

    lectures: list[Lecture]
    pagination: Pagination
    course_id: str | None = msgspec.field(default=None)


class ThreadList(Wire, frozen=True, kw_only=True):
    """GET /courses/{id}/threads."""

    course_id: str
    threads: list[Thread]
    pagination: Pagination


class JobList(Wire, frozen=True, kw_only=True):
    """GET /lectures/{id}/jobs."""

    lecture_id: str
    jobs: list[Job]
    pagination: Pagination


class FailedJobFilters(Wire, frozen=True, kw_only=True):
    """The filters of the dead-letter list."""

    lecture_id: str | None
    job_type: str | None
    status: str = "failed"


class FailedJobList(Wire, frozen=True, kw_only=True):
    """GET /jobs/failed."""

    filters: FailedJobFilters
    jobs: list[Job]
    pagination: Pagination


class Links(Wire, frozen=True, kw_only=True):
    """Where a lecture's other views live."""

    summary: str
    progress: str
    artifacts: str
    jobs: str
    transcript: str
    exports: Mapping[str, str] | None = None


def lecture_links(lecture_id: str, exports: list[ExportRecord] | None = None) -> Links:
    """Return the links of a lecture."""
    base = f"/lectures/{lecture_id}"
    return Links(
        summary=f"{base}/summary",
        progress=f"{base}/progress",
        artifacts=f"{base}/artifacts",
        jobs=f"{base}/jobs",
        transcript=f"{base}/transcript",
        exports=None
        if exports is None
        else {e.export_type.value: f"/exports/{lecture_id}/{e.export_type.value}" for e in exports},
    )


class LectureProgressBody(Wire, frozen=True, kw_only=True):
    """GET /lectures/{id}/progress."""

    lecture_id: str
    lecture_status: str
    overall_status: str
    stage_count: int
    completed_stage_count: int
    progress_percent: int
    current_stage: str
    has_failed_stage: bool
    stages: Mapping[str, StageProgress]
    links: Links

    @classmethod
    def of(cls, lecture: Lecture, snap: StagesSnapshot) -> LectureProgressBody:
        """Describe a lecture's progress."""
        return cls(
            lecture_id=lecture.id,
            lecture_status=lecture.status.value,
            overall_status=snap.overall_status,
            stage_count=snap.stage_count,
            completed_stage_count=snap.completed_stage_count,
            progress_percent=snap.progress_percent,
            current_stage=snap.current_stage,
            has_failed_stage=snap.has_failed_stage,
            stages=snap.stages,
            links=lecture_links(lecture.id),
        )


class CourseLectureProgress(LectureProgressBody, frozen=True, kw_only=True):
    """A lecture entry of course progress: lecture progress plus its title."""

    title: str


class CourseProgressBody(Wire, frozen=True, kw_only=True):
    """GET /courses/{id}/progress."""

    course_id: str
    overall_status: str
    progress_percent: int
    lecture_count: int
    completed_lecture_count: int
    failed_lecture_count: int
    in_progress_lecture_count: int
    not_started_lecture_count: int
    latest_activity_at: datetime | None
    lectures: list[CourseLectureProgress] | msgspec.UnsetType = msgspec.UNSET


class LectureSummaryBody(Wire, frozen=True, kw_only=True):
    """GET /lectures/{id}/summary."""

    lecture: Lecture
    artifact_count: int
    export_count: int
    artifact_types: list[str]
    export_types: list[str]
    overall_status: str
    progress_percent: int
    current_stage: str
    has_failed_stage: bool
    stages: Mapping[str, StageProgress]
    links: Links


class TranscriptBody(Wire, frozen=True, kw_only=True):
    """GET /lectures/{id}/transcript."""

    lecture_id: str
    transcript_path: str | None
    language: str
    engine: Mapping[str, str]
    text: str
    segments: list[Mapping[str, Any]]
    segment_count: int
    total_segment_count: int


class ArtifactRecordBody(Wire, frozen=True, kw_only=True):
    """One entry of artifactRecords."""

    id: str
    artifact_type: str
    preset_id: str
    version: int
    storage_path: str
    created_at: datetime

    @classmethod
    def of(cls, record: ArtifactRecord) -> ArtifactRecordBody:
        """Describe an artifact record."""
        return cls(
            id=record.id,
            artifact_type=record.artifact_type.value,
            preset_id=record.preset_id,
            version=record.version,
            storage_path=record.storage_path,
            created_at=record.created_at,
        )


class ExportRecordBody(Wire, frozen=True, kw_only=True):
    """One entry of exportRecords."""

    export_type: str
    storage_path: str
    size_bytes: int
    created_at: datetime


class ArtifactListBody(Wire, frozen=True, kw_only=True):
    """GET /lectures/{id}/artifacts."""

    lecture_id: str
    artifacts: Mapping[str, Any]
    artifact_records: list[ArtifactRecordBody]
    artifact_download_urls: Mapping[str, str]
    export_records: list[ExportRecordBody]
    pagination: Pagination
