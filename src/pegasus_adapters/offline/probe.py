"""AudioProbe port on PyAV."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pegasus_adapters.offline.audio import probe
from pegasus_core.ports.audio_probe import AudioInfo


class PyAvAudioProbe:
    """Probe stored files with FFmpeg (through PyAV) in a thread.

    A probe decodes at most half a second of audio, so a thread is enough. Files whose container
    carries no duration (some recorder WebM) are decoded to measure it, up to the duration limit:
    seconds of CPU for a long recording.
    """

    async def probe(self, path: Path, *, max_duration_sec: float | None = None) -> AudioInfo:
        """Recognise the file; raises UnsupportedAudioError and TooLargeError as the port says."""
        return await asyncio.to_thread(probe, path, max_duration_sec=max_duration_sec)
