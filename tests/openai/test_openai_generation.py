"""The OpenAI generator: the real openai client against the loopback chat server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.openai.language_model import OpenAILanguageModel
from pegasus_adapters.openai.prompts import estimate_tokens
from pegasus_adapters.openai.schemas import artifact_schema, concept_schema
from pegasus_adapters.settings import load_settings
from pegasus_core.artifacts import ARTIFACT_CLASSES, ArtifactType, KeyTerms, Summary
from pegasus_core.errors import ConfigError
from pegasus_core.jobs import Job, JobStatus
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from tests.conftest import LECTURE_TEXT, StepClock, memory_settings
from tests.fake_openai.chat_server import ChatServer, running_chat_server, strict_schema_problem
from tests.helpers import ingest


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    with running_chat_server() as server:
        yield server


def openai_llm(server: ChatServer, **options: int) -> OpenAILanguageModel:
    return OpenAILanguageModel(
        api_key=server.api_key, model="gpt-test", base_url=server.base_url, **options
    )


@asynccontextmanager
async def pipeline(
    tmp_path: Path,
    llm: OpenAILanguageModel,
    *,
    text: str = LECTURE_TEXT,
    words_per_sec: float = 3.0,
    clock: StepClock | None = None,
) -> AsyncIterator[Pegasus]:
    transcriber = ScriptedTranscriber(text, chunk_sec=5.0, words_per_sec=words_per_sec)
    try:
        async with open_pegasus(
            memory_settings(tmp_path), transcriber=transcriber, llm=llm, clock=clock
        ) as app:
            yield app
    finally:
        await llm.aclose()


async def generation_job(app: Pegasus, lecture_id: str = "lec-1") -> Job:
    page = await app.list_jobs(PageRequest(), lecture_id=lecture_id, job_type="generation")
    return page.items[0]


def names(server: ChatServer) -> list[str]:
    return [r["response_format"]["json_schema"]["name"] for r in server.requests]


def test_the_strict_schemas_pass_the_servers_strict_mode_check() -> None:
    for artifact_type in ArtifactType:
        assert strict_schema_problem(artifact_schema(artifact_type)) is None, artifact_type
    assert strict_schema_problem(concept_schema()) is None
    # The check has teeth: msgspec's own schema leaves optional fields out of `required`.
    raw = msgspec.json.schema(ARTIFACT_CLASSES[ArtifactType.FLASHCARDS])
    assert "additionalProperties" in (strict_schema_problem(raw) or "")
    loose = json.loads(json.dumps(artifact_schema(ArtifactType.KEY_TERMS)))
    loose["$defs"]["KeyTerm"]["required"].remove("example")
    assert "Missing ['example']" in (strict_schema_problem(loose) or "")


async def test_a_fenced_reply_with_a_trailing_comma_is_repaired_without_another_request(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    chat_server.fenced_with_trailing_comma()  # the first request: the summary
    async with pipeline(tmp_path, openai_llm(chat_server)) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert (job.status, job.attempts) == (JobStatus.COMPLETED, 1), job.error
        assert names(chat_server) == [t.value for t in ArtifactType] + ["concepts"]
        summary = await app.get_artifact("lec-1", "summary")
        assert isinstance(summary, Summary) and summary.sections
        assert job.result is not None and job.result["engine"]["provider"] == "openai"
        # Threads came from the model's concept answer, and the artifacts point at them.
        threads = (await app.list_threads("course-1", PageRequest())).items
        assert {t.title.lower() for t in threads} >= {"evaporation", "condensation"}
        assert set(summary.thread_refs) == {t.id for t in threads}


async def test_an_always_invalid_model_fails_the_job_after_the_retry_budget_plus_one_requests(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    chat_server.always_invalid = True
    async with pipeline(tmp_path, openai_llm(chat_server, output_retries=2)) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
        assert names(chat_server) == ["summary"] * 3
        assert job.error is not None and "summary" in job.error and "invalid" in job.error


async def test_a_rate_limit_is_retried_by_the_job_with_backoff_and_succeeds(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    clock = StepClock()
    chat_server.fail(429)
    async with pipeline(tmp_path, openai_llm(chat_server), clock=clock) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
        assert job.error is not None and "429" in job.error
        assert len(chat_server.requests) == 1  # the client's own retries are off
        clock.advance(11)
        assert (await app.sweep()).dispatched == 1
        job = await app.get_job(job.id)
        assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2), job.error


async def test_an_unauthorised_key_fails_the_job_at_once(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    chat_server.fail(401)
    async with pipeline(tmp_path, openai_llm(chat_server)) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
        assert len(chat_server.requests) == 1
        assert job.error == "The language model refused the summary request (HTTP 401)."


async def test_the_request_body_model_overrides_the_configured_one(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    async with pipeline(tmp_path, openai_llm(chat_server)) as app:
        await ingest(app, speech_clip, auto_process=True)
        assert {r["model"] for r in chat_server.requests} == {"gpt-test"}
        chat_server.requests.clear()
        await app.submit_generation("lec-1", model="gpt-override")
        assert {r["model"] for r in chat_server.requests} == {"gpt-override"}
        job = await generation_job(app)
        assert job.status is JobStatus.COMPLETED
        # The job names the model that ran, not the configured default.
        assert job.result["engine"] == {"provider": "openai", "model": "gpt-override"}


BUDGET = 1500


def long_lecture(tenths: int = 10) -> tuple[str, list[str]]:
    """About 5 x BUDGET tokens of short words, with one long term planted in each tenth."""
    planted = [f"plantedterm{chr(97 + i)}" for i in range(tenths)]
    filler = "we now look at how the cell uses its parts to make and move what it needs"
    tenth_chars = 5 * BUDGET * 4 // tenths  # estimate_tokens counts 4 characters a token
    text: list[str] = []
    for term in planted:
        words: list[str] = []
        while len(" ".join(words)) < tenth_chars:
            words += filler.split()
        words[len(words) // 2] = term
        text += words
    return " ".join(text), planted


async def test_a_transcript_five_times_the_budget_is_map_reduced_and_fully_covered(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    text, planted = long_lecture()
    llm = openai_llm(chat_server, token_budget=BUDGET)
    async with pipeline(tmp_path, llm, text=text, words_per_sec=len(text.split()) / 10) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert job.status is JobStatus.COMPLETED, job.error
        transcript = await app.get_transcript("lec-1")
        assert len(transcript.text.split()) == len(text.split())  # all of it was heard
        assert estimate_tokens(transcript.text) >= 5 * BUDGET * 0.9

        for request in chat_server.requests:
            size = sum(estimate_tokens(m["content"]) for m in request["messages"])
            assert size <= BUDGET
        summary_requests = [
            r["messages"][1]["content"]
            for r in chat_server.requests
            if r["response_format"]["json_schema"]["name"] == "summary"
        ]
        assert len(summary_requests) > 5  # mapped over parts, then reduced
        seen = "\n".join(summary_requests)
        assert all(segment.text in seen for segment in transcript.segments)

        summary = await app.get_artifact("lec-1", "summary")
        terms = await app.get_artifact("lec-1", "key-terms")
        assert isinstance(summary, Summary) and isinstance(terms, KeyTerms)
        found = json.dumps(msgspec.to_builtins(summary)) + " ".join(t.term for t in terms.terms)
        assert [term for term in planted if term not in found] == []
        assert job.result is not None and job.result["coverage"] == 1.0
        assert job.result["coverageByArtifact"]["summary"] == 1.0


async def test_the_model_matches_a_later_lectures_concepts_with_the_courses_threads(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    async with pipeline(tmp_path, openai_llm(chat_server)) as app:
        await ingest(app, speech_clip, lecture_id="lec-1", auto_process=True)
        await ingest(app, speech_clip, lecture_id="lec-2", auto_process=True)
        threads = (await app.list_threads("course-1", PageRequest())).items
        evaporation = next(t for t in threads if t.title.lower() == "evaporation")
        concept_requests = [
            r["messages"][1]["content"]
            for r in chat_server.requests
            if r["response_format"]["json_schema"]["name"] == "concepts"
        ]
        assert len(concept_requests) == 2
        assert evaporation.id not in concept_requests[0]  # nothing to match yet
        assert evaporation.id in concept_requests[1]  # the model was shown the thread
        assert evaporation.lecture_refs == ("lec-1", "lec-2")
        assert [e.change_type for e in evaporation.evolution] == ["introduced", "refinement"]
        assert all(len(t.lecture_refs) == 2 for t in threads)  # no duplicate threads


async def test_a_refusal_fails_the_job_at_once(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    chat_server.refuse()
    async with pipeline(tmp_path, openai_llm(chat_server)) as app:
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert (job.status, job.attempts, len(chat_server.requests)) == (JobStatus.FAILED, 1, 1)
        assert job.error == "The language model declined to write the summary."


async def test_the_settings_select_the_openai_generator(
    tmp_path: Path, speech_clip: Path, chat_server: ChatServer
) -> None:
    settings = memory_settings(
        tmp_path,
        generator="openai",
        openai_api_key=chat_server.api_key,
        openai_base_url=chat_server.base_url,
        openai_model="gpt-configured",
        generation_token_budget=2000,
    )
    transcriber = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=5.0, words_per_sec=3.0)
    async with open_pegasus(settings, transcriber=transcriber) as app:
        assert isinstance(app.ports.llm, OpenAILanguageModel)
        await ingest(app, speech_clip, auto_process=True)
        job = await generation_job(app)
        assert job.status is JobStatus.COMPLETED, job.error
        assert job.result is not None
        assert job.result["engine"] == {"provider": "openai", "model": "gpt-configured"}
        assert {r["model"] for r in chat_server.requests} == {"gpt-configured"}
    without_key = memory_settings(tmp_path, generator="openai")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        async with open_pegasus(without_key):
            pass
    assert load_settings({"PLC_GENERATION_TOKEN_BUDGET": "3000"}).generation_token_budget == 3000
    with pytest.raises(ConfigError, match="PLC_GENERATION_TOKEN_BUDGET"):
        load_settings({"PLC_GENERATION_TOKEN_BUDGET": "0"})
