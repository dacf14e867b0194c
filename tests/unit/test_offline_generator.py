"""The offline extractive engine on realistic transcripts, for every built-in preset."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import msgspec
import pytest

from pegasus_adapters.offline.generator import ExtractiveLanguageModel
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
    check_non_empty,
)
from pegasus_core.errors import PegasusError
from pegasus_core.ports.language_model import GenerationRequest
from pegasus_core.presets import BUILTIN_PRESETS, Preset
from pegasus_core.transcripts import Engine, Segment, Transcript

LECTURE = """\
Welcome back everyone. Today we are going to talk about how living things get their energy.
We will study two processes, photosynthesis and cellular respiration.
Photosynthesis is the process by which green plants use the energy of sunlight to make glucose.
It takes place in the chloroplasts, which are small structures inside the cells of a leaf.
Chlorophyll is the green pigment in the chloroplasts that absorbs light energy.
For example, a leaf looks green because chlorophyll reflects green light and absorbs red light.
During photosynthesis the plant takes in carbon dioxide through tiny pores called stomata.
The roots take in water from the soil, and the water travels up to the leaves.
Using light energy, the plant turns carbon dioxide and water into glucose and oxygen.
Glucose is a simple sugar that stores chemical energy in its bonds.
The oxygen is released into the air as a waste product, which is lucky for us.
You can think of the chloroplast as a solar panel that turns light into stored energy.
Photosynthesis has two stages, the light reactions and the Calvin cycle.
The light reactions happen in the thylakoid membranes and they need light to work.
In the light reactions, water is split and oxygen is released.
The Calvin cycle is the set of reactions that builds glucose from carbon dioxide.
The Calvin cycle does not need light, but it depends on the products of the light reactions.
A common misconception is that plants get their food from the soil.
Actually, most of the mass of a plant comes from carbon dioxide in the air.
Experiments with willow trees in the seventeenth century found that the soil lost almost no mass.
Now let us turn to cellular respiration.
Cellular respiration is the process by which cells break down glucose to release energy.
It happens in the mitochondria, which are often called the powerhouse of the cell.
In respiration, glucose and oxygen are turned back into carbon dioxide and water.
The energy released is stored in a molecule called ATP.
ATP is the energy currency of the cell, because cells spend it to do work.
For example, muscle cells use ATP to contract when you run.
Respiration happens in both plants and animals, day and night.
A common mistake is to think that plants do photosynthesis instead of respiration.
In fact plants do both, and they need respiration to use the glucose they make.
When oxygen is missing, some cells switch to anaerobic respiration.
Anaerobic respiration is respiration without oxygen, and it releases much less energy.
In your muscles, anaerobic respiration produces lactic acid, which is why your legs burn.
Yeast uses anaerobic respiration to make alcohol and carbon dioxide, such as when bread rises.
Notice that photosynthesis and respiration are linked.
The products of photosynthesis are the raw materials of respiration.
And the products of respiration are the raw materials of photosynthesis.
This cycle moves carbon between living things and the atmosphere.
Scientists measured carbon dioxide in the air and found that it rises and falls with the seasons.
This is evidence that photosynthesis on land changes the atmosphere every year.
So why does this matter for the exam?
You should be able to write the word equation for photosynthesis and for respiration.
Remember that photosynthesis stores energy and respiration releases it.
An important question is how climate change will affect photosynthesis in the future.
We still do not know exactly how much extra carbon dioxide plants can absorb.
To summarize, photosynthesis stores the energy of the sun in glucose.
Respiration releases that energy as ATP so that the cell can do its work.
Next week we will study enzymes, the proteins that control these reactions.
"""


def _segments(sentences: list[str], *, spoken: bool) -> list[Segment]:
    """Lay sentences on a timeline; spoken=True mimics pocketsphinx (no case, no punctuation).

    Spoken segments end at pauses: usually a sentence, but long sentences pause mid-way and a
    few pauses leave a filler on its own ("okay"), as real lecturers do.
    """
    segments, clock = [], 3.0
    for number, sentence in enumerate(sentences):
        words = (
            re.sub(r"[^a-z0-9' ]", " ", sentence.lower()).split() if spoken else sentence.split()
        )
        pieces = (
            [words[: len(words) // 2], words[len(words) // 2 :]] if len(words) > 16 else [words]
        )
        if spoken and number % 7 == 3:
            pieces.append(["okay"])
        for piece in pieces:
            duration = 0.36 * len(piece)
            segments.append(
                Segment(
                    start_sec=round(clock, 3),
                    end_sec=round(clock + duration, 3),
                    text=" ".join(piece),
                )
            )
            clock += duration + 0.8
    return segments


def make_transcript(text: str = LECTURE, *, spoken: bool) -> Transcript:
    """Build a transcript whose text is its segments joined by spaces, as the core does."""
    if spoken:
        segments = _segments([line for line in text.splitlines() if line.strip()], spoken=True)
    else:
        # Scripted engines cut segments by time, not by sentence: 11 words each.
        words = text.split()
        segments = [
            Segment(start_sec=i * 0.4, end_sec=i * 0.4 + 4.0, text=" ".join(words[i : i + 11]))
            for i in range(0, len(words), 11)
        ]
    return Transcript(
        lecture_id="lec-1",
        language="en",
        engine=Engine(provider="test", model="test"),
        text=" ".join(s.text for s in segments),
        segments=tuple(segments),
    )


SPOKEN = make_transcript(spoken=True)
WRITTEN = make_transcript(spoken=False)
TRANSCRIPTS = {"spoken": SPOKEN, "written": WRITTEN}


def generate_all(
    transcript: Transcript, preset: Preset, llm: ExtractiveLanguageModel | None = None
) -> dict[ArtifactType, AnyArtifact]:
    engine = llm or ExtractiveLanguageModel()

    async def run() -> dict[ArtifactType, AnyArtifact]:
        return {
            t: await engine.generate(
                GenerationRequest(
                    artifact_type=t,
                    transcript=transcript,
                    preset=preset,
                    lecture_title="Energy in living things",
                    course_title="BIO 101",
                )
            )
            for t in ArtifactType
        }

    return asyncio.run(run())


def verbatim(fragment: str, transcript: Transcript) -> bool:
    """Return whether fragment occurs in the transcript, ignoring case and a closing period."""
    return fragment.lower().removesuffix(".") in transcript.text.lower()


def walk(nodes: tuple[OutlineNode, ...]) -> Iterator[OutlineNode]:
    for node in nodes:
        yield node
        yield from walk(node.children)


def summary_words(summary: Summary) -> int:
    bullets = " ".join(b for s in summary.sections for b in s.bullets)
    return len(summary.overview.split()) + len(bullets.split())


@pytest.fixture(scope="module")
def documents() -> dict[tuple[str, str], dict[ArtifactType, AnyArtifact]]:
    return {
        (kind, preset_id): generate_all(transcript, preset)
        for kind, transcript in TRANSCRIPTS.items()
        for preset_id, preset in BUILTIN_PRESETS.items()
    }


CASES = [(kind, pid) for kind in TRANSCRIPTS for pid in BUILTIN_PRESETS]


@pytest.mark.parametrize(("kind", "preset_id"), CASES)
def test_every_artifact_is_non_empty_with_source_spans(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]], kind: str, preset_id: str
) -> None:
    docs = documents[kind, preset_id]
    duration = TRANSCRIPTS[kind].segments[-1].end_sec
    for artifact_type, doc in docs.items():
        assert doc.artifact_type is artifact_type
        check_non_empty(doc)
        assert (doc.id, doc.lecture_id, doc.version, doc.generated_at) == ("", "", 0, None)
    summary, outline = docs[ArtifactType.SUMMARY], docs[ArtifactType.OUTLINE]
    terms, cards = docs[ArtifactType.KEY_TERMS], docs[ArtifactType.FLASHCARDS]
    exam = docs[ArtifactType.EXAM_QUESTIONS]
    assert isinstance(summary, Summary) and isinstance(outline, Outline)
    assert isinstance(terms, KeyTerms) and isinstance(cards, Flashcards)
    assert isinstance(exam, ExamQuestions)
    items: list[SummarySection | OutlineNode | KeyTerm | Flashcard | ExamQuestion] = [
        *summary.sections,
        *walk(outline.outline),
        *terms.terms,
        *cards.cards,
        *exam.questions,
    ]
    for item in items:
        assert item.source_spans, item
        for span in item.source_spans:
            assert 0 <= span.start_sec <= span.end_sec <= duration


@pytest.mark.parametrize(("kind", "preset_id"), CASES)
def test_terms_and_flashcard_backs_occur_verbatim_in_the_transcript(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]], kind: str, preset_id: str
) -> None:
    transcript = TRANSCRIPTS[kind]
    terms = documents[kind, preset_id][ArtifactType.KEY_TERMS]
    cards = documents[kind, preset_id][ArtifactType.FLASHCARDS]
    assert isinstance(terms, KeyTerms) and isinstance(cards, Flashcards)
    for term in terms.terms:
        assert verbatim(term.term, transcript), term.term
        assert verbatim(term.definition, transcript), term.definition
    for card in cards.cards:
        assert verbatim(card.back, transcript), card.back
        assert card.tags[0] == BUILTIN_PRESETS[preset_id].kind


@pytest.mark.parametrize(("kind", "preset_id"), CASES)
def test_counts_respect_the_preset_maxima(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]], kind: str, preset_id: str
) -> None:
    preset, docs = BUILTIN_PRESETS[preset_id], documents[kind, preset_id]
    summary, cards = docs[ArtifactType.SUMMARY], docs[ArtifactType.FLASHCARDS]
    terms, exam = docs[ArtifactType.KEY_TERMS], docs[ArtifactType.EXAM_QUESTIONS]
    assert isinstance(summary, Summary) and isinstance(cards, Flashcards)
    assert isinstance(terms, KeyTerms) and isinstance(exam, ExamQuestions)
    assert summary_words(summary) <= preset.generation.summary_max_words
    assert 1 <= len(cards.cards) <= preset.generation.flashcard_count
    assert 1 <= len(terms.terms) <= preset.generation.flashcard_count
    assert 1 <= len(exam.questions) <= preset.generation.exam_question_count
    titles = [s.title for s in summary.sections]
    assert titles == [s.replace("_", " ").capitalize() for s in preset.output_profile.sections]


@pytest.mark.parametrize(("kind", "preset_id"), CASES)
def test_exam_questions_are_well_formed(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]], kind: str, preset_id: str
) -> None:
    exam = documents[kind, preset_id][ArtifactType.EXAM_QUESTIONS]
    assert isinstance(exam, ExamQuestions)
    assert len({q.type for q in exam.questions}) >= 2  # a mix, not one kind
    for q in exam.questions:
        assert q.prompt and q.answer
        if q.type == "multiple-choice":
            assert q.choices is not None and len(set(q.choices)) == 4
            assert q.correct_choice_index is not None
            assert q.choices[q.correct_choice_index] == q.answer
            assert verbatim(q.answer, TRANSCRIPTS[kind])
        else:
            assert q.choices is None and q.correct_choice_index is None
        if q.type == "true-false":
            assert q.answer == "True"


def test_exam_and_beginner_presets_give_different_material(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]],
) -> None:
    for kind in TRANSCRIPTS:
        exam, beginner = documents[kind, "exam-mode"], documents[kind, "beginner-mode"]
        exam_summary, beginner_summary = exam[ArtifactType.SUMMARY], beginner[ArtifactType.SUMMARY]
        assert isinstance(exam_summary, Summary) and isinstance(beginner_summary, Summary)
        assert {s.title for s in exam_summary.sections} != {
            s.title for s in beginner_summary.sections
        }
        exam_q, beginner_q = (
            exam[ArtifactType.EXAM_QUESTIONS],
            beginner[ArtifactType.EXAM_QUESTIONS],
        )
        assert isinstance(exam_q, ExamQuestions) and isinstance(beginner_q, ExamQuestions)
        assert len(exam_q.questions) > len(beginner_q.questions)
        exam_cards, beginner_cards = (
            exam[ArtifactType.FLASHCARDS],
            beginner[ArtifactType.FLASHCARDS],
        )
        assert isinstance(exam_cards, Flashcards) and isinstance(beginner_cards, Flashcards)
        assert len(exam_cards.cards) > len(beginner_cards.cards)
        assert any(c.front.startswith("Define ") for c in exam_cards.cards)
        assert any(c.front.startswith("In simple words") for c in beginner_cards.cards)


def test_outline_granularity_follows_the_preset_chunking(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]],
) -> None:
    def nodes(preset_id: str) -> tuple[OutlineNode, ...]:
        outline = documents["spoken", preset_id][ArtifactType.OUTLINE]
        assert isinstance(outline, Outline)
        return outline.outline

    assert len(nodes("neurodivergent-friendly-mode")) > len(nodes("exam-mode"))
    assert any(node.children for node in nodes("concept-map-mode"))  # hierarchical
    assert not any(node.children for node in nodes("exam-mode"))
    titles = [n.title for n in nodes("neurodivergent-friendly-mode")]
    assert len(set(titles)) > 1 and all(t[0].isupper() for t in titles)


def test_punctuated_text_is_cut_into_its_own_sentences(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]],
) -> None:
    terms = documents["written", "exam-mode"][ArtifactType.KEY_TERMS]
    assert isinstance(terms, KeyTerms)
    by_term = {t.term.lower(): t.definition for t in terms.terms}
    assert by_term["photosynthesis"] == (
        "Photosynthesis is the process by which green plants use the energy of sunlight to make "
        "glucose."
    )


def test_unpunctuated_speech_still_yields_definitions(
    documents: dict[tuple[str, str], dict[ArtifactType, AnyArtifact]],
) -> None:
    terms = documents["spoken", "exam-mode"][ArtifactType.KEY_TERMS]
    assert isinstance(terms, KeyTerms)
    by_term = {t.term: t.definition for t in terms.terms}
    assert by_term["photosynthesis"].startswith("Photosynthesis is the process by which")
    assert by_term["cellular respiration"].startswith("Cellular respiration is the process")


@pytest.mark.parametrize("kind", TRANSCRIPTS)
def test_same_input_gives_identical_output(kind: str) -> None:
    preset = BUILTIN_PRESETS["research-mode"]
    first = generate_all(TRANSCRIPTS[kind], preset)
    second = generate_all(TRANSCRIPTS[kind], preset)
    assert msgspec.json.encode(list(first.values())) == msgspec.json.encode(list(second.values()))


_IN_CHILD = """
import json, sys, msgspec
sys.path.insert(0, {tests!r})
from test_offline_generator import SPOKEN, BUILTIN_PRESETS, generate_all
docs = generate_all(SPOKEN, BUILTIN_PRESETS["concept-map-mode"])
print(msgspec.json.encode(list(docs.values())).decode())
"""


def test_output_does_not_depend_on_string_hash_randomisation() -> None:
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        code = _IN_CHILD.format(tests=os.path.dirname(__file__))
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(run.stdout))
    assert outputs[0] == outputs[1]


TINY = Transcript(
    lecture_id="lec-2",
    language="en",
    engine=Engine(provider="test", model="test"),
    text="mitosis splits a cell",
    segments=(Segment(start_sec=0.0, end_sec=1.5, text="mitosis splits a cell"),),
)
FILLER_ONLY = msgspec.structs.replace(
    TINY, text="okay so um", segments=(Segment(start_sec=0.0, end_sec=1.0, text="okay so um"),)
)


NOISY = msgspec.structs.replace(
    TINY,
    text="mitosis splits a cell into two cells - - - - - - each new cell gets the chromosomes",
    segments=(
        Segment(start_sec=0.0, end_sec=2.0, text="mitosis splits a cell into two cells"),
        Segment(start_sec=2.5, end_sec=3.0, text="- - - - - -"),
        Segment(start_sec=3.5, end_sec=6.0, text="each new cell gets the chromosomes"),
    ),
)


@pytest.mark.parametrize(
    "transcript", [TINY, FILLER_ONLY, NOISY], ids=["one-sentence", "fillers", "symbols"]
)
@pytest.mark.parametrize("preset_id", list(BUILTIN_PRESETS))
def test_a_tiny_transcript_still_gives_one_item_everywhere(
    transcript: Transcript, preset_id: str
) -> None:
    docs = generate_all(transcript, BUILTIN_PRESETS[preset_id])
    for doc in docs.values():
        check_non_empty(doc)
    terms, cards = docs[ArtifactType.KEY_TERMS], docs[ArtifactType.FLASHCARDS]
    assert isinstance(terms, KeyTerms) and isinstance(cards, Flashcards)
    assert all(verbatim(t.term, transcript) for t in terms.terms)
    assert all(verbatim(c.back, transcript) for c in cards.cards)


@pytest.mark.parametrize(
    "segments", [(), (Segment(start_sec=0.0, end_sec=2.0, text="   "),)], ids=["none", "blank"]
)
async def test_an_empty_transcript_fails_with_a_clear_sentence(
    segments: tuple[Segment, ...],
) -> None:
    empty = msgspec.structs.replace(TINY, text="", segments=segments)
    request = GenerationRequest(
        artifact_type=ArtifactType.SUMMARY,
        transcript=empty,
        preset=BUILTIN_PRESETS["exam-mode"],
        lecture_title="x",
        course_title="y",
    )
    with pytest.raises(PegasusError, match="Transcript is empty"):
        await ExtractiveLanguageModel().generate(request)


def test_a_four_hour_transcript_is_generated_in_well_under_a_few_seconds() -> None:
    # About 40,000 words: the lecture repeated with a different running number each time, so
    # sentences differ and nothing is deduplicated away.
    blocks = [
        "\n".join(f"{line} part {n}" for line in LECTURE.splitlines() if line.strip())
        for n in range(56)
    ]
    long = make_transcript("\n".join(blocks), spoken=True)
    assert len(long.text.split()) > 38_000
    started = time.perf_counter()
    docs = generate_all(long, BUILTIN_PRESETS["exam-mode"])
    elapsed = time.perf_counter() - started
    for doc in docs.values():
        check_non_empty(doc)
    assert elapsed < 3.0, f"{elapsed:.2f}s"
