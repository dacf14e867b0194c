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

    async def probe(self, path: Path) -> AudioInfo:
        """Open the file with random access and decode its first seconds.

        Raises UnsupportedAudioError unless it has an audio stream whose first 10 s decode to
        at least 0.5 s of samples.
        """
        ...
