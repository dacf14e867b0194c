from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pegasus_core.jobs import Job, JobStatus, JobType
from pegasus_core.lectures import LectureStatus
from pegasus_core.progress import (
    course_overall_status,
    lecture_status,
    round_half_up,
    snapshot,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(job_type: JobType, status: JobStatus, progress: float = 0.0) -> Job:
    return Job(
        id=f"{job_type}-{status}",
        lecture_id="l",
        job_type=job_type,
        status=status,
        progress=progress,
        created_at=T0,
        updated_at=T0,
    )


T, G, E = JobType.TRANSCRIPTION, JobType.GENERATION, JobType.EXPORT
S = JobStatus


def test_no_jobs_is_not_started() -> None:
    snap = snapshot({})
    assert (snap.overall_status, snap.progress_percent, snap.current_stage) == (
        "not_started",
        0,
        "transcription",
    )
    assert snap.stages["export"].status == "not_started"


def test_a_running_stage_counts_its_own_progress_floored() -> None:
    snap = snapshot({T: job(T, S.COMPLETED), G: job(G, S.RUNNING, 0.5)})
    # (1 + 0.5) / 3 = 50%
    assert (snap.progress_percent, snap.current_stage, snap.completed_stage_count) == (
        50,
        "generation",
        1,
    )
    snap = snapshot({T: job(T, S.RUNNING, 0.99)})
    assert snap.progress_percent == 33  # floor(33.0)
    assert snapshot({T: job(T, S.COMPLETED)}).progress_percent == 33


def test_queued_and_failed_stages_count_zero() -> None:
    snap = snapshot({T: job(T, S.COMPLETED), G: job(G, S.FAILED, 0.7)})
    assert (snap.overall_status, snap.progress_percent, snap.has_failed_stage) == (
        "failed",
        33,
        True,
    )
    assert snapshot({T: job(T, S.QUEUED, 0.4)}).progress_percent == 0


def test_all_completed_is_one_hundred_percent() -> None:
    snap = snapshot({t: job(t, S.COMPLETED) for t in (T, G, E)})
    assert (snap.overall_status, snap.progress_percent, snap.current_stage) == (
        "completed",
        100,
        "completed",
    )


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        ({}, LectureStatus.UPLOADED),
        ({T: job(T, S.CANCELLED)}, LectureStatus.UPLOADED),
        ({T: job(T, S.QUEUED)}, LectureStatus.PROCESSING),
        ({T: job(T, S.COMPLETED)}, LectureStatus.TRANSCRIBED),
        ({T: job(T, S.COMPLETED), G: job(G, S.RUNNING)}, LectureStatus.PROCESSING),
        ({T: job(T, S.COMPLETED), G: job(G, S.COMPLETED)}, LectureStatus.GENERATED),
        (
            {T: job(T, S.COMPLETED), G: job(G, S.COMPLETED), E: job(E, S.COMPLETED)},
            LectureStatus.COMPLETED,
        ),
        (
            {T: job(T, S.COMPLETED), G: job(G, S.FAILED), E: job(E, S.COMPLETED)},
            LectureStatus.FAILED,
        ),
        ({T: job(T, S.FAILED), G: job(G, S.QUEUED)}, LectureStatus.FAILED),
        (
            {T: job(T, S.COMPLETED), G: job(G, S.COMPLETED), E: job(E, S.QUEUED)},
            LectureStatus.PROCESSING,
        ),
    ],
)
def test_lecture_status_first_match_wins(
    latest: dict[JobType, Job], expected: LectureStatus
) -> None:
    assert lecture_status(latest) == expected


def test_rounding_is_half_up() -> None:
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, 2.4999, 66.5)] == [1, 2, 3, 2, 67]
    # Just below a half stays down (x + 0.5 would round up in floating point); halves of
    # negative values go away from zero.
    assert [round_half_up(x) for x in (0.49999999999999994, -2.5, -2.4)] == [0, -3, -2]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "not_started"),
        (["not_started", "not_started"], "not_started"),
        (["completed", "not_started"], "in_progress"),
        (["completed", "completed"], "completed"),
        (["in_progress", "failed"], "failed"),
    ],
)
def test_course_overall_status(statuses: list[str], expected: str) -> None:
    assert course_overall_status(statuses) == expected
