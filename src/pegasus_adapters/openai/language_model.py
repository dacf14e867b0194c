"""The LanguageModel port over OpenAI chat completions with strict JSON-schema output."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, TypeVar, cast

import msgspec

import openai
from openai import AsyncOpenAI
from pegasus_adapters.openai.prompts import (
    CONCEPT_SYSTEM,
    RETRY_RESERVE,
    Messages,
    body_json,
    concept_message,
    estimate_tokens,
    messages_tokens,
    part_label,
    plan_parts,
    reduce_message,
    reduce_system,
    retry_prompt,
    system_prompt,
    transcript_lines,
    transcript_message,
)
from pegasus_adapters.openai.replies import InvalidReplyError, check_artifact, decode_reply
from pegasus_adapters.openai.schemas import (
    ConceptAnswer,
    Schema,
    artifact_schema,
    concept_schema,
    response_format,
)
from pegasus_core.artifacts import (
    ARTIFACT_CLASSES,
    AnyArtifact,
    ArtifactType,
    ExamQuestions,
    Flashcards,
)
from pegasus_core.errors import PegasusError, UnavailableError
from pegasus_core.ports.language_model import ConceptRequest, GenerationRequest
from pegasus_core.threads import Concept
from pegasus_core.transcripts import Engine

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

log = logging.getLogger("pegasus.openai")

T = TypeVar("T", bound=msgspec.Struct)

DEFAULT_TOKEN_BUDGET = 12_000


class OpenAILanguageModel:
    """LanguageModel port over any OpenAI-compatible chat completions endpoint.

    - One request per artifact type with a strict `json_schema` response format derived from
      the artifact's Struct (openai.schemas).
    - A reply is decoded, repaired locally when it can be (a code fence, trailing commas),
      and validated; an invalid reply is asked again up to `output_retries` more times, then
      the job fails with a sentence naming the artifact type.
    - A transcript whose request would pass `token_budget` (estimated, prompts.estimate_tokens)
      is cut into parts that each fit; each part gets its own request (map), and the partial
      documents are merged by further requests, each within the budget too (reduce). Up to
      `concurrency` requests of one artifact are in flight at once.
    - A refusal fails the job at once (asking again would not change the answer).
    - HTTP 429, 5xx, timeouts and connection errors raise UnavailableError (the job is retried
      with backoff); 401 and other 4xx fail the job at once. The client's own retries are off
      (`max_retries=0`): retries live in the jobs table.
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        output_retries: int = 2,
        timeout_sec: float = 120.0,
        concurrency: int = 4,
    ) -> None:
        if output_retries < 0 or token_budget < 1 or concurrency < 1:
            raise ValueError("output_retries >= 0, token_budget and concurrency positive")
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_sec
        )
        self._model = model
        self._budget = token_budget
        self._retries = output_retries
        self._concurrency = concurrency

    @property
    def engine(self) -> Engine:
        """Name the provider and the default model."""
        return Engine(provider="openai", model=self._model)

    def engine_for(self, model: str | None) -> Engine:
        """Name the provider and the model a request's override selects."""
        return Engine(provider="openai", model=model or self._model)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        """Generate one artifact, map-reduce over parts when the transcript is long."""
        kind, preset = request.artifact_type, request.preset
        model = request.model or self._model
        system = system_prompt(kind, preset)
        lines = transcript_lines(request.transcript.segments)
        if not lines:
            raise PegasusError("Transcript is empty: nothing to generate from.")
        parts = plan_parts(system, request.lecture_title, request.course_title, lines, self._budget)
        users = [
            transcript_message(
                request.lecture_title, request.course_title, part, part_label(i, len(parts))
            )
            for i, part in enumerate(parts)
        ]
        partials = await self._each(kind, system, users, model)
        doc = await self._reduce(request, partials, model)
        return _within_counts(doc, request)

    async def _each(
        self, kind: ArtifactType, system: str, users: list[str], model: str
    ) -> list[AnyArtifact]:
        """Ask for one document per user message, `concurrency` at a time, in order.

        The first failure cancels the requests still running (a TaskGroup).
        """
        gate = asyncio.Semaphore(self._concurrency)

        async def one(user: str) -> AnyArtifact:
            async with gate:
                return await self._artifact(kind, system, user, model)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(user)) for user in users]
        except BaseExceptionGroup as failed:
            # The job runner tells errors apart by type: hand on the first one itself.
            first = failed.exceptions[0]
            raise first from first.__cause__
        return [task.result() for task in tasks]

    async def _reduce(
        self, request: GenerationRequest, partials: list[AnyArtifact], model: str
    ) -> AnyArtifact:
        """Merge partial documents batch by batch, each request within the budget."""
        kind = request.artifact_type
        system = reduce_system(kind, request.preset)
        while len(partials) > 1:
            room = (
                self._budget
                - estimate_tokens(system)
                - RETRY_RESERVE
                - estimate_tokens(reduce_message(request.lecture_title, request.course_title, []))
            )
            batches = _batches([body_json(p) for p in partials], room)
            if len(batches) == len(partials):
                raise PegasusError(
                    f"Generated {kind.value} parts are too long to merge within the token budget."
                )
            users = [
                reduce_message(request.lecture_title, request.course_title, [t for _, t in b])
                for b in batches
                if len(b) > 1
            ]
            merged = iter(await self._each(kind, system, users, model))
            # A batch of one (a part too long to pair) goes on to the next round as it is.
            partials = [partials[b[0][0]] if len(b) == 1 else next(merged) for b in batches]
        return partials[0]

    async def _artifact(
        self, kind: ArtifactType, system: str, user: str, model: str
    ) -> AnyArtifact:
        doc = await self._structured(
            kind.value, artifact_schema(kind), ARTIFACT_CLASSES[kind], system, user, model
        )
        return doc

    async def match_concepts(self, request: ConceptRequest) -> tuple[Concept, ...]:
        """Ask the model for the lecture's concepts and the threads they continue."""
        answer = await self._structured(
            "concepts",
            concept_schema(),
            ConceptAnswer,
            CONCEPT_SYSTEM,
            concept_message(request),
            request.model or self._model,
        )
        return answer.concepts

    async def _structured(
        self, name: str, schema: Schema, type_: type[T], system: str, user: str, model: str
    ) -> T:
        """Send one structured request; ask again on invalid output, at most `output_retries`."""
        problem = ""
        for _ in range(self._retries + 1):
            prompt = retry_prompt(system, problem) if problem else system
            messages: Messages = [
                {"role": "system", "content": prompt},
                {"role": "user", "content": user},
            ]
            text = await self._complete(name, schema, messages, model)
            try:
                doc = decode_reply(text, type_)
                if name != "concepts":
                    check_artifact(doc)  # type: ignore[arg-type]
                return doc
            except InvalidReplyError as exc:
                problem = str(exc)
                log.warning("invalid %s reply from %s: %s", name, model, problem)
        raise PegasusError(
            f"Generated {name} is invalid after {self._retries + 1} requests: {problem}."
        )

    async def _complete(self, name: str, schema: Schema, messages: Messages, model: str) -> str:
        log.debug("%s request, about %d tokens", name, messages_tokens(messages))
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=[cast("ChatCompletionMessageParam", message) for message in messages],
                response_format=cast("ResponseFormatJSONSchema", response_format(name, schema)),
            )
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise UnavailableError(
                f"The language model could not be reached for {name}; retrying later."
            ) from exc
        except openai.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise UnavailableError(
                    f"The language model is unavailable for {name} (HTTP {exc.status_code});"
                    " retrying later."
                ) from exc
            raise PegasusError(
                f"The language model refused the {name} request (HTTP {exc.status_code})."
            ) from exc
        if not response.choices:
            return ""
        message = response.choices[0].message
        if message.refusal:
            # A refusal is the model's considered answer: asking again will not change it.
            raise PegasusError(f"The language model declined to write the {name}.")
        return message.content or ""


def _batches(texts: list[str], room: int) -> list[list[tuple[int, str]]]:
    """Group consecutive texts so each group's estimated size fits `room`."""
    batches: list[list[tuple[int, str]]] = [[]]
    used = 0
    for index, text in enumerate(texts):
        cost = estimate_tokens(text + "\n")
        if batches[-1] and used + cost > room:
            batches.append([])
            used = 0
        batches[-1].append((index, text))
        used += cost
    return batches


def _within_counts(doc: AnyArtifact, request: GenerationRequest) -> AnyArtifact:
    """Keep flashcards and exam questions within the preset's counts (they are maxima)."""
    gen = request.preset.generation
    if isinstance(doc, Flashcards) and len(doc.cards) > gen.flashcard_count:
        return msgspec.structs.replace(doc, cards=doc.cards[: gen.flashcard_count])
    if isinstance(doc, ExamQuestions) and len(doc.questions) > gen.exam_question_count:
        return msgspec.structs.replace(doc, questions=doc.questions[: gen.exam_question_count])
    return doc


__all__ = ["DEFAULT_TOKEN_BUDGET", "OpenAILanguageModel"]
