from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from pegasus_core.jobs import retry_at, time_limit_sec
from pegasus_core.transcripts import ChunkResult, ChunkSpan, Segment, merge_chunks, shift_segments

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_backoff_waits_follow_the_configured_list_and_stop_at_max_attempts() -> None:
    waits = [
        retry_at(attempts=n, max_attempts=4, backoff_sec=(10, 60, 300), now=T0)
        for n in (1, 2, 3, 4)
    ]
    assert waits == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=60),
        T0 + timedelta(seconds=300),
        None,
    ]


def test_the_last_backoff_value_repeats() -> None:
    assert retry_at(attempts=5, max_attempts=9, backoff_sec=(1, 2), now=T0) == T0 + timedelta(
        seconds=2
    )


def test_time_limit_scales_with_duration_with_a_floor() -> None:
    assert time_limit_sec(duration_sec=None, factor=3) == 300
    assert time_limit_sec(duration_sec=50, factor=3) == 300
    assert time_limit_sec(duration_sec=3600, factor=3) == 10800


def seg(start: float, end: float, text: str = "w") -> Segment:
    return Segment(start_sec=start, end_sec=end, text=text)


def test_shift_moves_chunk_relative_segments_and_clips_them_to_the_chunk() -> None:
    span = ChunkSpan(index=1, start_sec=30.0, end_sec=60.0)
    shifted = shift_segments([seg(0.5, 2.0, "a"), seg(29.0, 31.0, "b"), seg(1, 2, "  ")], span)
    assert [(s.start_sec, s.end_sec, s.text) for s in shifted] == [
        (30.5, 32.0, "a"),
        (59.0, 60.0, "b"),
    ]


def test_merge_orders_chunks_and_removes_overlap_without_dropping_text() -> None:
    first = ChunkResult(
        span=ChunkSpan(index=0, start_sec=0, end_sec=10),
        segments=(seg(0, 4, "a"), seg(4, 10.5, "b")),
    )
    second = ChunkResult(
        span=ChunkSpan(index=1, start_sec=10, end_sec=20),
        segments=(seg(10.2, 15, "c"), seg(16, 25, "d")),
    )
    merged = merge_chunks([second, first], duration_sec=20.0)
    assert [(s.start_sec, s.end_sec, s.text) for s in merged] == [
        (0, 4, "a"),
        (4, 10.5, "b"),
        (10.5, 15, "c"),
        (16, 20, "d"),
    ]
    assert all(a.end_sec <= b.start_sec for a, b in itertools.pairwise(merged))
