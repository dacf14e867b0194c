"""The Pegasus facade: what the HTTP API, the CLI and the workers call."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence

from pegasus_core.artifacts import AnyArtifact, ArtifactRecord, ExportRecord
from pegasus_core.context import Ports
from pegasus_core.idempotency import IdempotencyEntry, StoredResponse
from pegasus_core.ids import parse_id
from pegasus_core.jobs import Job, JobAttempt
from pegasus_core.lectures import Course, Lecture
from pegasus_core.pagination import Page, PageRequest
from pegasus_core.presets import BUILTIN_PRESETS, Preset, get_preset
from pegasus_core.threads import Thread
from pegasus_core.transcripts import Transcript
from pegasus_core.use_cases import (
    deletion,
    idempotency,
    ingest,
    queries,
    readiness,
    reports,
    retention,
    submit,
)
from pegasus_core.use_cases.runner import JobRunner
from pegasus_core.use_cases.sweep import SweepReport, keep_up, recover, sweep_once


class Pegasus:
    """Every use case, bound to one set of ports. Build it with bootstrap.open_pegasus()."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self._runner = JobRunner(ports)

    # Operations
    async def check_readiness(self) -> readiness.Readiness:
        """Check database, queue and storage (each within a short timeout)."""
        return await readiness.check_readiness(self.ports)

    async def job_counts(self) -> dict[tuple[str, str], int]:
        """Return job counts keyed by (job type, status)."""
        async with self.ports.uow(read_only=True) as uow:
            return await uow.jobs.count_by_status()

    async def reserve_idempotency_key(self, scope: str, key: str) -> IdempotencyEntry | None:
        """Reserve an Idempotency-Key (None: this request owns it); 400 for a bad key."""
        return await idempotency.reserve_key(self.ports, scope, key)

    async def complete_idempotency_key(
        self, scope: str, key: str, response: StoredResponse
    ) -> None:
        """Store the answer of a keyed request for replay."""
        await idempotency.complete_key(self.ports, scope, key, response)

    async def release_idempotency_key(self, scope: str, key: str) -> None:
        """Free the key of a keyed request that did not succeed."""
        await idempotency.release_key(self.ports, scope, key)

    # Presets
    def list_presets(self) -> list[Preset]:
        """Return the built-in presets."""
        return list(BUILTIN_PRESETS.values())

    def get_preset(self, preset_id: str) -> Preset:
        """Return one preset; 400 for a malformed id, 404 `Preset not found.`."""
        return get_preset(parse_id(preset_id, field="preset_id"))

    # Lectures
    async def ingest_lecture(
        self, request: ingest.IngestRequest, audio: AsyncIterable[bytes]
    ) -> ingest.IngestResult:
        """Store a recording as a new lecture (see use_cases.ingest)."""
        return await ingest.ingest_lecture(self.ports, request, audio)

    def validate_ingest(self, request: ingest.IngestRequest) -> str:
        """Check an ingest's fields before any audio is read; return the lecture id."""
        return ingest.validate_ingest(self.ports, request)

    async def get_lecture(self, lecture_id: str) -> Lecture:
        """Return a lecture."""
        return await queries.get_lecture(self.ports, lecture_id)

    async def list_lectures(
        self,
        page: PageRequest,
        *,
        course_id: str | None = None,
        status: str | None = None,
        preset_id: str | None = None,
    ) -> Page[Lecture]:
        """List lectures with optional filters."""
        return await queries.list_lectures(
            self.ports, page, course_id=course_id, status=status, preset_id=preset_id
        )

    async def get_transcript(self, lecture_id: str) -> Transcript:
        """Return a lecture's transcript."""
        return await queries.get_transcript(self.ports, lecture_id)

    async def delete_lecture(
        self, lecture_id: str, *, purge_storage: bool = True
    ) -> deletion.LectureDeletion:
        """Delete a lecture and what belongs to it."""
        return await deletion.delete_lecture(self.ports, lecture_id, purge_storage=purge_storage)

    async def lecture_progress(self, lecture_id: str) -> reports.LectureProgress:
        """Return a lecture's stage snapshot."""
        return await reports.lecture_progress(self.ports, lecture_id)

    async def check_integrity(
        self, lecture_id: str, *, verify_checksum: bool = False
    ) -> reports.IntegrityReport:
        """Check the lecture's stored files against its records."""
        return await reports.check_integrity(
            self.ports, lecture_id, verify_checksum=verify_checksum
        )

    # Courses
    async def get_course(self, course_id: str) -> Course:
        """Return a course."""
        return await queries.get_course(self.ports, course_id)

    async def list_courses(self, page: PageRequest) -> Page[Course]:
        """List courses."""
        return await queries.list_courses(self.ports, page)

    async def list_threads(self, course_id: str, page: PageRequest) -> Page[Thread]:
        """List a course's threads."""
        return await queries.list_threads(self.ports, course_id, page)

    async def course_progress(
        self, course_id: str, *, include_lectures: bool = True
    ) -> reports.CourseProgress:
        """Roll up a course's lectures."""
        return await reports.course_progress(
            self.ports, course_id, include_lectures=include_lectures
        )

    async def delete_course(
        self, course_id: str, *, purge_storage: bool = True
    ) -> deletion.CourseDeletion:
        """Delete a course and all its lectures."""
        return await deletion.delete_course(self.ports, course_id, purge_storage=purge_storage)

    # Jobs
    async def submit_transcription(
        self,
        lecture_id: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        language: str | None = None,
        request_id: str | None = None,
    ) -> submit.Submitted:
        """Queue transcription (deduplicated)."""
        return await submit.submit_transcription(
            self.ports,
            lecture_id=lecture_id,
            provider=provider,
            model=model,
            language=language,
            request_id=request_id,
        )

    async def submit_generation(
        self,
        lecture_id: str,
        *,
        course_id: str | None = None,
        preset_id: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
    ) -> submit.Submitted:
        """Queue generation (deduplicated)."""
        return await submit.submit_generation(
            self.ports,
            lecture_id=lecture_id,
            course_id=course_id,
            preset_id=preset_id,
            model=model,
            request_id=request_id,
        )

    async def submit_export(
        self, lecture_id: str, *, request_id: str | None = None
    ) -> submit.Submitted:
        """Queue export (deduplicated)."""
        return await submit.submit_export(self.ports, lecture_id=lecture_id, request_id=request_id)

    async def replay_job(self, job_id: str, *, request_id: str | None = None) -> submit.Submitted:
        """Replay a failed job."""
        return await submit.replay_job(self.ports, job_id=job_id, request_id=request_id)

    async def get_job(self, job_id: str) -> Job:
        """Return a job."""
        return await queries.get_job(self.ports, job_id)

    async def job_attempts(self, job_id: str) -> list[JobAttempt]:
        """Return the attempts of a job, oldest first."""
        await queries.get_job(self.ports, job_id)
        async with self.ports.uow(read_only=True) as uow:
            return await uow.jobs.attempts(job_id)

    async def list_jobs(
        self,
        page: PageRequest,
        *,
        lecture_id: str | None = None,
        status: str | None = None,
        job_type: str | None = None,
    ) -> Page[Job]:
        """List jobs."""
        return await queries.list_jobs(
            self.ports, page, lecture_id=lecture_id, status=status, job_type=job_type
        )

    async def list_failed_jobs(
        self, page: PageRequest, *, lecture_id: str | None = None, job_type: str | None = None
    ) -> Page[Job]:
        """List failed jobs (the dead-letter list)."""
        return await queries.list_failed_jobs(
            self.ports, page, lecture_id=lecture_id, job_type=job_type
        )

    async def run_job(self, job_id: str) -> None:
        """Run a dispatched job id (what a queue's consumer calls)."""
        await self._runner.run(job_id)

    async def sweep(self) -> SweepReport:
        """Run one whole sweep pass: recovery, then upkeep."""
        return await sweep_once(self.ports)

    async def recover(self) -> SweepReport:
        """Run the sweep's recovery half: take back stale jobs, dispatch undispatched ones."""
        return await recover(self.ports)

    async def keep_up(self) -> SweepReport:
        """Run the sweep's upkeep half: re-dispatch lost-message suspects, purge, expire."""
        return await keep_up(self.ports)

    # Artifacts and exports
    async def list_artifacts(
        self,
        lecture_id: str,
        page: PageRequest,
        *,
        artifact_type: str | None = None,
        preset_id: str | None = None,
    ) -> tuple[Page[ArtifactRecord], dict[str, AnyArtifact], list[ExportRecord]]:
        """Return a page of artifact records with their documents and the exports."""
        return await queries.list_artifacts(
            self.ports, lecture_id, page, artifact_type=artifact_type, preset_id=preset_id
        )

    async def artifact_inventory(
        self, lecture_id: str
    ) -> tuple[list[ArtifactRecord], list[ExportRecord]]:
        """Return the lecture's artifact and export records (no documents are read)."""
        return await queries.artifact_inventory(self.ports, lecture_id)

    async def get_artifact(self, lecture_id: str, artifact_type: str) -> AnyArtifact:
        """Return one artifact document."""
        return await queries.get_artifact(self.ports, lecture_id, artifact_type)

    async def open_export(self, lecture_id: str, export_type: str) -> queries.ExportFile:
        """Open an export for streaming."""
        return await queries.open_export(self.ports, lecture_id, export_type)

    async def export_download_url(self, lecture_id: str, export_type: str) -> str | None:
        """Return a presigned URL of an export (15 min), or None when storage cannot sign."""
        return await queries.export_download_url(self.ports, lecture_id, export_type)

    async def artifact_download_urls(
        self, lecture_id: str, records: Sequence[ArtifactRecord]
    ) -> dict[str, str]:
        """Return each current artifact's download URL (presigned in S3 mode)."""
        return await queries.artifact_download_urls(self.ports, lecture_id, records)

    async def enforce_retention(
        self, *, audio_days: int, transcript_days: int, artifact_days: int, dry_run: bool = False
    ) -> retention.RetentionReport:
        """Delete expired files (see use_cases.retention)."""
        return await retention.enforce_retention(
            self.ports,
            audio_days=audio_days,
            transcript_days=transcript_days,
            artifact_days=artifact_days,
            dry_run=dry_run,
        )
