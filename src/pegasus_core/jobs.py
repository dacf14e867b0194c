"""Jobs: the three stages, their states and the pure rules of retries and time limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pegasus_core.records import Record


class JobType(StrEnum):
    """The stages of a lecture, in order."""

    TRANSCRIPTION = "transcription"
    GENERATION = "generation"
    EXPORT = "export"


STAGES: tuple[JobType, ...] = (JobType.TRANSCRIPTION, JobType.GENERATION, JobType.EXPORT)


class JobStatus(StrEnum):
    """The states of a job. `queued` and `running` are the active ones."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Record, frozen=True, kw_only=True):
    """A unit of work on one lecture; the jobs table is the source of truth (DESIGN.md §3)."""

    id: str
    lecture_id: str
    job_type: JobType
    status: JobStatus = JobStatus.QUEUED
    attempts: int = 0
    max_attempts: int = 4
    params: Mapping[str, Any] = {}
    progress: float = 0.0
    result: Mapping[str, Any] | None = None
    error: str | None = None
    request_id: str | None = None
    replayed_from_job_id: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    dispatched_at: datetime | None = None
    heartbeat_at: datetime | None = None
    retry_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        """Tell whether the job is queued or running."""
        return self.status in ACTIVE_STATUSES


class JobAttempt(Record, frozen=True, kw_only=True):
    """One claim of a job by one process: proof that attempts never overlapped."""

    job_id: str
    attempt: int
    worker: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    last_heartbeat_at: datetime | None = None


class Lease(Record, frozen=True, kw_only=True):
    """What a claim returns: the job and the attempt number that fences every later write."""

    job: Job
    attempt: int
    worker: str


def retry_at(
    *, attempts: int, max_attempts: int, backoff_sec: Sequence[int], now: datetime
) -> datetime | None:
    """Return when the next attempt may start after a transient failure, or None to give up.

    `attempts` is the number of the attempt that just failed; the wait before attempt n+1 is
    backoff_sec[n-1], the last value repeating.
    """
    if attempts >= max_attempts:
        return None
    if not backoff_sec:
        return now
    wait = backoff_sec[min(attempts - 1, len(backoff_sec) - 1)]
    return now + timedelta(seconds=wait)


def time_limit_sec(*, duration_sec: float | None, factor: int, floor_sec: float = 300.0) -> float:
    """Return a job's time limit: factor times the audio duration, at least floor_sec."""
    return max(float(floor_sec), factor * (duration_sec or 0.0))
