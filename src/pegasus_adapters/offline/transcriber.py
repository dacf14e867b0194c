"""Offline speech to text: PyAV decoding and pocketsphinx recognition in a process pool.

Costs: recognition takes about 0.14 s of CPU per second of audio on one core, so chunks run one
per pool process. The pool uses the `forkserver` start method (never `fork`, which would copy the
parent's database and Redis connections); each worker loads the en-us model once (about 0.25 s).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from pegasus_adapters.offline.audio import SAMPLE_BYTES, SAMPLE_RATE, decode_to_pcm, plan_chunks
from pegasus_adapters.planned_session import PlannedSession
from pegasus_core.errors import InvalidRequestError, UnavailableError
from pegasus_core.transcripts import ChunkSpan, Engine, Segment

_T = TypeVar("_T")

FRAME_SEC = 0.01  # pocketsphinx segment frames are 10 ms
_PAUSE_FRAMES = 25  # a silence this long (0.25 s) ends a sentence-like segment
_MAX_WORDS = 15
_ALTERNATE = re.compile(r"\(\d+\)$")  # "the(2)": second pronunciation of "the"

_decoder: Any = None  # one pocketsphinx Decoder per pool process, made by _init_worker


class PocketsphinxTranscriber:
    """Transcriber port on pocketsphinx's en-us model; English only.

    Owns a process pool of `processes` workers (default: one per core), created on first use:
    close it with `aclose()` or `async with`. Each open session keeps the decoded PCM (115 MB
    per hour of audio) in a temporary directory under `workdir` (default: the system's).
    """

    def __init__(self, *, processes: int | None = None, workdir: Path | None = None) -> None:
        self._processes = processes or os.cpu_count() or 1
        self._workdir = workdir
        self._pool: ProcessPoolExecutor | None = None

    @property
    def engine(self) -> Engine:
        """Name the engine recorded on the transcript."""
        return Engine(provider="offline", model="pocketsphinx-en-us")

    @property
    def max_concurrency(self) -> int:
        """Return the pool size: one chunk per process."""
        return self._processes

    def supports_language(self, language: str) -> bool:
        """Tell whether the language is English, the only one the bundled model knows."""
        return language == "en"

    def open(
        self, audio: Path, *, language: str, max_duration_sec: float | None = None
    ) -> AbstractAsyncContextManager[PocketsphinxSession]:
        """Decode the audio to a temporary PCM file and plan its chunks, both in the pool.

        Raises InvalidRequestError for a language other than English, and the errors of
        `decode_to_pcm` (UnsupportedAudioError, TooLargeError).
        """
        if not self.supports_language(language):
            raise InvalidRequestError("Language not supported by the offline engine.")
        return self._open(audio, max_duration_sec)

    async def aclose(self) -> None:
        """Shut the pool down, dropping chunks not started yet. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def _open(
        self, audio: Path, max_duration_sec: float | None
    ) -> AsyncIterator[PocketsphinxSession]:
        workdir = Path(
            await asyncio.to_thread(tempfile.mkdtemp, prefix="pegasus-pcm-", dir=self._workdir)
        )
        try:
            pcm = workdir / "audio.pcm"
            duration, chunks = await self._run(_prepare, audio, pcm, max_duration_sec)
            yield PocketsphinxSession(self, pcm, duration, chunks)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run fn in the pool; a dead worker becomes UnavailableError and a fresh pool."""
        pool = self._pool
        if pool is None:
            pool = self._pool = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
            )
        try:
            # submit() may start worker processes: keep that off the event loop too.
            future = await asyncio.to_thread(pool.submit, fn, *args)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = None
                await asyncio.to_thread(pool.shutdown, wait=False, cancel_futures=True)
            raise UnavailableError("The offline transcriber's worker process died.") from exc
        except RuntimeError as exc:  # submit() after aclose(): the process is shutting down
            raise UnavailableError("The offline transcriber is shutting down.") from exc


class PocketsphinxSession(PlannedSession):
    """One decoded audio file; its PCM lives in a temporary directory until the session closes."""

    def __init__(
        self,
        owner: PocketsphinxTranscriber,
        pcm: Path,
        duration_sec: float,
        chunks: Sequence[ChunkSpan],
    ) -> None:
        self._owner = owner
        self._pcm = pcm
        super().__init__(duration_sec, chunks)

    async def transcribe(self, chunk: ChunkSpan, *, prompt: str = "") -> list[Segment]:
        """Recognise the chunk in a pool process; the prompt is ignored (no biasing here)."""
        first = round(chunk.start_sec * SAMPLE_RATE)
        last = round(chunk.end_sec * SAMPLE_RATE)
        return await self._owner._run(_recognise, self._pcm, first, last)


def group_words(words: Sequence[tuple[str, int, int]]) -> list[Segment]:
    """Group pocketsphinx's (word, start frame, end frame) list into sentence-like segments.

    A segment ends at a pause of 0.25 s or more, or after 15 words. Fillers (`<s>`, `<sil>`,
    `[NOISE]`, ...) are dropped and alternate-pronunciation marks (`the(2)`) stripped.
    """
    segments: list[Segment] = []
    current: list[tuple[str, int, int]] = []

    def flush() -> None:
        if current:
            text = " ".join(word for word, _, _ in current)
            start, end = current[0][1] * FRAME_SEC, (current[-1][2] + 1) * FRAME_SEC
            segments.append(Segment(start_sec=round(start, 2), end_sec=round(end, 2), text=text))
            current.clear()

    for word, start, end in words:
        if word[:1] in "<[+" or not word:
            if end - start + 1 >= _PAUSE_FRAMES:
                flush()
            continue
        current.append((_ALTERNATE.sub("", word), start, end))
        if len(current) >= _MAX_WORDS:
            flush()
    flush()
    return segments


def _prepare(src: Path, pcm: Path, max_duration_sec: float | None) -> tuple[float, list[ChunkSpan]]:
    duration = decode_to_pcm(src, pcm, max_duration_sec=max_duration_sec)
    return duration, plan_chunks(pcm)


def _recognise(pcm: Path, first_sample: int, last_sample: int) -> list[Segment]:
    with pcm.open("rb") as f:
        f.seek(first_sample * SAMPLE_BYTES)
        data = f.read((last_sample - first_sample) * SAMPLE_BYTES)
    if not data:
        return []
    # The decoder carries feature state (normalisation) from one utterance to the next, so a
    # chunk's words would depend on which chunk this process decoded before: reset it, so a
    # transcript is the same whichever pool process took which chunk, resumed or not.
    _decoder.reinit_feat()
    _decoder.start_utt()
    _decoder.process_raw(data, full_utt=True)
    _decoder.end_utt()
    return group_words([(seg.word, seg.start_frame, seg.end_frame) for seg in _decoder.seg()])


def _init_worker() -> None:
    """Load the model once per process, and make the process die with its parent."""
    global _decoder
    _exit_with_parent()
    from pocketsphinx import Decoder  # only pool processes need the model

    _decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


def _exit_with_parent() -> None:
    # Our parent is the forkserver, which outlives the process owning the pool (every worker
    # keeps the forkserver's "alive" pipe open), so neither os.getppid() nor PR_SET_PDEATHSIG
    # tells us the owner died. multiprocessing's parent sentinel does: the owner holds the only
    # write end of that pipe, so it reads EOF the moment the owner dies. The thread needs the GIL
    # to exit, so a worker inside pocketsphinx (which holds it) exits after that chunk: seconds.
    owner = multiprocessing.parent_process()
    if owner is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([owner.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-owner", daemon=True).start()
