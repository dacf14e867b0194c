"""Transcripts: timed segments and the rules that keep them ordered and non-overlapping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pegasus_core.records import Record


class Segment(Record, frozen=True, kw_only=True):
    """A stretch of speech on the lecture's timeline."""

    start_sec: float
    end_sec: float
    text: str


class Engine(Record, frozen=True, kw_only=True):
    """Which engine produced a transcript or an artifact."""

    provider: str
    model: str


class Transcript(Record, frozen=True, kw_only=True):
    """The transcript document stored at lectures/<id>/transcript.json."""

    lecture_id: str
    language: str
    engine: Engine
    text: str
    segments: tuple[Segment, ...]


class ChunkSpan(Record, frozen=True, kw_only=True):
    """A planned slice of the audio, transcribed as one unit."""

    index: int
    start_sec: float
    end_sec: float

    @property
    def duration_sec(self) -> float:
        """Return the chunk's length in seconds."""
        return self.end_sec - self.start_sec


class ChunkResult(Record, frozen=True, kw_only=True):
    """A finished chunk: its segments already shifted onto the lecture's timeline."""

    span: ChunkSpan
    segments: tuple[Segment, ...]


def shift_segments(segments: Iterable[Segment], span: ChunkSpan) -> tuple[Segment, ...]:
    """Move chunk-relative segments onto the lecture timeline, clipped to the chunk's span."""
    shifted = []
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        start = min(max(span.start_sec + seg.start_sec, span.start_sec), span.end_sec)
        end = min(max(span.start_sec + seg.end_sec, start), span.end_sec)
        shifted.append(Segment(start_sec=round(start, 3), end_sec=round(end, 3), text=text))
    return tuple(shifted)


def merge_chunks(results: Sequence[ChunkResult], *, duration_sec: float | None) -> list[Segment]:
    """Merge finished chunks into ordered, non-overlapping segments within the audio duration.

    A segment that starts before the previous one ends is moved to start where the previous one
    ends (never dropped: its text is kept).
    """
    merged: list[Segment] = []
    limit = duration_sec if duration_sec is not None else float("inf")
    for result in sorted(results, key=lambda r: r.span.index):
        for seg in sorted(result.segments, key=lambda s: s.start_sec):
            start = seg.start_sec
            if merged and start < merged[-1].end_sec:
                start = merged[-1].end_sec
            start = min(start, limit)
            end = min(max(seg.end_sec, start), limit)
            merged.append(Segment(start_sec=start, end_sec=end, text=seg.text))
    return merged


PROMPT_TAIL_CHARS = 200
"""How much of the previous chunk's text a chunk's prompt carries (whole words, at most this)."""


def chunk_prompt(previous: ChunkResult | None, *, lecture_title: str, course_title: str) -> str:
    """Return the prompt for transcribing a chunk.

    - The tail of its predecessor's text when that chunk has finished, so wording and spelling
      carry across the cut.
    - Otherwise (first chunk, predecessor still running, or silent) the lecture and course titles.
    """
    text = transcript_text(previous.segments) if previous is not None else ""
    if text:
        tail = text[-PROMPT_TAIL_CHARS:]
        if len(text) > PROMPT_TAIL_CHARS and " " in tail:
            tail = tail.split(" ", 1)[1]  # drop the word the cut went through
        return tail
    return ". ".join(t.rstrip(".") for t in (lecture_title, course_title) if t) + "."


def transcript_text(segments: Iterable[Segment]) -> str:
    """Join segment texts into the transcript's running text."""
    return " ".join(seg.text for seg in segments)
