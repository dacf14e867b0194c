"""Export bundles built in code: a long lecture in several scripts, for the export tests."""

from __future__ import annotations

from datetime import UTC, datetime

from pegasus_core.artifacts import (
    AnyArtifact,
    ArtifactType,
    ExamQuestion,
    ExamQuestions,
    Flashcard,
    Flashcards,
    KeyTerm,
    KeyTerms,
    Outline,
    OutlineNode,
    Summary,
    SummarySection,
)
from pegasus_core.lectures import AudioRef, Course, Lecture, LectureStatus, SourceType
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.threads import Thread
from pegasus_core.transcripts import Engine, Transcript

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# Sentences in Greek, Cyrillic, accented Latin and plain English, long enough to wrap.
PHRASES = (
    "Η φωτοσύνθεση μετατρέπει το φως σε χημική ενέργεια μέσα στους χλωροπλάστες των φύλλων",  # noqa: RUF001
    "Фотосинтез превращает световую энергию в химическую энергию глюкозы в хлоропластах",
    "La réaction de Calvin fixe le dioxyde de carbone grâce à l'enzyme RuBisCO, très lente",
    "Die Lichtreaktion spaltet Wasser; Sauerstoff entweicht über die Spaltöffnungen",
    "Chlorophyll absorbs red and blue light and reflects green, which is why leaves look green",
)
# One unbroken word far wider than a line: it must be split, never run off the page.
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 4


def bullet(section: int, index: int) -> str:
    """Return a distinct, multi-line bullet; every fifth one carries the long word."""
    phrase = PHRASES[(section + index) % len(PHRASES)]
    extra = f" {LONG_WORD}" if index % 5 == 0 else ""
    return f"[{section}.{index}] {phrase}; {PHRASES[index % len(PHRASES)]}{extra}."


def _outline(depth: int, prefix: str) -> tuple[OutlineNode, ...]:
    if depth == 0:
        return ()
    return tuple(
        OutlineNode(
            title=f"Level {prefix}{i} — {PHRASES[i % len(PHRASES)][:40]}",
            points=(f"Point at {prefix}{i}: {PHRASES[(i + 1) % len(PHRASES)]}",),
            children=_outline(depth - 1, f"{prefix}{i}."),
        )
        for i in range(1, 3)
    )


def long_artifacts(
    *, sections: int = 36, bullets: int = 12, cards: int = 40
) -> dict[ArtifactType, AnyArtifact]:
    """Return all five artifacts of a long lecture (the defaults give a PDF of 40+ pages)."""
    header = {"lecture_id": "lec-long", "course_id": "bio-101", "generated_at": WHEN}
    return {
        ArtifactType.SUMMARY: Summary(
            **header,
            overview=" ".join(PHRASES),
            sections=tuple(
                SummarySection(
                    title=f"Section {s}: {PHRASES[s % len(PHRASES)][:50]}",
                    bullets=tuple(bullet(s, b) for b in range(1, bullets + 1)),
                )
                for s in range(1, sections + 1)
            ),
        ),
        ArtifactType.OUTLINE: Outline(**header, outline=_outline(5, "")),
        ArtifactType.KEY_TERMS: KeyTerms(
            **header,
            terms=tuple(
                KeyTerm(term=f"Όρος {i}", definition=PHRASES[i % 5], example=PHRASES[(i + 2) % 5])
                for i in range(20)
            ),
        ),
        ArtifactType.FLASHCARDS: Flashcards(
            **header,
            cards=tuple(
                Flashcard(
                    front=f"Card {i}: what does this mean? {PHRASES[i % 5]}",
                    back=f"Answer {i}: {PHRASES[(i + 1) % 5]}",
                    tags=("photosynthesis",) if i % 2 else (),
                )
                for i in range(cards)
            ),
        ),
        ArtifactType.EXAM_QUESTIONS: ExamQuestions(
            **header,
            questions=(
                ExamQuestion(
                    prompt="Где происходит фотосинтез?",
                    type="multiple-choice",
                    answer="In the chloroplasts",
                    choices=(
                        "In the mitochondria",
                        "In the chloroplasts",
                        "Στον πυρήνα",
                        "Nowhere",
                    ),
                    correct_choice_index=1,
                    explanation="Chlorophyll sits in the thylakoid membranes.",
                ),
                ExamQuestion(
                    prompt="Photosynthesis releases oxygen.",
                    type="true-false",
                    answer="True",
                    choices=("True", "False"),
                    correct_choice_index=0,
                ),
                ExamQuestion(prompt="Explain the Calvin cycle.", type="essay", answer=PHRASES[2]),
            ),
        ),
    }


def bundle(
    artifacts: dict[ArtifactType, AnyArtifact] | None = None,
    *,
    threads: tuple[str, ...] = ("Energy flow",),
) -> ExportBundle:
    """Return an export bundle of the long lecture with threads of these titles."""
    course = Course(id="bio-101", title="Biology 101 — Βιολογία", created_at=WHEN, updated_at=WHEN)
    lecture = Lecture(
        id="lec-long",
        course_id="bio-101",
        preset_id="exam-mode",
        title="Photosynthesis / Фотосинтез",
        status=LectureStatus.GENERATED,
        duration_sec=3600.0,
        source_type=SourceType.UPLOAD,
        audio=AudioRef(
            path="lectures/lec-long/audio.mp3",
            original_filename="a.mp3",
            content_type="audio/mpeg",
            size_bytes=1,
            sha256="0" * 64,
        ),
        transcript_path="lectures/lec-long/transcript.json",
        created_at=WHEN,
        updated_at=WHEN,
    )
    return ExportBundle(
        course=course,
        lecture=lecture,
        transcript=Transcript(
            lecture_id="lec-long",
            language="en",
            engine=Engine(provider="scripted", model="scripted"),
            text="",
            segments=(),
        ),
        artifacts=artifacts or long_artifacts(),
        threads=tuple(
            Thread(
                id=f"t{i}",
                course_id="bio-101",
                title=title,
                summary="",
                status="foundational",
                complexity_level=1,
                lecture_refs=("lec-long",),
                evolution=(),
                created_at=WHEN,
                updated_at=WHEN,
            )
            for i, title in enumerate(threads)
        ),
    )
