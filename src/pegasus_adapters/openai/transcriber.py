"""OpenAI speech to text: chunks cut at silences, uploaded as Ogg Opus, answered as segments.

Costs: decoding the lecture and encoding each chunk run in threads (PyAV releases the GIL while
coding); an open session keeps the decoded PCM (115 MB per hour of audio) in a temporary
directory. Works with any OpenAI-compatible server through `base_url`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Self

import openai
from pegasus_adapters.offline.audio import decode_to_pcm
from pegasus_adapters.openai.capabilities import LANGUAGES, ModelCapabilities, capabilities_for
from pegasus_adapters.openai.chunk_planner import CONTENT_TYPE, encode_chunk, plan_requests
from pegasus_adapters.planned_session import PlannedSession
from pegasus_core.errors import InvalidRequestError, PegasusError, UnavailableError
from pegasus_core.transcripts import ChunkSpan, Engine, Segment

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class OpenAITranscriber:
    """Transcriber port on OpenAI's /v1/audio/transcriptions.

    Models with timestamps (whisper-1) give their own segments. Text-only models (the gpt-4o
    transcribe family) give one text per chunk, which is split into sentences placed over the
    chunk in proportion to their length: approximate times, exact order.
    Transient failures (429, 408, 409, 5xx, connection errors and timeouts) raise
    UnavailableError after the client's own `max_retries`; other 4xx are permanent PegasusErrors.
    Close the HTTP client with `aclose()` or `async with`.
    """

    def __init__(
        self,
        *,
        model: str = "whisper-1",
        api_key: str | None = None,
        base_url: str | None = None,
        max_concurrency: int = 4,
        chunk_target_sec: float = 600.0,
        max_retries: int = 2,
        timeout_sec: float = 600.0,
        workdir: Path | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._model = model
        self._caps = capabilities_for(model)
        self._max_concurrency = max_concurrency
        self._chunk_target_sec = chunk_target_sec
        self._workdir = workdir
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_sec
        )

    @property
    def engine(self) -> Engine:
        """Name the engine recorded on the transcript."""
        return Engine(provider="openai", model=self._model)

    @property
    def capabilities(self) -> ModelCapabilities:
        """Return the limits the chunks are planned for."""
        return self._caps

    @property
    def max_concurrency(self) -> int:
        """Return how many requests may be in flight at once."""
        return self._max_concurrency

    def supports_language(self, language: str) -> bool:
        """Tell whether OpenAI documents this ISO 639-1 language for speech to text."""
        return language in LANGUAGES

    def open(
        self, audio: Path, *, language: str, max_duration_sec: float | None = None
    ) -> AbstractAsyncContextManager[OpenAISession]:
        """Decode the audio to a temporary PCM file and plan request-sized chunks, in a thread.

        Raises InvalidRequestError for an unsupported language, and the errors of
        `decode_to_pcm` (UnsupportedAudioError, TooLargeError).
        """
        if not self.supports_language(language):
            raise InvalidRequestError("Language not supported by the OpenAI engine.")
        return self._open(audio, language, max_duration_sec)

    async def aclose(self) -> None:
        """Close the HTTP client. Idempotent."""
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def _open(
        self, audio: Path, language: str, max_duration_sec: float | None
    ) -> AsyncIterator[OpenAISession]:
        workdir = Path(
            await asyncio.to_thread(tempfile.mkdtemp, prefix="pegasus-pcm-", dir=self._workdir)
        )
        try:
            pcm = workdir / "audio.pcm"
            duration = await asyncio.to_thread(
                decode_to_pcm, audio, pcm, max_duration_sec=max_duration_sec
            )
            chunks = await asyncio.to_thread(
                plan_requests, pcm, self._caps, target_sec=self._chunk_target_sec
            )
            yield OpenAISession(self, pcm, duration, chunks, language)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _request(self, chunk: ChunkSpan, audio: bytes, language: str, prompt: str) -> Any:
        """Send one chunk; translate the client's errors at the port."""
        name = f"chunk-{chunk.index:04d}.ogg"
        try:
            if self._caps.timestamps:
                return await self._client.audio.transcriptions.create(
                    file=(name, audio, CONTENT_TYPE),
                    model=self._model,
                    language=language,
                    prompt=prompt,
                    response_format="verbose_json",
                    timestamp_granularities=["segment"],
                )
            return await self._client.audio.transcriptions.create(
                file=(name, audio, CONTENT_TYPE),
                model=self._model,
                language=language,
                prompt=prompt,
                response_format="json",
            )
        except (openai.APIConnectionError, openai.InternalServerError) as exc:
            raise UnavailableError(f"OpenAI is unavailable: {_message(exc)}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code in _TRANSIENT_STATUSES:
                raise UnavailableError(f"OpenAI is unavailable: {_message(exc)}") from exc
            raise PegasusError(
                f"OpenAI rejected chunk {chunk.index} of the audio "
                f"({exc.status_code}): {_message(exc)}"
            ) from exc
        except openai.OpenAIError as exc:  # an answer the client could not read
            raise PegasusError(f"OpenAI gave an unusable answer: {exc}") from exc


class OpenAISession(PlannedSession):
    """One decoded audio file and its chunks, cut at silences within the model's caps."""

    def __init__(
        self,
        owner: OpenAITranscriber,
        pcm: Path,
        duration_sec: float,
        chunks: Sequence[ChunkSpan],
        language: str,
    ) -> None:
        self._owner = owner
        self._pcm = pcm
        super().__init__(duration_sec, chunks)
        self._language = language

    async def transcribe(self, chunk: ChunkSpan, *, prompt: str = "") -> list[Segment]:
        """Encode the chunk (in a thread) and transcribe it; the prompt biases the model."""
        owner = self._owner
        audio = await asyncio.to_thread(encode_chunk, self._pcm, chunk, owner.capabilities)
        answer = await owner._request(chunk, audio, self._language, prompt)
        timed = getattr(answer, "segments", None)
        if timed:
            return [
                Segment(start_sec=float(s.start), end_sec=float(s.end), text=s.text.strip())
                for s in timed
                if s.text.strip()
            ]
        return place_sentences(str(getattr(answer, "text", "")), chunk.duration_sec)


def place_sentences(text: str, duration_sec: float) -> list[Segment]:
    """Split untimed text into sentences spread over [0, duration_sec] by their length."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    total = sum(len(s) for s in sentences)
    segments, start = [], 0.0
    for sentence in sentences:
        end = start + duration_sec * len(sentence) / total
        segments.append(Segment(start_sec=round(start, 3), end_sec=round(end, 3), text=sentence))
        start = end
    return segments


def _message(exc: openai.APIError) -> str:
    """Return the server's own error message when its body has one."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return exc.message
