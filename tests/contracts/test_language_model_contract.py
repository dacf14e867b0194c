"""What every LanguageModel adapter promises (CONTRACT.md sections 4 and 9), run on each one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest

from pegasus_adapters.memory.scripted_language_model import ScriptedLanguageModel
from pegasus_adapters.offline.generator import ExtractiveLanguageModel
from pegasus_adapters.openai.language_model import OpenAILanguageModel
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
from pegasus_core.ports.language_model import ConceptRequest, GenerationRequest, LanguageModel
from pegasus_core.presets import BUILTIN_PRESETS
from pegasus_core.threads import Thread, ThreadEvolution
from pegasus_core.transcripts import Engine, Segment, Transcript
from tests.fake_openai.chat_server import running_chat_server

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


@pytest.fixture(params=["extractive", "scripted", "openai"])
async def llm(request: pytest.FixtureRequest) -> AsyncIterator[LanguageModel]:
    if request.param == "extractive":
        yield ExtractiveLanguageModel()
    elif request.param == "scripted":
        yield ScriptedLanguageModel()
    else:  # the real openai client against the loopback chat server
        with running_chat_server() as server:
            model = OpenAILanguageModel(
                api_key=server.api_key, model="gpt-test", base_url=server.base_url
            )
            yield model
            await model.aclose()


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
    assert llm.engine_for(None) == llm.engine
    overridden = llm.engine_for("another-model")
    # An engine either runs the override or ignores it; it never names a third model.
    assert overridden.model in ("another-model", llm.engine.model)


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


async def test_concepts_are_matched_only_with_the_threads_given(llm: LanguageModel) -> None:
    artifacts = (
        await llm.generate(_request(ArtifactType.SUMMARY)),
        await llm.generate(_request(ArtifactType.KEY_TERMS)),
    )
    request = ConceptRequest(
        lecture_id="lec-econ",
        lecture_title="Supply and demand",
        course_title="ECON 101",
        transcript=LECTURE,
        artifacts=artifacts,
        threads=(),
    )
    first = await llm.match_concepts(request)
    assert first and all(c.thread_id is None and c.change_type == "introduced" for c in first)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    thread = Thread(
        id="thread-known",
        course_id="econ",
        title=first[0].title,
        summary=first[0].summary,
        status="foundational",
        complexity_level=1,
        lecture_refs=("lec-older",),
        evolution=(ThreadEvolution(lecture_id="lec-older", change_type="introduced", note="."),),
        created_at=when,
        updated_at=when,
    )
    again = await llm.match_concepts(msgspec.structs.replace(request, threads=(thread,)))
    matched = [c for c in again if c.thread_id == thread.id]
    assert matched and all(c.change_type != "introduced" for c in matched)
    assert all(c.thread_id in (None, thread.id) for c in again)
