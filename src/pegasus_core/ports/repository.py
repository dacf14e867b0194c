"""Persistence: one unit of work (a transaction) exposing a repository per record family.

Every list method returns a Page ordered newest first (createdAt desc, id desc). Every job
write that belongs to an attempt is fenced by its lease (status running and attempts equal to
the lease) and returns False when the fence no longer holds.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, Self

from pegasus_core.artifacts import ArtifactRecord, ArtifactType, ExportRecord, ExportType
from pegasus_core.idempotency import IdempotencyEntry, StoredResponse
from pegasus_core.jobs import Job, JobAttempt, JobStatus, JobType, Lease
from pegasus_core.lectures import Course, CourseRollup, Lecture, LectureProgress, LectureStatus
from pegasus_core.pagination import Page, PageRequest
from pegasus_core.threads import Thread


class CourseRepository(Protocol):
    """Courses with their lecture counts."""

    async def get(self, course_id: str) -> Course | None:
        """Return the course or None."""
        ...

    async def exists(self, course_id: str) -> bool:
        """Return whether the course exists: get() without counting its lectures."""
        ...

    async def ensure(self, course_id: str, *, title: str, now: datetime) -> Course:
        """Create the course if it does not exist (never changing an existing title)."""
        ...

    async def list(self, page: PageRequest) -> Page[Course]:
        """Return a page of courses."""
        ...

    async def lock(self, course_id: str) -> None:
        """Hold the course row until this unit of work ends.

        Writers of the course's threads take it first, so two lectures of a course finishing
        at once update its threads one after the other. A missing course locks nothing.
        """
        ...

    async def delete(self, course_id: str) -> bool:
        """Delete the course row; return whether it existed."""
        ...


class LectureRepository(Protocol):
    """Lectures."""

    async def add(self, lecture: Lecture) -> None:
        """Insert a lecture. Raises LectureExistsError if the id is taken."""
        ...

    async def get(self, lecture_id: str) -> Lecture | None:
        """Return the lecture or None."""
        ...

    async def get_many(self, lecture_ids: Sequence[str]) -> dict[str, Lecture]:
        """Return the lectures that exist among lecture_ids, by id, in one query."""
        ...

    async def list(
        self,
        page: PageRequest,
        *,
        course_id: str | None = None,
        status: LectureStatus | None = None,
        preset_id: str | None = None,
    ) -> Page[Lecture]:
        """Return a page of lectures matching every given filter."""
        ...

    async def in_course(self, course_id: str) -> builtins.list[Lecture]:
        """Return every lecture of the course, newest first, in one query."""
        ...

    async def update(self, lecture_id: str, *, now: datetime, **fields: Any) -> None:
        """Set the given fields (status, transcript_path, duration_sec, audio_purged_at)."""
        ...

    async def set_progress(self, progress: Sequence[LectureProgress], *, now: datetime) -> None:
        """Store each lecture's status, overall status and progress, in one statement."""
        ...

    async def rollup(self, course_id: str) -> CourseRollup:
        """Count the course's lectures by overall status in one aggregate query."""
        ...

    async def delete(self, lecture_id: str) -> int:
        """Delete the lecture row; return how many rows went (0 or 1)."""
        ...


class JobRepository(Protocol):
    """Jobs and their attempts."""

    async def add(self, job: Job) -> Job:
        """Insert a job, or return the active job of the same lecture and type if one exists.

        Atomic under concurrency (a unique index over active jobs, not a read then a write):
        the returned job's id tells the caller whether it was deduplicated.
        """
        ...

    async def get(self, job_id: str) -> Job | None:
        """Return the job or None."""
        ...

    async def find_active(self, lecture_id: str, job_type: JobType) -> Job | None:
        """Return the queued or running job of this lecture and type, if any."""
        ...

    async def find_replacement(self, job_id: str) -> Job | None:
        """Return the newest job replayed from job_id, if any."""
        ...

    async def latest_by_stage(self, lecture_ids: Sequence[str]) -> dict[str, dict[JobType, Job]]:
        """Return, per lecture, the latest job of each stage (one query whatever the count)."""
        ...

    async def list(
        self,
        page: PageRequest,
        *,
        lecture_id: str | None = None,
        status: JobStatus | None = None,
        job_type: JobType | None = None,
    ) -> Page[Job]:
        """Return a page of jobs matching every given filter."""
        ...

    async def mark_dispatched(self, jobs: Sequence[Job], *, now: datetime) -> None:
        """Record that the jobs were handed to the queue, unless claimed since.

        A fast runner may finish an attempt before this write; its attempts then moved on.
        Never waits for a row another transaction holds (a claim under way): such a job is
        left as it was, which at worst dispatches it once more later, never loses it.
        Waiting there could deadlock with a claim batch locking the same rows in another
        order.
        """
        ...

    async def claim(
        self, job_ids: Sequence[str], *, worker: str, now: datetime
    ) -> dict[str, Lease]:
        """Move queued jobs to running with attempts + 1 and record each attempt.

        Returns the leases by job id. A job that is not queued, or whose retry time is in the
        future, is left out (claiming nothing): a duplicate or late message is dropped. An id
        given twice is claimed once.
        """
        ...

    async def heartbeat(self, lease: Lease, *, now: datetime, progress: float | None) -> bool:
        """Prove the attempt is alive (and optionally advance progress). Fenced."""
        ...

    async def finish(
        self,
        lease: Lease,
        *,
        status: JobStatus,
        now: datetime,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """End the attempt: completed, failed, or queued again with retry_at. Fenced."""
        ...

    async def complete(
        self, results: Sequence[tuple[Lease, Mapping[str, Any]]], *, now: datetime
    ) -> set[str]:
        """Complete each lease's job with its result (progress 1) and close its attempt.

        Fenced per lease. Returns the ids of the jobs completed; a lease that lost its job
        changes nothing.
        """
        ...

    async def end_attempts(self, leases: Sequence[Lease], *, outcome: str, now: datetime) -> None:
        """Close the leases' attempt records (whatever happened to the job rows)."""
        ...

    async def take_back_stale(self, *, stale_before: datetime, now: datetime) -> builtins.list[Job]:
        """Return stale running jobs to queued; return the jobs changed.

        A job whose heartbeat is older than stale_before goes back to queued, or to failed
        ("Worker lost.") when it is out of attempts.
        """
        ...

    async def oldest_heartbeat(self) -> datetime | None:
        """Return the oldest heartbeat of the running jobs (None when none runs).

        The next job that can turn stale is the one with that heartbeat, if it stops.
        """
        ...

    async def due_for_dispatch(
        self, *, now: datetime, redispatch_before: datetime, limit: int = 100
    ) -> builtins.list[Job]:
        """Return the queued jobs to dispatch now, at most limit.

        Those never dispatched, whose retry time has passed, or dispatched before
        redispatch_before without a claim (a lost message, or one still waiting in a long
        queue). The never dispatched (taken back, retries due, never sent) come first, then
        the others; each oldest first.
        """
        ...

    async def attempts(self, job_id: str) -> builtins.list[JobAttempt]:
        """Return the attempts of a job, oldest first."""
        ...

    async def delete_for_lecture(self, lecture_id: str) -> int:
        """Delete every job (and attempt record) of the lecture; return the job count."""
        ...

    async def has_active(self, lecture_id: str) -> bool:
        """Tell whether the lecture has a queued or running job."""
        ...

    async def count_by_status(self) -> dict[tuple[str, str], int]:
        """Return job counts keyed by (job type, status)."""
        ...


class ArtifactRepository(Protocol):
    """Current artifacts and exports of lectures."""

    async def put(self, record: ArtifactRecord) -> ArtifactRecord:
        """Insert or replace the artifact of (lecture, type), bumping its version."""
        ...

    async def get(self, lecture_id: str, artifact_type: ArtifactType) -> ArtifactRecord | None:
        """Return the current artifact record or None."""
        ...

    async def list(
        self,
        page: PageRequest,
        *,
        lecture_id: str,
        artifact_type: ArtifactType | None = None,
        preset_id: str | None = None,
    ) -> Page[ArtifactRecord]:
        """Return a page of the lecture's artifact records."""
        ...

    async def put_export(self, record: ExportRecord) -> None:
        """Insert or replace the export of (lecture, type)."""
        ...

    async def get_export(self, lecture_id: str, export_type: ExportType) -> ExportRecord | None:
        """Return the export record or None."""
        ...

    async def list_exports(self, lecture_id: str) -> builtins.list[ExportRecord]:
        """Return every export record of the lecture."""
        ...

    async def counts_for_lecture(self, lecture_id: str) -> tuple[int, int]:
        """Return (artifact count, export count)."""
        ...

    async def delete_for_lecture(self, lecture_id: str) -> tuple[int, int]:
        """Delete the lecture's artifacts and exports; return (artifacts, exports) deleted."""
        ...

    async def expired(self, *, created_before: datetime) -> builtins.list[ArtifactRecord]:
        """Return unpurged artifact records created before the given time."""
        ...

    async def expired_exports(self, *, created_before: datetime) -> builtins.list[ExportRecord]:
        """Return unpurged export records created before the given time."""
        ...

    async def mark_purged(
        self,
        lecture_id: str,
        *,
        artifact_type: str | None,
        export_type: str | None,
        now: datetime,
    ) -> None:
        """Record that a stored artifact or export file was removed by retention."""
        ...


class ThreadRepository(Protocol):
    """Course threads."""

    async def list(self, page: PageRequest, *, course_id: str) -> Page[Thread]:
        """Return a page of the course's threads."""
        ...

    async def for_course(self, course_id: str) -> builtins.list[Thread]:
        """Return every thread of the course."""
        ...

    async def put(self, thread: Thread) -> None:
        """Insert or replace a thread."""
        ...

    async def remove_lecture(self, lecture_id: str, *, now: datetime) -> int:
        """Drop the lecture from every thread; return how many threads changed.

        A thread left with no lecture is deleted.
        """
        ...


class TombstoneRepository(Protocol):
    """Storage prefixes to purge again for a while after a delete."""

    async def add(self, prefix: str, *, until: datetime) -> None:
        """Keep purging prefix until the given time."""
        ...

    async def clear(self, prefix: str) -> None:
        """Stop purging prefix (a new ingest of the same id)."""
        ...

    async def active(self, *, now: datetime) -> builtins.list[str]:
        """Return the prefixes still to purge, forgetting expired ones."""
        ...


class IdempotencyRepository(Protocol):
    """Idempotency keys, shared by every API process through the database."""

    async def reserve(
        self, scope: str, key: str, *, now: datetime, expires_at: datetime
    ) -> IdempotencyEntry | None:
        """Reserve the key; return None if reserved now, else the live entry holding it.

        An expired entry is replaced. Atomic under concurrency (a primary key, not a read
        then a write).
        """
        ...

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        """Store the first answer of the reserved key."""
        ...

    async def release(self, scope: str, key: str) -> None:
        """Forget a reservation whose request did not succeed."""
        ...

    async def purge_expired(self, *, now: datetime) -> int:
        """Delete expired entries; return how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without commit() rolls everything back."""

    @property
    def courses(self) -> CourseRepository:
        """Courses."""
        ...

    @property
    def lectures(self) -> LectureRepository:
        """Lectures."""
        ...

    @property
    def jobs(self) -> JobRepository:
        """Jobs and attempts."""
        ...

    @property
    def artifacts(self) -> ArtifactRepository:
        """Artifacts and exports."""
        ...

    @property
    def threads(self) -> ThreadRepository:
        """Course threads."""
        ...

    @property
    def idempotency(self) -> IdempotencyRepository:
        """Idempotency keys."""
        ...

    @property
    def tombstones(self) -> TombstoneRepository:
        """Purge tombstones."""
        ...

    async def __aenter__(self) -> Self:
        """Begin the transaction."""
        ...

    async def __aexit__(self, *exc_info: object) -> None:
        """Roll back unless committed."""
        ...

    async def commit(self) -> None:
        """Commit the transaction."""
        ...

    async def now(self) -> datetime:
        """Return the database's current time (an adapter may return the transaction's start).

        Heartbeats, claims and the stale check use it, never a worker's own clock, so workers
        on machines whose clocks disagree still agree on which jobs are stale.
        """
        ...


class UnitOfWorkFactory(Protocol):
    """Makes units of work."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """Return a new unit of work; read_only ones may run concurrently with writers."""
        ...
