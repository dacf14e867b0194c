import time
from array import array
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from pegasus_adapters.offline.audio import SAMPLE_RATE, decode_to_pcm, plan_chunks
from pegasus_core.transcripts import ChunkSpan
from tests.audio_fixtures import SAMPLE, silence_pcm, tone_pcm


def write_pcm(path: Path, *pieces: tuple[str, float]) -> Path:
    """Write tone/silence pieces, e.g. ("tone", 30), ("silence", 1), as one PCM file."""
    with path.open("wb") as out:
        for kind, seconds in pieces:
            out.write(_tone(seconds) if kind == "tone" else silence_pcm(seconds))
    return path


@cache
def _tone(seconds: float) -> bytes:
    return tone_pcm(seconds)


def assert_cover(chunks: list[ChunkSpan], duration_sec: float) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_sec == 0.0
    assert chunks[-1].end_sec == pytest.approx(duration_sec, abs=1e-6)
    for before, after in pairwise(chunks):
        assert before.end_sec == after.start_sec
    assert all(c.end_sec > c.start_sec for c in chunks)


def test_a_cut_falls_inside_the_silence_between_target_and_max(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", ("tone", 33), ("silence", 1), ("tone", 20))

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45)

    assert 33.0 < chunks[0].end_sec < 34.0
    assert_cover(chunks, 54)


def test_the_longest_silence_in_the_window_wins(tmp_path: Path) -> None:
    pcm = write_pcm(
        tmp_path / "a.pcm",
        ("tone", 31),
        ("silence", 0.4),
        ("tone", 5),
        ("silence", 1.2),  # 36.4 .. 37.6
        ("tone", 20),
    )

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45)

    assert 36.4 < chunks[0].end_sec < 37.6


def test_a_silence_before_the_target_is_not_used(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", ("tone", 20), ("silence", 1), ("tone", 40))

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45)

    assert chunks[0].end_sec == 45.0


def test_audio_without_silence_is_cut_hard_at_max_sec(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", ("tone", 100))

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45, min_sec=5)

    assert [(c.start_sec, c.end_sec) for c in chunks] == [(0, 45), (45, 90), (90, 100)]


def test_the_last_chunk_is_never_shorter_than_min_sec(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", ("tone", 46))

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45, min_sec=5)

    assert [(c.start_sec, c.end_sec) for c in chunks] == [(0, 41), (41, 46)]


def test_short_audio_is_one_chunk(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", ("tone", 2), ("silence", 1), ("tone", 0.123))

    chunks = plan_chunks(pcm)

    assert chunks == [ChunkSpan(index=0, start_sec=0.0, end_sec=3.123)]


def test_every_chunk_stays_within_max_sec_and_all_audio_is_covered(tmp_path: Path) -> None:
    pcm = write_pcm(
        tmp_path / "a.pcm",
        *[
            ("tone", 7.0 + i % 5) if i % 2 == 0 else ("silence", 0.3 + i % 3 / 10)
            for i in range(41)
        ],
    )
    duration = pcm.stat().st_size / 2 / SAMPLE_RATE

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45)

    assert_cover(chunks, duration)
    assert all(c.duration_sec <= 45.0 + 1e-9 for c in chunks)
    assert all(c.duration_sec >= 30.0 for c in chunks[:-1])


def test_the_lecture_is_cut_where_the_speaker_pauses(tmp_path: Path) -> None:
    pcm = tmp_path / "lecture.pcm"
    duration = decode_to_pcm(SAMPLE, pcm, max_duration_sec=None)
    samples = array("h", pcm.read_bytes())
    mean_level = sum(map(abs, samples)) / len(samples)

    chunks = plan_chunks(pcm, target_sec=30, max_sec=45)

    assert_cover(chunks, duration)
    assert len(chunks) >= 2
    for chunk in chunks[1:]:
        at = round(chunk.start_sec * SAMPLE_RATE)
        around = samples[at - 800 : at + 800]  # 50 ms either side of the cut
        assert sum(map(abs, around)) / len(around) < 0.1 * mean_level


def test_planning_ten_minutes_takes_well_under_two_seconds(tmp_path: Path) -> None:
    pcm = write_pcm(tmp_path / "a.pcm", *[("tone", 9.5), ("silence", 0.5)] * 60)

    started = time.perf_counter()
    chunks = plan_chunks(pcm)
    elapsed = time.perf_counter() - started

    assert_cover(chunks, 600)
    assert elapsed < 2.0


def test_decoding_writes_16_khz_mono_pcm_and_returns_its_duration(tmp_path: Path) -> None:
    pcm = tmp_path / "lecture.pcm"

    duration = decode_to_pcm(SAMPLE, pcm, max_duration_sec=None)

    assert duration == pytest.approx(95.0, abs=0.5)
    assert pcm.stat().st_size == round(duration * SAMPLE_RATE) * 2
