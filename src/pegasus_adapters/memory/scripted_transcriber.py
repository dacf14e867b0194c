"""A deterministic speech-to-text engine for tests and benchmarks: it "hears" a given text."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from pegasus_adapters.offline.audio import decoded_duration
from pegasus_adapters.planned_session import PlannedSession
from pegasus_core.transcripts import ChunkSpan, Engine, Segment

_WORDS_PER_SEGMENT = 12


class ScriptedTranscriber:
    """Transcriber port that speaks `text` at a steady pace over the real audio's duration.

    Word i is spoken at i / words_per_sec seconds; words past the end of the audio are never
    heard, and if the text runs out first the rest of the audio is silence. The audio is still
    decoded (to learn its length), so undecodable and overlong files fail as with a real engine.
    `transcribed` lists the chunk indexes transcribed, in call order (tests use it to prove that
    a resumed job skips finished chunks).
    """

    def __init__(
        self,
        text: str,
        *,
        chunk_sec: float = 5.0,
        words_per_sec: float = 2.5,
        max_concurrency: int = 2,
        chunk_delay_sec: float = 0.0,
    ) -> None:
        if chunk_sec <= 0 or words_per_sec <= 0 or max_concurrency < 1:
            raise ValueError("chunk_sec, words_per_sec and max_concurrency must be positive")
        self._words = tuple(text.split())
        # Lets tests and benchmarks make jobs last long enough to be interrupted.
        self.chunk_delay_sec = chunk_delay_sec
        # A test seam: awaited before each chunk; it may wait, or raise to fail the chunk.
        self.before_chunk: Callable[[ChunkSpan], Awaitable[None]] | None = None
        self._chunk_sec = chunk_sec
        self._words_per_sec = words_per_sec
        self._max_concurrency = max_concurrency
        self.transcribed: list[int] = []

    @property
    def engine(self) -> Engine:
        """Name the engine recorded on the transcript."""
        return Engine(provider="scripted", model="scripted")

    @property
    def max_concurrency(self) -> int:
        """Return the concurrency given to the constructor."""
        return self._max_concurrency

    def supports_language(self, language: str) -> bool:
        """Accept every language: the script is whatever the test says."""
        return True

    def open(
        self, audio: Path, *, language: str, max_duration_sec: float | None = None
    ) -> AbstractAsyncContextManager[ScriptedSession]:
        """Decode the audio for its duration (in a thread) and plan fixed chunk_sec chunks.

        Raises UnsupportedAudioError and TooLargeError as `decoded_duration` does.
        """
        return self._open(audio, max_duration_sec)

    @asynccontextmanager
    async def _open(
        self, audio: Path, max_duration_sec: float | None
    ) -> AsyncIterator[ScriptedSession]:
        duration = await asyncio.to_thread(
            decoded_duration, audio, max_duration_sec=max_duration_sec
        )
        yield ScriptedSession(self, duration, fixed_chunks(duration, self._chunk_sec))

    def _heard(self, chunk: ChunkSpan, duration_sec: float) -> list[Segment]:
        """Return the words spoken inside the chunk as chunk-relative segments."""
        self.transcribed.append(chunk.index)
        step = 1.0 / self._words_per_sec
        first = math.ceil(chunk.start_sec * self._words_per_sec - 1e-9)
        end = min(chunk.end_sec, duration_sec)
        indexes = [i for i in range(first, len(self._words)) if i * step < end]
        segments = []
        for at in range(0, len(indexes), _WORDS_PER_SEGMENT):
            group = indexes[at : at + _WORDS_PER_SEGMENT]
            start = group[0] * step - chunk.start_sec
            stop = min((group[-1] + 1) * step, end) - chunk.start_sec
            text = " ".join(self._words[i] for i in group)
            segments.append(Segment(start_sec=round(start, 3), end_sec=round(stop, 3), text=text))
        return segments


class ScriptedSession(PlannedSession):
    """The decoded duration, its fixed chunks, and the script to hear in them."""

    def __init__(
        self, owner: ScriptedTranscriber, duration_sec: float, chunks: Sequence[ChunkSpan]
    ) -> None:
        self._owner = owner
        super().__init__(duration_sec, chunks)

    async def transcribe(self, chunk: ChunkSpan, *, prompt: str = "") -> list[Segment]:
        """Return the script's words inside the chunk; the prompt is ignored."""
        if self._owner.before_chunk is not None:
            await self._owner.before_chunk(chunk)
        # Yield like a real engine (so concurrent calls interleave), or take a while.
        await asyncio.sleep(self._owner.chunk_delay_sec)
        return self._owner._heard(chunk, self._duration_sec)


def fixed_chunks(duration_sec: float, chunk_sec: float) -> list[ChunkSpan]:
    """Cut [0, duration_sec] into contiguous chunk_sec chunks; the last one takes the rest."""
    count = max(1, math.ceil(duration_sec / chunk_sec - 1e-9))
    bounds = [round(i * chunk_sec, 3) for i in range(count)] + [duration_sec]
    return [ChunkSpan(index=i, start_sec=bounds[i], end_sec=bounds[i + 1]) for i in range(count)]
