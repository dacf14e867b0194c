"""Artifact documents: the five study artifacts and the exports rendered from them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec

from pegasus_core.records import Record


class ArtifactType(StrEnum):
    """The study artifacts generated from a transcript."""

    SUMMARY = "summary"
    OUTLINE = "outline"
    KEY_TERMS = "key-terms"
    FLASHCARDS = "flashcards"
    EXAM_QUESTIONS = "exam-questions"


class SourceSpan(Record, frozen=True, kw_only=True):
    """Where in the transcript an item comes from."""

    start_sec: float
    end_sec: float


class SummarySection(Record, frozen=True, kw_only=True):
    """A titled section of the summary."""

    title: str
    bullets: tuple[str, ...]
    source_spans: tuple[SourceSpan, ...] = ()


class OutlineNode(Record, frozen=True, kw_only=True):
    """A node of the outline; children nest to any depth."""

    title: str
    points: tuple[str, ...] = ()
    children: tuple[OutlineNode, ...] = ()
    source_spans: tuple[SourceSpan, ...] = ()


class KeyTerm(Record, frozen=True, kw_only=True):
    """A term and its definition as the lecture gives it."""

    term: str
    definition: str
    example: str | None = None
    source_spans: tuple[SourceSpan, ...] = ()


class Flashcard(Record, frozen=True, kw_only=True):
    """A question on the front, the answer on the back."""

    front: str
    back: str
    difficulty: Literal["easy", "medium", "hard"] | None = None
    tags: tuple[str, ...] = ()
    source_spans: tuple[SourceSpan, ...] = ()


QuestionType = Literal["multiple-choice", "short-answer", "essay", "true-false"]


class ExamQuestion(Record, frozen=True, kw_only=True):
    """An exam question with its answer."""

    prompt: str
    type: QuestionType
    answer: str
    choices: tuple[str, ...] | None = None
    correct_choice_index: int | None = None
    explanation: str | None = None
    source_spans: tuple[SourceSpan, ...] = ()


class ArtifactDocument(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", tag_field="artifactType"
):
    """Header shared by every artifact; generators fill the body, the core fills the header."""

    id: str = ""
    course_id: str = ""
    lecture_id: str = ""
    preset_id: str = ""
    generated_at: datetime | None = None
    version: int = 0
    thread_refs: tuple[str, ...] = ()

    @property
    def artifact_type(self) -> ArtifactType:
        """Return the document's type (its tag)."""
        return ArtifactType(str(self.__struct_config__.tag))


class Summary(ArtifactDocument, tag="summary", frozen=True, kw_only=True):
    """An overview and titled sections of bullets."""

    overview: str
    sections: tuple[SummarySection, ...]


class Outline(ArtifactDocument, tag="outline", frozen=True, kw_only=True):
    """The lecture's structure as a tree."""

    outline: tuple[OutlineNode, ...]


class KeyTerms(ArtifactDocument, tag="key-terms", frozen=True, kw_only=True):
    """Terms and definitions."""

    terms: tuple[KeyTerm, ...]


class Flashcards(ArtifactDocument, tag="flashcards", frozen=True, kw_only=True):
    """Cards for spaced repetition."""

    cards: tuple[Flashcard, ...]


class ExamQuestions(ArtifactDocument, tag="exam-questions", frozen=True, kw_only=True):
    """Questions for self-testing."""

    questions: tuple[ExamQuestion, ...]


AnyArtifact = Summary | Outline | KeyTerms | Flashcards | ExamQuestions

ARTIFACT_CLASSES: dict[ArtifactType, type[AnyArtifact]] = {
    ArtifactType.SUMMARY: Summary,
    ArtifactType.OUTLINE: Outline,
    ArtifactType.KEY_TERMS: KeyTerms,
    ArtifactType.FLASHCARDS: Flashcards,
    ArtifactType.EXAM_QUESTIONS: ExamQuestions,
}


def check_non_empty(doc: AnyArtifact) -> None:
    """Raise ValueError if a top-level list or a bullets list is empty (CONTRACT.md §9)."""
    match doc:
        case Summary():
            if not doc.overview.strip() or not doc.sections:
                raise ValueError("summary needs an overview and at least one section")
            if any(not s.bullets for s in doc.sections):
                raise ValueError("every summary section needs at least one bullet")
        case Outline():
            if not doc.outline:
                raise ValueError("outline is empty")
        case KeyTerms():
            if not doc.terms:
                raise ValueError("key-terms is empty")
        case Flashcards():
            if not doc.cards:
                raise ValueError("flashcards is empty")
        case ExamQuestions():
            if not doc.questions:
                raise ValueError("exam-questions is empty")


class ArtifactRecord(Record, frozen=True, kw_only=True):
    """The database row of a current artifact."""

    id: str
    lecture_id: str
    artifact_type: ArtifactType
    preset_id: str
    version: int
    storage_path: str
    sha256: str
    created_at: datetime
    purged_at: datetime | None = None


class ExportType(StrEnum):
    """Files rendered from a lecture's artifacts and transcript."""

    MARKDOWN = "markdown"
    PDF = "pdf"
    JSON = "json"
    ANKI = "anki"
    APKG = "apkg"
    SRT = "srt"
    VTT = "vtt"


# File extension and media type (text types are UTF-8; servers add the charset parameter).
EXPORT_FORMATS: dict[ExportType, tuple[str, str]] = {
    ExportType.MARKDOWN: ("md", "text/markdown"),
    ExportType.PDF: ("pdf", "application/pdf"),
    ExportType.JSON: ("json", "application/json"),
    ExportType.ANKI: ("csv", "text/csv"),
    # IANA registers no media type for Anki packages; this unregistered name is descriptive.
    ExportType.APKG: ("apkg", "application/apkg"),
    ExportType.SRT: ("srt", "application/x-subrip"),
    ExportType.VTT: ("vtt", "text/vtt"),
}


class ExportRecord(Record, frozen=True, kw_only=True):
    """The database row of a rendered export."""

    lecture_id: str
    export_type: ExportType
    storage_path: str
    size_bytes: int
    sha256: str
    created_at: datetime
    purged_at: datetime | None = None
