"""Audio files for tests: the sample lecture transcoded to each accepted format, tones, and silence.

Plain functions (fixtures call them); each writes a few seconds of audio at 16 kHz mono, so a whole
set takes well under a second to make.
"""

from __future__ import annotations

import math
import struct
import sys
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "lecture.opus"
SAMPLE_TEXT = ROOT / "samples" / "lecture.txt"
RATE = 16_000

# name -> (muxer, encoder, file suffix, muxer options)
FORMATS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "mp3": ("mp3", "libmp3lame", ".mp3", {}),
    "m4a": ("mp4", "aac", ".m4a", {"movflags": "faststart"}),
    "m4a_moov_at_end": ("mp4", "aac", ".m4a", {}),  # PyAV's default: index after the data
    "opus": ("ogg", "libopus", ".opus", {}),
    "flac": ("flac", "flac", ".flac", {}),
    "wav": ("wav", "pcm_s16le", ".wav", {}),
}


def speech_pcm(seconds: float | None = None, *, src: Path = SAMPLE) -> bytes:
    """Return the first `seconds` of src (all of it when None) as 16 kHz mono s16 PCM."""
    limit = None if seconds is None else round(seconds * RATE) * 2
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    pcm = bytearray()
    with av.open(str(src)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm += memoryview(out.planes[0])[: out.samples * 2]
            if limit is not None and len(pcm) >= limit:
                break
    return bytes(pcm if limit is None else pcm[:limit])


def encode(dst: Path, fmt: str, pcm: bytes) -> Path:
    """Encode 16 kHz mono s16 PCM into dst in one of FORMATS."""
    muxer, codec, _, options = FORMATS[fmt]
    with av.open(str(dst), "w", format=muxer, options=options) as out:
        stream: Any = out.add_stream(codec, rate=RATE, layout="mono")
        for frame in _frames(pcm):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst


def make_speech_clip(dst: Path, seconds: float, fmt: str = "wav") -> Path:
    """Write the first seconds of the sample lecture to dst in fmt."""
    return encode(dst, fmt, speech_pcm(seconds))


def make_tone_clip(dst: Path, seconds: float, *, hz: float = 440.0) -> Path:
    """Write a WAV file holding a sine tone (audio with no silence in it)."""
    return write_wav(dst, tone_pcm(seconds, hz=hz))


def tone_pcm(seconds: float, *, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    """Return a sine tone as 16 kHz mono s16le PCM."""
    step = 2 * math.pi * hz / RATE
    samples = array(
        "h", (round(amplitude * math.sin(i * step)) for i in range(round(seconds * RATE)))
    )
    return _le(samples)


def silence_pcm(seconds: float) -> bytes:
    """Return digital silence as 16 kHz mono s16le PCM."""
    return bytes(round(seconds * RATE) * 2)


def write_wav(dst: Path, pcm: bytes) -> Path:
    """Wrap 16 kHz mono s16le PCM in a WAV file."""
    with wave.open(str(dst), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return dst


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first fraction of src's bytes: a file cut short partway."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def top_level_boxes(path: Path) -> list[tuple[str, int]]:
    """Return (type, offset) of each top-level ISO BMFF box of an MP4/M4A file."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:  # 64-bit size follows the type
            (size,) = struct.unpack_from(">Q", data, offset + 8)
        elif size == 0:  # box runs to the end of the file
            size = len(data) - offset
        boxes.append((kind.decode("latin-1"), offset))
        offset += size
    return boxes


def moov_after_mdat(path: Path) -> bool:
    """Tell whether the index ('moov') comes after the media data ('mdat'): not faststart."""
    offsets = dict(top_level_boxes(path))
    return offsets["moov"] > offsets["mdat"]


def _frames(pcm: bytes, samples: int = 1024) -> Iterator[Any]:
    for at in range(0, len(pcm), samples * 2):
        piece = pcm[at : at + samples * 2]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
        frame.planes[0].update(piece)
        frame.sample_rate = RATE
        yield frame


def _le(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()
