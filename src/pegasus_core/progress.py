"""Stage and progress arithmetic of CONTRACT.md section 7, and the lecture status rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from pegasus_core.jobs import STAGES, Job, JobStatus, JobType
from pegasus_core.lectures import LectureStatus
from pegasus_core.records import Record


class StageProgress(Record, frozen=True, kw_only=True):
    """The state of one stage: its latest job, or not_started."""

    status: str
    job_id: str | None
    progress: float
    created_at: datetime | None
    updated_at: datetime | None
    error: str | None


class StagesSnapshot(Record, frozen=True, kw_only=True):
    """The per-stage view shared by lecture progress, summary and course progress."""

    overall_status: str
    stage_count: int
    completed_stage_count: int
    progress_percent: int
    current_stage: str
    has_failed_stage: bool
    stages: Mapping[str, StageProgress]


def stage_progress(job: Job | None) -> StageProgress:
    """Describe one stage from its latest job."""
    if job is None:
        return StageProgress(
            status="not_started",
            job_id=None,
            progress=0.0,
            created_at=None,
            updated_at=None,
            error=None,
        )
    fraction = 1.0 if job.status is JobStatus.COMPLETED else job.progress
    return StageProgress(
        status=job.status.value,
        job_id=job.id,
        progress=max(0.0, min(1.0, fraction)),
        created_at=job.created_at,
        updated_at=job.updated_at,
        error=job.error,
    )


def snapshot(latest: Mapping[JobType, Job]) -> StagesSnapshot:
    """Compute the stage snapshot from the latest job of each stage.

    - progressPercent = floor(100 * sum of stage fractions / 3); completed counts 1, running
      its own progress, anything else 0.
    - currentStage = first stage not completed, or `completed`.
    - overallStatus: failed > completed (all) > in_progress (any job) > not_started.
    """
    stages = {stage.value: stage_progress(latest.get(stage)) for stage in STAGES}
    statuses = [s.status for s in stages.values()]
    completed = statuses.count(JobStatus.COMPLETED.value)
    fractions = 0.0
    for stage in stages.values():
        if stage.status == JobStatus.COMPLETED.value:
            fractions += 1.0
        elif stage.status == JobStatus.RUNNING.value:
            fractions += stage.progress
    has_failed = JobStatus.FAILED.value in statuses
    if has_failed:
        overall = "failed"
    elif completed == len(STAGES):
        overall = "completed"
    elif any(status != "not_started" for status in statuses):
        overall = "in_progress"
    else:
        overall = "not_started"
    current = next(
        (name for name, s in stages.items() if s.status != JobStatus.COMPLETED.value),
        "completed",
    )
    return StagesSnapshot(
        overall_status=overall,
        stage_count=len(STAGES),
        completed_stage_count=completed,
        progress_percent=math.floor(100 * fractions / len(STAGES) + 1e-9),
        current_stage=current,
        has_failed_stage=has_failed,
        stages=stages,
    )


def lecture_status(latest: Mapping[JobType, Job]) -> LectureStatus:
    """Derive a lecture's status from the latest job of each stage (first match wins)."""
    jobs = list(latest.values())
    if any(job.status is JobStatus.FAILED for job in jobs):
        return LectureStatus.FAILED

    def completed(stage: JobType) -> bool:
        job = latest.get(stage)
        return job is not None and job.status is JobStatus.COMPLETED

    if completed(JobType.EXPORT):
        return LectureStatus.COMPLETED
    if any(job.is_active for job in jobs):
        return LectureStatus.PROCESSING
    if completed(JobType.GENERATION):
        return LectureStatus.GENERATED
    if completed(JobType.TRANSCRIPTION):
        return LectureStatus.TRANSCRIBED
    return LectureStatus.UPLOADED


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves away from zero (not Python's banker's rounding).

    Exact for every finite float: `value - floor(value)` has no rounding error.
    """
    if value < 0:
        return -round_half_up(-value)
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def course_overall_status(overall_statuses: Sequence[str]) -> str:
    """Roll lecture overall statuses up to the course (CONTRACT.md section 5)."""
    if "failed" in overall_statuses:
        return "failed"
    if overall_statuses and all(s == "completed" for s in overall_statuses):
        return "completed"
    if any(s in ("in_progress", "completed") for s in overall_statuses):
        return "in_progress"
    return "not_started"
