"""Speech to text: plan chunks of an audio file, then transcribe them one by one."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from pegasus_core.transcripts import ChunkSpan, Engine, Segment


class TranscriptionSession(Protocol):
    """An audio file opened for transcription: its duration and its planned chunks."""

    @property
    def duration_sec(self) -> float:
        """Return the decoded duration of the audio."""
        ...

    @property
    def chunks(self) -> Sequence[ChunkSpan]:
        """Return the planned chunks, ordered, contiguous, each within the engine's limits."""
        ...

    async def transcribe(self, chunk: ChunkSpan, *, prompt: str = "") -> list[Segment]:
        """Transcribe one chunk; segment times are relative to the chunk's start.

        Raises UnavailableError for transient failures, UnsupportedAudioError when the audio
        cannot be decoded. Safe to call concurrently up to Transcriber.max_concurrency.
        """
        ...


class Transcriber(Protocol):
    """A speech-to-text engine."""

    @property
    def engine(self) -> Engine:
        """Name the engine (provider and model) recorded on the transcript."""
        ...

    @property
    def max_concurrency(self) -> int:
        """Return how many chunks may be transcribed at once."""
        ...

    def supports_language(self, language: str) -> bool:
        """Tell whether the engine can transcribe this language (ISO 639-1 code)."""
        ...

    def open(
        self, audio: Path, *, language: str, max_duration_sec: float | None = None
    ) -> AbstractAsyncContextManager[TranscriptionSession]:
        """Decode and plan the audio.

        Raises UnsupportedAudioError for undecodable audio, TooLargeError when the decoded
        audio is longer than max_duration_sec, and InvalidRequestError for a language the
        engine does not support.
        """
        ...
