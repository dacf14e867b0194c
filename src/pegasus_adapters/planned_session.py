"""What every engine's transcription session shares: the decoded duration and the plan."""

from __future__ import annotations

from collections.abc import Sequence

from pegasus_core.transcripts import ChunkSpan


class PlannedSession:
    """The TranscriptionSession properties, fixed when the audio was decoded and planned."""

    def __init__(self, duration_sec: float, chunks: Sequence[ChunkSpan]) -> None:
        self._duration_sec = duration_sec
        self._chunks = tuple(chunks)

    @property
    def duration_sec(self) -> float:
        """Return the decoded duration."""
        return self._duration_sec

    @property
    def chunks(self) -> Sequence[ChunkSpan]:
        """Return the planned chunks: ordered, contiguous, within the engine's limits."""
        return self._chunks
