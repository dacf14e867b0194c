"""What every study export shares: the typed artifacts, lettered choices and Anki tags."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from pegasus_core.artifacts import (
    AnyArtifact,
    ArtifactType,
    ExamQuestion,
    ExamQuestions,
    Flashcards,
    KeyTerms,
    Outline,
    Summary,
)
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.records import Record

_T = TypeVar("_T", bound=AnyArtifact)


class StudySheet(Record, frozen=True, kw_only=True):
    """The five artifacts of a lecture, each with its own type."""

    summary: Summary
    outline: Outline
    key_terms: KeyTerms
    flashcards: Flashcards
    exam_questions: ExamQuestions


def _typed(bundle: ExportBundle, artifact_type: ArtifactType, kind: type[_T]) -> _T:
    document = bundle.artifacts[artifact_type]
    if not isinstance(document, kind):
        raise TypeError(f"the {artifact_type.value} artifact is a {type(document).__name__}")
    return document


def study_sheet(bundle: ExportBundle) -> StudySheet:
    """Return the bundle's artifacts by type; the export job guarantees all five are present."""
    return StudySheet(
        summary=_typed(bundle, ArtifactType.SUMMARY, Summary),
        outline=_typed(bundle, ArtifactType.OUTLINE, Outline),
        key_terms=_typed(bundle, ArtifactType.KEY_TERMS, KeyTerms),
        flashcards=_typed(bundle, ArtifactType.FLASHCARDS, Flashcards),
        exam_questions=_typed(bundle, ArtifactType.EXAM_QUESTIONS, ExamQuestions),
    )


def choice_letter(index: int) -> str:
    """Return the label of the index-th choice: A..Z, then AA, AB, ... (never runs out)."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def lettered_choices(question: ExamQuestion) -> list[tuple[str, str, bool]]:
    """Return every choice as (letter, text, is the marked answer), in the stored order."""
    return [
        (choice_letter(index), choice, index == question.correct_choice_index)
        for index, choice in enumerate(question.choices or ())
    ]


_WHITESPACE = re.compile(r"\s+")


def anki_tag(text: str) -> str:
    """Return text as one Anki tag: Anki splits tags on whitespace, so runs become `_`."""
    return _WHITESPACE.sub("_", text.strip())


def study_tags(bundle: ExportBundle, own: Iterable[str] = ()) -> tuple[str, ...]:
    """Return an item's tags, then the preset's and the lecture's threads', once each, in order."""
    tags = [*own, bundle.lecture.preset_id, *(thread.title for thread in bundle.threads)]
    return tuple(dict.fromkeys(tag for tag in map(anki_tag, tags) if tag))
