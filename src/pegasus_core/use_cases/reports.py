"""Progress of lectures and courses, and the integrity of what is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from pegasus_core.artifacts import ArtifactRecord, ExportRecord
from pegasus_core.context import Ports
from pegasus_core.ids import parse_id
from pegasus_core.lectures import Lecture
from pegasus_core.pagination import MAX_LIMIT, PageRequest
from pegasus_core.progress import (
    StagesSnapshot,
    course_overall_status,
    round_half_up,
    snapshot,
)
from pegasus_core.records import Record
from pegasus_core.use_cases.common import require_lecture
from pegasus_core.use_cases.queries import require_course_exists


class LectureProgress(Record, frozen=True, kw_only=True):
    """A lecture's stages and where it stands."""

    lecture: Lecture
    snapshot: StagesSnapshot


class CourseProgress(Record, frozen=True, kw_only=True):
    """A course's lectures rolled up (CONTRACT.md section 5)."""

    course_id: str
    overall_status: str
    progress_percent: int
    lecture_count: int
    completed_lecture_count: int
    failed_lecture_count: int
    in_progress_lecture_count: int
    not_started_lecture_count: int
    latest_activity_at: datetime | None
    lectures: tuple[LectureProgress, ...] | None


async def lecture_progress(ports: Ports, lecture_id: str) -> LectureProgress:
    """Return the stage snapshot of a lecture; 404 for an unknown lecture."""
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        lecture = await require_lecture(uow, lecture_id)
        latest = await uow.jobs.latest_by_stage([lecture_id])
    return LectureProgress(lecture=lecture, snapshot=snapshot(latest[lecture_id]))


async def course_progress(
    ports: Ports, course_id: str, *, include_lectures: bool = True
) -> CourseProgress:
    """Roll a course's lectures up, with a fixed number of queries whatever their number.

    Without the lecture entries it is one aggregate over the course's lecture rows, which
    store their overall status and progress with every job transition.
    """
    parse_id(course_id, field="course_id")
    async with ports.uow(read_only=True) as uow:
        await require_course_exists(uow, course_id)
        if not include_lectures:
            rollup = await uow.lectures.rollup(course_id)
            return _rolled_up(
                course_id, rollup.counts, rollup.percent_sum, rollup.latest_activity_at, None
            )
        lectures = await uow.lectures.in_course(course_id)
        latest = await uow.jobs.latest_by_stage([lecture.id for lecture in lectures])
    entries = [
        LectureProgress(lecture=lecture, snapshot=snapshot(latest[lecture.id]))
        for lecture in lectures
    ]
    counts: dict[str, int] = {}
    for entry in entries:
        status = entry.snapshot.overall_status
        counts[status] = counts.get(status, 0) + 1
    activity = [lecture.updated_at for lecture in lectures] + [
        job.updated_at for stages in latest.values() for job in stages.values()
    ]
    return _rolled_up(
        course_id,
        counts,
        sum(entry.snapshot.progress_percent for entry in entries),
        max(activity) if activity else None,
        tuple(entries),
    )


def _rolled_up(
    course_id: str,
    counts: Mapping[str, int],
    percent_sum: int,
    latest_activity_at: datetime | None,
    entries: tuple[LectureProgress, ...] | None,
) -> CourseProgress:
    total = sum(counts.values())
    statuses = [status for status, n in counts.items() if n]
    return CourseProgress(
        course_id=course_id,
        overall_status=course_overall_status(statuses),
        progress_percent=round_half_up(percent_sum / total) if total else 0,
        lecture_count=total,
        completed_lecture_count=counts.get("completed", 0),
        failed_lecture_count=counts.get("failed", 0),
        in_progress_lecture_count=counts.get("in_progress", 0),
        not_started_lecture_count=counts.get("not_started", 0),
        latest_activity_at=latest_activity_at,
        lectures=entries,
    )


class IntegrityCheck(Record, frozen=True, kw_only=True):
    """One stored object a lecture's records point at."""

    kind: str
    path: str | None
    exists: bool
    state: str


class IntegrityReport(Record, frozen=True, kw_only=True):
    """Whether everything the database references is in storage."""

    lecture_id: str
    status: str
    missing_count: int
    check_count: int
    checks: tuple[IntegrityCheck, ...]


async def _check(
    ports: Ports, kind: str, path: str | None, purged: datetime | None, sha256: str | None = None
) -> IntegrityCheck:
    if purged is not None:
        return IntegrityCheck(kind=kind, path=path, exists=False, state="purged")
    if path is None:
        return IntegrityCheck(kind=kind, path=None, exists=False, state="missing_reference")
    if not await ports.blobs.exists(path):
        return IntegrityCheck(kind=kind, path=path, exists=False, state="missing_file")
    if sha256 is not None:
        digest = hashlib.sha256()
        async for chunk in ports.blobs.open(path):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            return IntegrityCheck(kind=kind, path=path, exists=True, state="checksum_mismatch")
    return IntegrityCheck(kind=kind, path=path, exists=True, state="ok")


async def check_integrity(
    ports: Ports, lecture_id: str, *, verify_checksum: bool = False
) -> IntegrityReport:
    """Check audio, transcript, each artifact and each export against storage.

    - A stage that has not run is not checked; a file removed by retention is `purged`.
    - verify_checksum re-hashes the audio against its stored SHA-256.
    """
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow(read_only=True) as uow:
        lecture = await require_lecture(uow, lecture_id)
        page_all = PageRequest(limit=MAX_LIMIT)
        artifacts: list[ArtifactRecord] = list(
            (await uow.artifacts.list(page_all, lecture_id=lecture_id)).items
        )
        exports: list[ExportRecord] = await uow.artifacts.list_exports(lecture_id)
    checks = [
        await _check(
            ports,
            "audio",
            lecture.audio.path,
            lecture.audio.purged_at,
            lecture.audio.sha256 if verify_checksum else None,
        )
    ]
    if lecture.transcript_path is not None or lecture.transcript_purged_at is not None:
        checks.append(
            await _check(ports, "transcript", lecture.transcript_path, lecture.transcript_purged_at)
        )
    for record in sorted(artifacts, key=lambda r: r.artifact_type.value):
        checks.append(
            await _check(
                ports,
                f"artifact:{record.artifact_type.value}",
                record.storage_path,
                record.purged_at,
            )
        )
    for export in exports:
        checks.append(
            await _check(
                ports, f"export:{export.export_type.value}", export.storage_path, export.purged_at
            )
        )
    missing = sum(
        c.state in ("missing_file", "missing_reference", "checksum_mismatch") for c in checks
    )
    return IntegrityReport(
        lecture_id=lecture_id,
        status="ok" if missing == 0 else "degraded",
        missing_count=missing,
        check_count=len(checks),
        checks=tuple(checks),
    )
