"""SRT and WebVTT exports parse with subtitle libraries and match the transcript segments."""

from __future__ import annotations

from pathlib import Path

import pytest
import srt
import webvtt

from pegasus_core.pegasus import Pegasus
from tests.helpers import ingest


async def exported(pegasus: Pegasus, export_type: str) -> str:
    opened = await pegasus.open_export("lec-1", export_type)
    return b"".join([chunk async for chunk in opened.chunks]).decode("utf-8")


@pytest.fixture
async def processed(pegasus: Pegasus, speech_clip: Path) -> Pegasus:
    await ingest(pegasus, speech_clip, auto_process=True)
    return pegasus


async def test_srt_cues_are_the_transcript_segments(processed: Pegasus) -> None:
    segments = (await processed.get_transcript("lec-1")).segments
    cues = list(srt.parse(await exported(processed, "srt")))
    assert [(c.index, c.content) for c in cues] == [(i, s.text) for i, s in enumerate(segments, 1)]
    for cue, segment in zip(cues, segments, strict=True):
        assert abs(cue.start.total_seconds() - segment.start_sec) < 0.001
        assert abs(cue.end.total_seconds() - segment.end_sec) < 0.002


async def test_vtt_cues_are_the_transcript_segments(processed: Pegasus) -> None:
    segments = (await processed.get_transcript("lec-1")).segments
    captions = list(webvtt.from_string(await exported(processed, "vtt")))
    assert [c.text for c in captions] == [s.text for s in segments]
    for caption, segment in zip(captions, segments, strict=True):
        assert (caption.start, caption.end) == (
            _clock(segment.start_sec),
            _clock(max(segment.end_sec, segment.start_sec + 0.001)),
        )
    opened = await processed.open_export("lec-1", "vtt")
    assert (opened.filename, opened.content_type) == ("lec-1.vtt", "text/vtt")


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:"
        f"{millis // 1000 % 60:02d}.{millis % 1000:03d}"
    )
