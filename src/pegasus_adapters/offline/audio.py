"""PyAV helpers: decode to 16 kHz mono PCM, plan chunks at silences, probe stored audio.

Every function here is plain, blocking and picklable by name, so callers run it in a process pool
(transcription) or a thread (probing); none of them holds a whole file in memory.
"""

from __future__ import annotations

import io
import sys
from array import array
from collections.abc import Generator
from contextlib import closing
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import av

from pegasus_core.errors import TooLargeError, UnsupportedAudioError
from pegasus_core.ports.audio_probe import AudioInfo
from pegasus_core.transcripts import ChunkSpan

SAMPLE_RATE = 16_000
"""Samples per second of the PCM files written by decode_to_pcm (mono, s16le)."""
SAMPLE_BYTES = 2
TOO_LONG = "Audio is longer than the allowed duration."

_FRAME_MS = 20  # energy frame: short enough to find the gap between two sentences
_FRAME_SAMPLES = SAMPLE_RATE * _FRAME_MS // 1000
_BLOCK_FRAMES = 500  # read 10 s of PCM at a time
_MIN_SILENCE_FRAMES = 10  # 0.2 s: shorter dips are plosives and pauses inside words
_PROBE_WINDOW_SEC = 10.0
_PROBE_MIN_SEC = 0.5

# Whitelist from FFmpeg's demuxer name to (extension, content type); the codec refines ogg and
# matroska. Anything else FFmpeg decodes is accepted but stored under a neutral name.
_TYPES: dict[str, tuple[str, str]] = {
    "mp3": ("mp3", "audio/mpeg"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "audio/mp4"),
    "ogg": ("ogg", "audio/ogg"),
    "flac": ("flac", "audio/flac"),
    "wav": ("wav", "audio/wav"),
    "matroska,webm": ("webm", "audio/webm"),
    "aac": ("aac", "audio/aac"),
    "aiff": ("aiff", "audio/aiff"),
    "amr": ("amr", "audio/amr"),
    "asf": ("wma", "audio/x-ms-wma"),
    "caf": ("caf", "audio/x-caf"),
}
_UNKNOWN_TYPE = ("bin", "application/octet-stream")

Source = Path | io.RawIOBase
"""A file to decode: a path, or a seekable binary file object (a stored object read by range)."""


def decode_to_pcm(src: Path, dst: Path, *, max_duration_sec: float | None) -> float:
    """Decode the first audio stream of src to 16 kHz mono s16le raw PCM at dst; return seconds.

    Streams frame by frame. A file that breaks partway keeps what decoded before the break.

    Raises:
        UnsupportedAudioError: FFmpeg cannot open the file or decodes no audio from it.
        TooLargeError: the decoded audio passes max_duration_sec (decoding stops there).
    """
    limit = None if max_duration_sec is None else round(max_duration_sec * SAMPLE_RATE)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    written = 0
    with closing(_audio_frames(src)) as frames, dst.open("wb") as out:
        for frame in chain(frames, [None]):  # None flushes the resampler
            for chunk in resampler.resample(frame):
                written += _write_samples(out, chunk)
            if limit is not None and written > limit:
                raise TooLargeError(TOO_LONG)
    if written == 0:
        raise UnsupportedAudioError()
    return written / SAMPLE_RATE


def decoded_duration(src: Source, *, max_duration_sec: float | None = None) -> float:
    """Decode src without keeping samples and return its length in seconds.

    Raises the same errors as decode_to_pcm; cheaper because nothing is resampled or written.
    """
    samples: dict[int, int] = {}  # per sample rate: exact integer sums, no float drift
    total = 0.0
    with closing(_audio_frames(src)) as frames:
        for frame in frames:
            samples[frame.sample_rate] = samples.get(frame.sample_rate, 0) + frame.samples
            total = sum(count / rate for rate, count in samples.items())
            if max_duration_sec is not None and total > max_duration_sec:
                raise TooLargeError(TOO_LONG)
    if total == 0.0:
        raise UnsupportedAudioError()
    return total


def plan_chunks(
    pcm: Path, *, target_sec: float = 30.0, max_sec: float = 45.0, min_sec: float = 5.0
) -> list[ChunkSpan]:
    """Split a PCM file from decode_to_pcm into contiguous chunks that cover it, cut at silences.

    Each cut falls in the longest (then quietest) silence between target_sec and max_sec after
    the chunk's start, or exactly at max_sec when there is none there. Only the last chunk may be
    shorter than target_sec, and it is at least min_sec long unless the whole audio is.
    """
    if not 0 < target_sec <= max_sec or not 0 <= min_sec <= max_sec - target_sec:
        raise ValueError("need 0 < target_sec <= max_sec and 0 <= min_sec <= max_sec - target_sec")
    levels = _frame_levels(pcm)
    total_samples = pcm.stat().st_size // SAMPLE_BYTES
    silences = _silences(levels)
    target, longest, shortest = (_to_frames(s) for s in (target_sec, max_sec, min_sec))
    cuts: list[int] = []
    start = 0
    while len(levels) - start > longest:
        low, high = start + target, min(start + longest, len(levels) - shortest)
        start = _best_cut(silences, levels, low, high)
        cuts.append(start)
    bounds = [0.0, *(c * _FRAME_MS / 1000 for c in cuts), total_samples / SAMPLE_RATE]
    return [ChunkSpan(index=i, start_sec=a, end_sec=b) for i, (a, b) in enumerate(pairwise(bounds))]


def probe(path: Source, *, max_duration_sec: float | None = None) -> AudioInfo:
    """Recognise stored audio by opening the file itself (random access: moov-at-end M4A works).

    Raises:
        UnsupportedAudioError: FFmpeg cannot open it, it has no audio stream, or its first 10 s
            decode to less than 0.5 s of samples.
        TooLargeError: the container gives no duration and the audio decodes past
            max_duration_sec (decoding stops there).
    """
    container = _open(path)
    with container:
        if not container.streams.audio:
            raise UnsupportedAudioError()
        stream = container.streams.audio[0]
        extension, content_type = _file_type(container.format.name, stream.codec_context.name)
        duration = _container_duration(container, stream)
        if _decoded_prefix_sec(container, stream) < _PROBE_MIN_SEC:
            raise UnsupportedAudioError()
        format_name = str(container.format.name)
    if duration is None:  # no usable metadata (e.g. recorder WebM): count the samples
        duration = decoded_duration(path, max_duration_sec=max_duration_sec)
    return AudioInfo(
        format_name=format_name,
        extension=extension,
        content_type=content_type,
        duration_sec=round(duration, 3),
    )


def guess_extension(head: bytes) -> str | None:
    """Guess, from a file's first bytes, the extension probe() will report; None if unsure.

    Magic numbers of the whitelisted containers only. Matroska/WebM is left to the probe: its
    extension depends on a codec recorded far into the file.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"OggS":
        if head[28:36] == b"OpusHead":
            return "opus"
        return "ogg" if head[28:35] == b"\x01vorbis" else None
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:5] == b"#!AMR":
        return "amr"
    if head[:16] == _ASF_HEADER:
        return "wma"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "aac" if head[1] & 0x06 == 0 else "mp3"  # layer bits 00: an ADTS AAC frame
    return None


_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _to_frames(seconds: float) -> int:
    return round(seconds * 1000 / _FRAME_MS)


def _open(path: Source) -> Any:
    if not isinstance(path, Path):
        path.seek(0)  # a file object is opened again from its start (decoded_duration after probe)
    try:
        return av.open(str(path) if isinstance(path, Path) else path, mode="r")
    except av.FFmpegError as exc:
        if isinstance(exc, FileNotFoundError):  # a missing file is a bug, not a format problem
            raise
        raise UnsupportedAudioError() from exc


def _audio_frames(src: Source) -> Generator[Any, None, None]:
    """Yield the decoded frames of the first audio stream, ending quietly at a corrupt tail."""
    with _open(src) as container:
        if not container.streams.audio:
            raise UnsupportedAudioError()
        decoded_any = False
        try:
            for frame in container.decode(container.streams.audio[0]):
                decoded_any = decoded_any or frame.samples > 0
                yield frame
        except av.FFmpegError as exc:
            if not decoded_any:
                raise UnsupportedAudioError() from exc


def _write_samples(out: Any, frame: Any) -> int:
    # A plane's buffer can be padded past the last sample, so slice to the real length.
    data = memoryview(frame.planes[0])[: frame.samples * SAMPLE_BYTES]
    if sys.byteorder == "big":  # s16 is native-endian; the PCM file is little-endian
        swapped = array("h", data.tobytes())
        swapped.byteswap()
        data = memoryview(swapped.tobytes())
    out.write(data)
    return int(frame.samples)


def _frame_levels(pcm: Path) -> list[float]:
    """Return the mean absolute amplitude of each 20 ms frame.

    Every other sample is enough for a level and halves the pure-Python work (about 0.2 s per
    10 minutes of audio).
    """
    levels: list[float] = []
    with pcm.open("rb") as f:
        while block := f.read(_FRAME_SAMPLES * _BLOCK_FRAMES * SAMPLE_BYTES):
            samples = array("h")
            samples.frombytes(block[: len(block) - len(block) % SAMPLE_BYTES])
            if sys.byteorder == "big":
                samples.byteswap()
            for i in range(0, len(samples), _FRAME_SAMPLES):
                frame = samples[i : i + _FRAME_SAMPLES : 2]
                levels.append(sum(map(abs, frame)) / len(frame))
    return levels


def _silences(levels: list[float]) -> list[tuple[int, int]]:
    """Return [start, end) frame runs clearly quieter than the speech around them.

    The threshold sits just above the noise floor (1st percentile of levels), relative to the
    speech level (90th percentile), so it adapts to recording gain and room noise. Audio without
    a clear floor (music, a constant tone, white noise) has no silences and gets hard cuts.
    """
    if not levels:
        return []
    ranked = sorted(levels)
    floor, speech = ranked[len(ranked) // 100], ranked[len(ranked) * 9 // 10]
    if speech <= floor * 1.5 + 1.0:
        return []
    threshold = floor + 0.15 * (speech - floor)
    runs: list[tuple[int, int]] = []
    run_start: int | None = None
    for i, level in enumerate([*levels, threshold]):  # the sentinel closes a trailing run
        if level < threshold and run_start is None:
            run_start = i
        elif level >= threshold and run_start is not None:
            if i - run_start >= _MIN_SILENCE_FRAMES:
                runs.append((run_start, i))
            run_start = None
    return runs


def _best_cut(silences: list[tuple[int, int]], levels: list[float], low: int, high: int) -> int:
    """Pick the cut frame in [low, high]: middle of the longest, then quietest, silence there."""
    best: tuple[int, float, int] | None = None
    for start, end in silences:
        a, b = max(start, low), min(end, high + 1)
        if b - a <= 0:
            continue
        quiet = sum(levels[a:b]) / (b - a)
        if best is None or (b - a, -quiet) > (best[0], -best[1]):
            best = (b - a, quiet, (a + b) // 2)
    return high if best is None else best[2]


def _file_type(format_name: str, codec: str) -> tuple[str, str]:
    extension, content_type = _TYPES.get(format_name, _UNKNOWN_TYPE)
    if format_name == "ogg" and codec == "opus":
        return "opus", content_type
    if format_name == "matroska,webm" and codec not in ("opus", "vorbis"):
        return "mka", "audio/x-matroska"
    return extension, content_type


def _container_duration(container: Any, stream: Any) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _decoded_prefix_sec(container: Any, stream: Any) -> float:
    """Decode up to the first 10 s; return how many seconds of samples came out (at most 0.5)."""
    decoded = 0.0
    try:
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > _PROBE_WINDOW_SEC:
                break
            decoded += frame.samples / frame.sample_rate
            if decoded >= _PROBE_MIN_SEC:
                break
    except av.FFmpegError:
        pass  # a broken file counts only what decoded before the break
    return decoded
