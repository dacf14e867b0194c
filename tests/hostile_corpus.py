"""The bad-input corpus: hostile files and request values, each with the answer it must get.

Plain data that the HTTP and CLI corpus tests both run. Audio cases follow CONTRACT.md
section 6: a file is accepted when FFmpeg opens it from the stored bytes, it has an audio
stream and its first 10 s decode to at least 0.5 s; a file cut or corrupted after that is
accepted and transcribed as far as it decodes. A file longer than PLC_MAX_AUDIO_DURATION_MIN
gets 413 at ingest, or, when its header hides its length, fails its transcription job with the
same sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.audio_fixtures import encode, speech_pcm, truncate

UNSUPPORTED = "Unsupported audio format."
TOO_LONG = "Audio is longer than the allowed duration."
CLIP_SEC = 12.0
Builder = Callable[[dict[str, Path], Path], object]  # (source clips by format, destination)


@dataclass(frozen=True)
class AudioCase:
    """One hostile upload: how to make it, the name it is uploaded under, what it must get.

    status 201 means accepted; then `decodes_sec` bounds the duration the transcription must
    find (as far as the file decodes), or `job_error` is the sentence its job must fail with.
    """

    name: str
    filename: str
    build: Builder
    status: int
    detail: str | None = None
    decodes_sec: tuple[float, float] | None = None
    job_error: str | None = None


def _bytes(data: bytes) -> Builder:
    return lambda _, dst: dst.write_bytes(data)


def _cut(source: str, fraction: float) -> Builder:
    return lambda clips, dst: truncate(clips[source], dst, fraction)


def _garble(source: str, *, at: float, length: int) -> Builder:
    """Overwrite `length` bytes at fraction `at` of the file with deterministic junk."""

    def build(clips: dict[str, Path], dst: Path) -> object:
        data = bytearray(clips[source].read_bytes())
        start = int(len(data) * at)
        data[start : start + length] = bytes((i * 37 + 11) % 256 for i in range(length))
        dst.write_bytes(bytes(data))

    return build


def _bomb(hours: float, declared_sec: float | None) -> Builder:
    return lambda _, dst: dst.write_bytes(silent_flac(hours * 3600, declared_sec=declared_sec))


PSEUDO_RANDOM = bytes((i * 7919 + (i >> 8) * 104729) % 251 for i in range(64 * 1024))

AUDIO_CASES: tuple[AudioCase, ...] = (
    # Not audio at all, under audio names.
    AudioCase(
        "text named .mp3", "notes.mp3", _bytes(b"My lecture notes.\n" * 400), 415, UNSUPPORTED
    ),
    AudioCase(
        "html named .m4a", "talk.m4a", _bytes(b"<!doctype html><p>hi</p>" * 300), 415, UNSUPPORTED
    ),
    AudioCase(
        "png named .wav", "talk.wav", _bytes(b"\x89PNG\r\n\x1a\n" + PSEUDO_RANDOM), 415, UNSUPPORTED
    ),
    AudioCase(
        "pdf named .flac", "talk.flac", _bytes(b"%PDF-1.7\n" + PSEUDO_RANDOM), 415, UNSUPPORTED
    ),
    AudioCase("random bytes named .opus", "talk.opus", _bytes(PSEUDO_RANDOM), 415, UNSUPPORTED),
    AudioCase("empty file named .mp3", "empty.mp3", _bytes(b""), 415, UNSUPPORTED),
    # Cut before half a second decodes, or the index lost: refused.
    AudioCase("wav cut to 0.2 s", "cut.wav", _cut("wav", 0.02), 415, UNSUPPORTED),
    AudioCase("mp3 cut to its first frames", "cut.mp3", _cut("mp3", 0.02), 415, UNSUPPORTED),
    AudioCase(
        "m4a (index at end) cut in half", "cut.m4a", _cut("m4a_moov_at_end", 0.5), 415, UNSUPPORTED
    ),
    # Corrupt headers: refused, except MP3, whose decoder resyncs on the next frame.
    AudioCase("m4a corrupt header", "bad.m4a", _garble("m4a", at=0, length=64), 415, UNSUPPORTED),
    AudioCase(
        "flac corrupt header", "bad.flac", _garble("flac", at=0, length=64), 415, UNSUPPORTED
    ),
    AudioCase(
        "opus corrupt header", "bad.opus", _garble("opus", at=0, length=64), 415, UNSUPPORTED
    ),
    AudioCase("wav corrupt header", "bad.wav", _garble("wav", at=0, length=64), 415, UNSUPPORTED),
    AudioCase(
        "mp3 corrupt header",
        "bad.mp3",
        _garble("mp3", at=0, length=64),
        201,
        decodes_sec=(11.0, 12.2),
    ),
    # Cut short or corrupted after the first seconds: accepted, transcribed as far as it decodes.
    AudioCase("mp3 cut in half", "half.mp3", _cut("mp3", 0.5), 201, decodes_sec=(4.5, 6.5)),
    AudioCase(
        "m4a (faststart) cut in half", "half.m4a", _cut("m4a", 0.5), 201, decodes_sec=(4.5, 6.5)
    ),
    AudioCase("opus cut in half", "half.opus", _cut("opus", 0.5), 201, decodes_sec=(4.0, 6.5)),
    AudioCase("flac cut in half", "half.flac", _cut("flac", 0.5), 201, decodes_sec=(4.5, 6.5)),
    AudioCase("wav cut in half", "half.wav", _cut("wav", 0.5), 201, decodes_sec=(5.5, 6.5)),
    AudioCase(
        "mp3 corrupt middle",
        "mid.mp3",
        _garble("mp3", at=0.5, length=2000),
        201,
        decodes_sec=(4.5, 12.2),
    ),
    AudioCase(
        "m4a (index at end) corrupt middle",
        "mid.m4a",
        _garble("m4a_moov_at_end", at=0.5, length=2000),
        201,
        decodes_sec=(4.5, 12.2),
    ),
    AudioCase(
        "flac corrupt middle",
        "mid.flac",
        _garble("flac", at=0.5, length=2000),
        201,
        decodes_sec=(4.5, 12.2),
    ),
    # A 64 KB file that decodes to 10 hours of silence.
    AudioCase("10 h in 64 KB, length declared", "bomb.flac", _bomb(10, 10 * 3600), 413, TOO_LONG),
    AudioCase("10 h in 64 KB, length unknown", "bomb.flac", _bomb(10, None), 413, TOO_LONG),
    AudioCase("10 h in 64 KB, header says 2 s", "bomb.flac", _bomb(10, 2), 201, job_error=TOO_LONG),
)


def build_audio_corpus(directory: Path) -> dict[str, Path]:
    """Write every AUDIO_CASES file into directory; return case name -> file."""
    pcm = speech_pcm(CLIP_SEC)
    suffixes = {"mp3": ".mp3", "m4a": ".m4a", "m4a_moov_at_end": ".m4a", "opus": ".opus"}
    clips = {
        fmt: encode(directory / f"source-{fmt}{suffixes.get(fmt, '.' + fmt)}", fmt, pcm)
        for fmt in ("mp3", "m4a", "m4a_moov_at_end", "opus", "flac", "wav")
    }
    files = {}
    for index, case in enumerate(AUDIO_CASES):
        dst = directory / f"case-{index:02d}-{case.filename}"
        case.build(clips, dst)
        files[case.name] = dst
    return files


def silent_flac(seconds: float, *, declared_sec: float | None, rate: int = 8000) -> bytes:
    """Return a FLAC stream of `seconds` of silence in about 5 bytes per second.

    Every frame is a 65535-sample CONSTANT subframe. STREAMINFO declares declared_sec of
    audio (None: unknown), which may be a lie.
    """
    block = 65535
    declared = 0 if declared_sec is None else round(declared_sec * rate)
    # STREAMINFO: block sizes, frame sizes (unknown), rate, mono, 16 bits, samples; no MD5.
    info = (block << 128) | (block << 112) | (rate << 44) | (15 << 36) | declared
    out = bytearray(b"fLaC" + bytes([0x80, 0, 0, 34]) + info.to_bytes(18, "big") + bytes(16))
    for number in range(int(seconds * rate / block) + 1):
        # Sync + fixed blocking, 16-bit block size at the end, 8 kHz, mono, 16 bits.
        head = (
            bytes([0xFF, 0xF8, 0x74, 0x08]) + chr(number).encode() + (block - 1).to_bytes(2, "big")
        )
        frame = head + bytes([_crc8(head)]) + b"\x00\x00\x00"  # CONSTANT subframe of 0
        out += frame + _crc16(frame).to_bytes(2, "big")
    return bytes(out)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


# --- request values ----------------------------------------------------------------------

SQL_METACHARACTERS = (
    "x' OR '1'='1",
    "1; DROP TABLE lectures; --",
    'x" OR 1=1 --',
    "%",
    "x%' --",
    "\\",
    "') UNION SELECT * FROM jobs --",
)
# Valid identifiers holding LIKE wildcards: must match only themselves, never course-1.
WILDCARD_IDS = ("course_1", "course_", "lec_1")
NEWLINE_IDS = ("abc\r\nX-Injected: 1", "abc\nforged log line", "abc\r")
PAGINATION = ("0", "-1", "501", "-9223372036854775809", "1" + "0" * 40, "1e3", "0x10", "five")
OFFSETS = ("-1", "2147483648", "9" * 400, "1.5", "nan")
