"""Recognising audio from stored bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pegasus_core.ports.blob_store import BlobStore
from pegasus_core.records import Record

HEAD_BYTES = 64
"""How many leading bytes guess_extension looks at."""


class AudioInfo(Record, frozen=True, kw_only=True):
    """What a probe found."""

    format_name: str
    extension: str
    content_type: str
    duration_sec: float


class AudioProbe(Protocol):
    """Checks that a stored file is audio Pegasus can transcribe."""

    def guess_extension(self, head: bytes) -> str | None:
        """Guess from the first HEAD_BYTES of a file the extension a probe would report.

        Only a guess, to store an upload under its final name at once (a probe still decides);
        None when the first bytes do not tell.
        """
        ...

    async def probe(self, path: Path, *, max_duration_sec: float | None = None) -> AudioInfo:
        """Open the file with random access and decode its first seconds.

        Raises UnsupportedAudioError unless it has an audio stream whose first 10 s decode to
        at least 0.5 s of samples. Raises TooLargeError when a file whose container gives no
        duration decodes past max_duration_sec (decoding stops there: a tiny file may decode
        to hours).
        """
        ...

    async def probe_stored(
        self, blobs: BlobStore, key: str, size: int, *, max_duration_sec: float | None = None
    ) -> AudioInfo:
        """Probe an object of size bytes in place, with range reads (no copy of the object).

        Raises as probe does, and BlobNotFoundError if the object is absent.
        """
        ...
