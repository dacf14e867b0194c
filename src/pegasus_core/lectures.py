"""Courses and lectures, the lecture status rule and the storage key layout."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pegasus_core.records import Record


class LectureStatus(StrEnum):
    """Where a lecture stands (CONTRACT.md section 6)."""

    UPLOADED = "uploaded"
    PROCESSING = "processing"
    TRANSCRIBED = "transcribed"
    GENERATED = "generated"
    COMPLETED = "completed"
    FAILED = "failed"


class SourceType(StrEnum):
    """How the audio was captured."""

    UPLOAD = "upload"
    RECORD = "record"


class Course(Record, frozen=True, kw_only=True):
    """A course: a titled group of lectures."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    lecture_count: int = 0


class AudioRef(Record, frozen=True, kw_only=True):
    """The stored audio of a lecture."""

    path: str
    original_filename: str
    content_type: str
    size_bytes: int
    sha256: str
    purged_at: datetime | None = None


class Lecture(Record, frozen=True, kw_only=True):
    """A lecture recording and where its processing stands."""

    id: str
    course_id: str
    preset_id: str
    title: str
    status: LectureStatus
    duration_sec: float | None
    source_type: SourceType
    audio: AudioRef
    transcript_path: str | None
    created_at: datetime
    updated_at: datetime
    transcript_created_at: datetime | None = None
    transcript_purged_at: datetime | None = None


class CourseRollup(Record, frozen=True, kw_only=True):
    """A course's lectures counted by overall status, with their summed progress."""

    counts: Mapping[str, int]
    percent_sum: int
    latest_activity_at: datetime | None


class LectureProgress(Record, frozen=True, kw_only=True):
    """A lecture's status, overall status and progress, as derived from its jobs."""

    lecture_id: str
    status: str
    overall_status: str
    progress_percent: int


def lecture_prefix(lecture_id: str) -> str:
    """Return the storage prefix under which everything of a lecture lives."""
    return f"lectures/{lecture_id}/"


def audio_key(lecture_id: str, extension: str) -> str:
    """Return the key of the lecture's audio (extension comes from the detected format)."""
    return f"lectures/{lecture_id}/audio.{extension}"


def transcript_key(lecture_id: str) -> str:
    """Return the key of the lecture's transcript document."""
    return f"lectures/{lecture_id}/transcript.json"


def chunk_key(lecture_id: str, index: int, start_ms: int, end_ms: int) -> str:
    """Return the key of one finished transcription chunk (kept so a retry resumes)."""
    return f"lectures/{lecture_id}/chunks/{index:05d}-{start_ms}-{end_ms}.json"


def artifact_key(lecture_id: str, artifact_type: str) -> str:
    """Return the key of the lecture's current artifact of this type."""
    return f"lectures/{lecture_id}/artifacts/{artifact_type}.json"


def export_key(lecture_id: str, extension: str) -> str:
    """Return the key of the lecture's export with this file extension."""
    return f"lectures/{lecture_id}/exports/{lecture_id}.{extension}"
