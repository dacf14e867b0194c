"""What every LanguageModel adapter promises (CONTRACT.md sections 4 and 9), run on each one."""

from __future__ import annotations

import msgspec
import pytest

from pegasus_adapters.memory.scripted_language_model import ScriptedLanguageModel
from pegasus_adapters.offline.generator import ExtractiveLanguageModel
from pegasus_core.artifacts import (
    ARTIFACT_CLASSES,
    ArtifactType,
    ExamQuestions,
    Flashcards,
    KeyTerms,
    Summary,
    check_non_empty,
)
from pegasus_core.errors import PegasusError, UnavailableError
from pegasus_core.ports.language_model import GenerationRequest, LanguageModel
from pegasus_core.presets import BUILTIN_PRESETS
from pegasus_core.transcripts import Engine, Segment, Transcript

# Speech as pocketsphinx gives it: lower case, no punctuation, one segment per pause.
SPEECH = [
    "good morning everyone today we look at supply and demand",
    "demand is the amount of a good that buyers want to buy at each price",
    "supply is the amount of a good that sellers are willing to sell at each price",
    "when the price goes up the quantity demanded usually goes down",
    "for example if coffee gets more expensive people buy less coffee",
    "okay",
    "the market equilibrium is the price where supply equals demand",
    "at the equilibrium price there is no shortage and no surplus",
    "a shortage happens when demand is greater than supply at the current price",
    "a surplus happens when supply is greater than demand",
    "think of the price as a signal that tells buyers and sellers what to do",
    "a common misconception is that a higher price always means higher demand",
    "elasticity means how strongly demand responds to a change in price",
    "goods such as salt have low elasticity because people need them whatever the price",
    "remember for the exam that equilibrium moves when supply or demand shifts",
]


def _transcript(lines: list[str]) -> Transcript:
    segments, clock = [], 0.0
    for line in lines:
        duration = 0.4 * len(line.split())
        segments.append(Segment(start_sec=clock, end_sec=round(clock + duration, 3), text=line))
        clock = round(clock + duration + 0.7, 3)
    return Transcript(
        lecture_id="lec-econ",
        language="en",
        engine=Engine(provider="offline", model="pocketsphinx-en-us"),
        text=" ".join(lines),
        segments=tuple(segments),
    )


LECTURE = _transcript(SPEECH)


@pytest.fixture(params=["extractive", "scripted"])
def llm(request: pytest.FixtureRequest) -> LanguageModel:
    if request.param == "extractive":
        return ExtractiveLanguageModel()
    return ScriptedLanguageModel()


def _request(
    artifact_type: ArtifactType, preset_id: str = "exam-mode", transcript: Transcript = LECTURE
) -> GenerationRequest:
    return GenerationRequest(
        artifact_type=artifact_type,
        transcript=transcript,
        preset=BUILTIN_PRESETS[preset_id],
        lecture_title="Supply and demand",
        course_title="ECON 101",
    )


def _verbatim(fragment: str) -> bool:
    return fragment.lower().removesuffix(".") in LECTURE.text.lower()


def test_the_engine_is_named(llm: LanguageModel) -> None:
    assert llm.engine.provider and llm.engine.model


@pytest.mark.parametrize("preset_id", list(BUILTIN_PRESETS))
@pytest.mark.parametrize("artifact_type", list(ArtifactType))
async def test_each_artifact_is_a_non_empty_body_within_the_preset(
    llm: LanguageModel, artifact_type: ArtifactType, preset_id: str
) -> None:
    preset = BUILTIN_PRESETS[preset_id]
    doc = await llm.generate(_request(artifact_type, preset_id))
    assert type(doc) is ARTIFACT_CLASSES[artifact_type]
    check_non_empty(doc)
    assert (doc.id, doc.course_id, doc.lecture_id, doc.preset_id) == ("", "", "", "")
    assert (doc.generated_at, doc.version, doc.thread_refs) == (None, 0, ())
    match doc:
        case Summary():
            words = len(doc.overview.split()) + sum(
                len(b.split()) for s in doc.sections for b in s.bullets
            )
            assert words <= preset.generation.summary_max_words
            assert len(doc.sections) == len(preset.output_profile.sections)
        case KeyTerms():
            assert all(_verbatim(t.term) for t in doc.terms)
        case Flashcards():
            assert len(doc.cards) <= preset.generation.flashcard_count
            assert all(_verbatim(c.back) for c in doc.cards), [c.back for c in doc.cards]
        case ExamQuestions():
            assert len(doc.questions) <= preset.generation.exam_question_count
            for q in doc.questions:
                if q.type == "multiple-choice":
                    assert q.choices is not None and q.correct_choice_index is not None
                    assert q.choices[q.correct_choice_index] == q.answer


@pytest.mark.parametrize("artifact_type", list(ArtifactType))
async def test_the_same_request_gives_the_same_document(
    llm: LanguageModel, artifact_type: ArtifactType
) -> None:
    first = await llm.generate(_request(artifact_type, "neurodivergent-friendly-mode"))
    second = await llm.generate(_request(artifact_type, "neurodivergent-friendly-mode"))
    assert msgspec.json.encode(first) == msgspec.json.encode(second)


async def test_presets_change_what_is_generated(llm: LanguageModel) -> None:
    exam = await llm.generate(_request(ArtifactType.SUMMARY, "exam-mode"))
    research = await llm.generate(_request(ArtifactType.SUMMARY, "research-mode"))
    assert isinstance(exam, Summary) and isinstance(research, Summary)
    assert [s.title for s in exam.sections] != [s.title for s in research.sections]


async def test_an_empty_transcript_is_a_permanent_failure(llm: LanguageModel) -> None:
    empty = msgspec.structs.replace(LECTURE, text="", segments=())
    with pytest.raises(PegasusError, match="Transcript is empty") as caught:
        await llm.generate(_request(ArtifactType.FLASHCARDS, transcript=empty))
    assert not isinstance(caught.value, UnavailableError)  # retrying cannot help


# The scripted fake's own knobs, which tests elsewhere rely on.


async def test_scripted_model_fails_the_first_calls_then_recovers() -> None:
    llm = ScriptedLanguageModel(fail_with=UnavailableError("model is down"), fail_times=2)
    for _ in range(2):
        with pytest.raises(UnavailableError):
            await llm.generate(_request(ArtifactType.OUTLINE))
    doc = await llm.generate(_request(ArtifactType.KEY_TERMS))
    check_non_empty(doc)
    assert llm.calls == [ArtifactType.OUTLINE, ArtifactType.OUTLINE, ArtifactType.KEY_TERMS]
    assert (llm.engine.provider, llm.engine.model) == ("scripted", "scripted")


async def test_scripted_model_content_comes_from_the_transcript() -> None:
    doc = await ScriptedLanguageModel().generate(_request(ArtifactType.KEY_TERMS))
    assert isinstance(doc, KeyTerms)
    assert {t.term for t in doc.terms} >= {"demand", "supply"}
