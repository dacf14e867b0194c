"""Coverage: the share of a transcript that artifacts cite through their sourceSpans."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from pegasus_core.artifacts import (
    AnyArtifact,
    ExamQuestions,
    Flashcards,
    KeyTerms,
    Outline,
    OutlineNode,
    SourceSpan,
    Summary,
)
from pegasus_core.transcripts import Transcript


def cited_spans(doc: AnyArtifact) -> Iterator[SourceSpan]:
    """Yield every sourceSpan of a document's items (outline children included)."""
    match doc:
        case Summary():
            for section in doc.sections:
                yield from section.source_spans
        case Outline():
            yield from _node_spans(doc.outline)
        case KeyTerms():
            for term in doc.terms:
                yield from term.source_spans
        case Flashcards():
            for card in doc.cards:
                yield from card.source_spans
        case ExamQuestions():
            for question in doc.questions:
                yield from question.source_spans


def _node_spans(nodes: Iterable[OutlineNode]) -> Iterator[SourceSpan]:
    for node in nodes:
        yield from node.source_spans
        yield from _node_spans(node.children)


def coverage(transcript: Transcript, spans: Iterable[SourceSpan]) -> float:
    """Return the share of the transcript's text, by characters, in segments a span touches.

    A segment counts when some span overlaps it (or an instant span marks its start). An
    empty transcript is fully covered (there is nothing to miss). Rounded to 4 decimals.
    """
    merged: list[list[float]] = []
    for start, end in sorted((s.start_sec, s.end_sec) for s in spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    ends = [end for _, end in merged]
    total = sum(len(seg.text) for seg in transcript.segments)
    if total == 0:
        return 1.0
    covered = 0
    for seg in transcript.segments:
        # The first merged interval ending after the segment starts is the only candidate.
        at = bisect.bisect_right(ends, seg.start_sec)
        if at < len(merged) and merged[at][0] < seg.end_sec:
            covered += len(seg.text)
        elif at and merged[at - 1][0] == merged[at - 1][1] == seg.start_sec:
            covered += len(seg.text)  # an instant span where the segment starts
    return round(covered / total, 4)
