"""AudioProbe port on PyAV."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pegasus_adapters.blob_reader import BlobReader
from pegasus_adapters.offline.audio import guess_extension, probe
from pegasus_core.ports.audio_probe import AudioInfo
from pegasus_core.ports.blob_store import BlobStore


class PyAvAudioProbe:
    """Probe stored files with FFmpeg (through PyAV) in a thread.

    A probe decodes at most half a second of audio, so a thread is enough. Files whose container
    carries no duration (some recorder WebM) are decoded to measure it, up to the duration limit:
    seconds of CPU for a long recording.
    """

    def guess_extension(self, head: bytes) -> str | None:
        """Guess the extension from magic numbers, as the port says."""
        return guess_extension(head)

    async def probe(self, path: Path, *, max_duration_sec: float | None = None) -> AudioInfo:
        """Recognise the file; raises UnsupportedAudioError and TooLargeError as the port says."""
        return await asyncio.to_thread(probe, path, max_duration_sec=max_duration_sec)

    async def probe_stored(
        self, blobs: BlobStore, key: str, size: int, *, max_duration_sec: float | None = None
    ) -> AudioInfo:
        """Recognise a stored object through range reads; raises as probe does."""
        reader = BlobReader(blobs, key, size, asyncio.get_running_loop())
        with reader:
            return await asyncio.to_thread(probe, reader, max_duration_sec=max_duration_sec)
