"""Request-sized chunks: cut at silences within a model's limits, encoded compactly as Ogg Opus.

The cutting itself is the offline engine's planner (`plan_chunks` over the decoded PCM); this
module only derives its bounds from a model's capabilities and encodes each chunk for upload.
Both functions block: callers run them in a thread.
"""

from __future__ import annotations

import io
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from pegasus_adapters.offline.audio import SAMPLE_BYTES, SAMPLE_RATE, plan_chunks
from pegasus_adapters.openai.capabilities import ModelCapabilities
from pegasus_core.errors import PegasusError
from pegasus_core.transcripts import ChunkSpan

BITRATE = 24_000
"""Opus bits per second: plenty for 16 kHz mono speech, about 11 MB per hour."""
CONTENT_TYPE = "audio/ogg"

# Opus is variable-bitrate and Ogg adds page headers: plan for a quarter more bytes than the
# nominal rate, and for 95% of a duration cap (the server measures the decoded file).
_BYTES_MARGIN = 0.8
_DURATION_MARGIN = 0.95
_STRETCH = 1.5  # the longest chunk, relative to the target, when silences are scarce
_BLOCK_SAMPLES = SAMPLE_RATE * 10


def chunk_bounds(caps: ModelCapabilities, *, target_sec: float) -> tuple[float, float, float]:
    """Return plan_chunks' (target_sec, max_sec, min_sec) for a model and a wished chunk length.

    max_sec keeps an encoded chunk within the model's size and duration caps with a margin;
    the target shrinks to two thirds of it when the wish does not fit.
    """
    if target_sec <= 0:
        raise ValueError("target_sec must be positive")
    ceiling = caps.max_request_bytes * _BYTES_MARGIN / (BITRATE / 8)
    if caps.max_request_sec is not None:
        ceiling = min(ceiling, caps.max_request_sec * _DURATION_MARGIN)
    longest = min(target_sec * _STRETCH, ceiling)
    target = min(target_sec, longest * 2 / 3)
    return target, longest, min(60.0, longest - target)


def plan_requests(pcm: Path, caps: ModelCapabilities, *, target_sec: float) -> list[ChunkSpan]:
    """Split a PCM file from decode_to_pcm into chunks cut at silences, each within caps."""
    target, longest, shortest = chunk_bounds(caps, target_sec=target_sec)
    return plan_chunks(pcm, target_sec=target, max_sec=longest, min_sec=shortest)


def encode_chunk(pcm: Path, span: ChunkSpan, caps: ModelCapabilities) -> bytes:
    """Encode one chunk of the PCM file as 16 kHz mono Ogg Opus and return the file's bytes.

    Raises PegasusError (permanent) if the result is still over the model's size cap, which the
    planner's margins should make impossible.
    """
    first = round(span.start_sec * SAMPLE_RATE)
    last = round(span.end_sec * SAMPLE_RATE)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        # 60 ms frames at the lowest complexity: about four times cheaper to encode, and to
        # decode, than the defaults (measured), while 24 kbps keeps mono speech clear.
        options = {"application": "audio", "frame_duration": "60", "compression_level": "0"}
        stream: Any = out.add_stream("libopus", rate=SAMPLE_RATE, layout="mono", options=options)
        stream.bit_rate = BITRATE
        for frame in _frames(pcm, first, last):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = buffer.getvalue()
    if len(data) > caps.max_request_bytes:
        raise PegasusError(
            f"Chunk {span.index} encodes to {len(data)} bytes, over the model's "
            f"{caps.max_request_bytes}-byte request limit."
        )
    return data


def _frames(pcm: Path, first: int, last: int) -> Iterator[Any]:
    """Yield s16 mono frames of samples [first, last) of the PCM file, 10 s at a time."""
    pts = 0
    with pcm.open("rb") as f:
        f.seek(first * SAMPLE_BYTES)
        remaining = last - first
        while remaining > 0:
            data = f.read(min(remaining, _BLOCK_SAMPLES) * SAMPLE_BYTES)
            count = len(data) // SAMPLE_BYTES
            if count == 0:
                return
            data = data[: count * SAMPLE_BYTES]
            if sys.byteorder == "big":  # the PCM file is little-endian; s16 frames are native
                swapped = array("h", data)
                swapped.byteswap()
                data = swapped.tobytes()
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(data)
            frame.sample_rate = SAMPLE_RATE
            frame.pts = pts
            pts += count
            remaining -= count
            yield frame
