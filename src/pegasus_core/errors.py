"""Every error the core raises on purpose; drivers map these (and only these) to answers."""

from __future__ import annotations


class PegasusError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, **extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class NotFoundError(PegasusError):
    """A named thing does not exist (404)."""


class ConflictError(PegasusError):
    """The request conflicts with the current state (409)."""


class InvalidRequestError(PegasusError, ValueError):
    """An identifier or a contract rule was broken by the caller (400)."""


class ValidationError(PegasusError, ValueError):
    """A value fails type, range, enum, length or required-field validation (422)."""


class TooLargeError(PegasusError):
    """The upload or the audio is over a configured limit (413)."""


class UnsupportedAudioError(PegasusError):
    """The bytes are not audio that FFmpeg can decode (415)."""

    def __init__(self, message: str = "Unsupported audio format.") -> None:
        super().__init__(message)


class UnavailableError(PegasusError):
    """A dependency is down or timed out (503); the only errors a job retries."""


class StorageAccessDeniedError(UnavailableError):
    """The storage refused our credentials or permissions (503 until an operator fixes them)."""

    def __init__(self, message: str = "Storage access denied.") -> None:
        super().__init__(message)


class ConfigError(PegasusError):
    """Settings are invalid; the message lists every problem, one line each."""


class ExportNotReadyError(PegasusError):
    """An export cannot be rendered from what is stored (a permanent job failure)."""


class LeaseLostError(PegasusError):
    """A job attempt no longer owns its job (taken back, cancelled or deleted): stop at once."""


class LectureNotFoundError(NotFoundError):
    """No lecture has this id."""

    def __init__(self, lecture_id: str) -> None:
        super().__init__("Lecture not found.", lectureId=lecture_id)
        self.lecture_id = lecture_id


class CourseNotFoundError(NotFoundError):
    """No course has this id."""

    def __init__(self, course_id: str) -> None:
        super().__init__("Course not found.", courseId=course_id)


class JobNotFoundError(NotFoundError):
    """No job has this id."""

    def __init__(self, job_id: str) -> None:
        super().__init__("Job not found.", jobId=job_id)


class PresetNotFoundError(NotFoundError):
    """No preset has this id."""

    def __init__(self, preset_id: str) -> None:
        super().__init__("Preset not found.", presetId=preset_id)


class TranscriptNotFoundError(NotFoundError):
    """The lecture has no transcript yet."""

    def __init__(self, lecture_id: str) -> None:
        super().__init__("Transcript not found for lecture.", lectureId=lecture_id)


class ArtifactNotFoundError(NotFoundError):
    """The lecture has no artifact of this type (or the type is unknown)."""

    def __init__(self, lecture_id: str, artifact_type: str) -> None:
        super().__init__("Artifact not found.", lectureId=lecture_id, artifactType=artifact_type)


class ExportNotFoundError(NotFoundError):
    """The export type is unknown or has not been rendered yet."""

    def __init__(self, lecture_id: str) -> None:
        super().__init__("Export not found.", lectureId=lecture_id)


class BlobNotFoundError(NotFoundError):
    """No stored object has this key."""

    def __init__(self, key: str) -> None:
        super().__init__("Stored object not found.", path=key)


class LectureExistsError(ConflictError):
    """A lecture with this id already exists."""

    def __init__(self, lecture_id: str) -> None:
        super().__init__("Lecture already exists.", lectureId=lecture_id)


class DuplicateKeyError(ConflictError):
    """A row with the same unique key exists (raised by repositories)."""
