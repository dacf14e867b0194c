"""Recognising audio from stored bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pegasus_core.records import Record


class AudioInfo(Record, frozen=True, kw_only=True):
    """What a probe found."""

    format_name: str
    extension: str
    content_type: str
    duration_sec: float


class AudioProbe(Protocol):
    """Checks that a stored file is audio Pegasus can transcribe."""

    async def probe(self, path: Path, *, max_duration_sec: float | None = None) -> AudioInfo:
        """Open the file with random access and decode its first seconds.

        Raises UnsupportedAudioError unless it has an audio stream whose first 10 s decode to
        at least 0.5 s of samples. Raises TooLargeError when a file whose container gives no
        duration decodes past max_duration_sec (decoding stops there: a tiny file may decode
        to hours).
        """
        ...
