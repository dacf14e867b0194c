"""Text exports rendered from the stored study material: Markdown, JSON, Anki CSV, subtitles."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import msgspec

from pegasus_core.artifacts import OutlineNode
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.study_sheet import lettered_choices, study_sheet, study_tags


def _outline_lines(nodes: Iterable[OutlineNode], depth: int) -> Iterable[str]:
    # Two spaces per level: a child item starts where its parent's text starts (CommonMark).
    for node in nodes:
        indent = "  " * depth
        yield f"{indent}- **{node.title}**"
        for point in node.points:
            yield f"{indent}  - {point}"
        yield from _outline_lines(node.children, depth + 1)


def render_markdown(bundle: ExportBundle) -> bytes:
    """Render every artifact as one Markdown study sheet.

    - The outline nests to any depth; each question lists every choice, the marked one
      followed by **(correct)**, then its answer and explanation.
    """
    sheet = study_sheet(bundle)
    summary = sheet.summary
    lines = [f"# {bundle.lecture.title}", "", f"*Course: {bundle.course.title}*", ""]
    lines += ["## Summary", "", summary.overview, ""]
    for section in summary.sections:
        lines += [f"### {section.title}", ""]
        lines += [f"- {bullet}" for bullet in section.bullets]
        lines.append("")
    lines += ["## Outline", "", *_outline_lines(sheet.outline.outline, 0), ""]
    lines += ["## Key terms", ""]
    for term in sheet.key_terms.terms:
        lines.append(f"- **{term.term}**: {term.definition}")
        if term.example:
            lines.append(f"  - Example: {term.example}")
    lines += ["", "## Flashcards", ""]
    # Sub-items rather than bare continuation lines, which Markdown would join into one line,
    # indented to the item's text ("10. " is wider than "9. ") so they stay inside the item.
    for number, card in enumerate(sheet.flashcards.cards, 1):
        pad = " " * len(f"{number}. ")
        lines += [f"{number}. **Q:** {card.front}", f"{pad}- **A:** {card.back}"]
    lines += ["", "## Exam questions", ""]
    for number, question in enumerate(sheet.exam_questions.questions, 1):
        pad = " " * len(f"{number}. ")
        lines.append(f"{number}. ({question.type}) {question.prompt}")
        for letter, choice, correct in lettered_choices(question):
            lines.append(f"{pad}- {letter}. {choice}{' **(correct)**' if correct else ''}")
        lines.append(f"{pad}- **Answer:** {question.answer}")
        if question.explanation:
            lines.append(f"{pad}- *{question.explanation}*")
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def render_json(bundle: ExportBundle) -> bytes:
    """Render the lecture, every artifact and the transcript as one JSON document."""
    document = {
        "course": bundle.course,
        "lecture": bundle.lecture,
        "artifacts": {t.value: doc for t, doc in bundle.artifacts.items()},
        "transcript": bundle.transcript,
    }
    return msgspec.json.format(msgspec.json.encode(document), indent=2)


def render_anki_csv(bundle: ExportBundle) -> bytes:
    """Render the flashcards as CSV with the header front,back,tags.

    - Tags are space-separated: the card's own, the preset's id and the lecture's threads.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["front", "back", "tags"])
    for card in study_sheet(bundle).flashcards.cards:
        writer.writerow([card.front, card.back, " ".join(study_tags(bundle, card.tags))])
    return out.getvalue().encode("utf-8")


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cues(bundle: ExportBundle) -> list[tuple[float, float, str]]:
    # One cue per segment; a zero-length segment is shown briefly rather than dropped.
    return [
        (seg.start_sec, max(seg.end_sec, seg.start_sec + 0.001), " ".join(seg.text.split()))
        for seg in bundle.transcript.segments
        if seg.text.strip()
    ]


def render_srt(bundle: ExportBundle) -> bytes:
    """Render the transcript segments as SubRip subtitles."""
    blocks = [
        f"{index}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n"
        for index, (start, end, text) in enumerate(_cues(bundle), 1)
    ]
    return "\n".join(blocks).encode("utf-8")


def render_vtt(bundle: ExportBundle) -> bytes:
    """Render the transcript segments as WebVTT subtitles."""
    blocks = ["WEBVTT\n"] + [
        f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{text}\n"
        for start, end, text in _cues(bundle)
    ]
    return "\n".join(blocks).encode("utf-8")
