import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.offline.transcriber import PocketsphinxTranscriber, group_words
from pegasus_adapters.openai.transcriber import OpenAITranscriber
from pegasus_core.errors import TooLargeError, UnsupportedAudioError
from pegasus_core.ports.transcriber import Transcriber
from pegasus_core.transcripts import ChunkResult, Segment, merge_chunks, shift_segments
from tests.audio_fixtures import SAMPLE_TEXT, make_speech_clip
from tests.fake_openai.audio_server import AudioServer, AudioServerState, Burst, serve_audio

LECTURE_WORDS = set(SAMPLE_TEXT.read_text().lower().replace(".", " ").replace(",", " ").split())
LECTURE_SENTENCES = SAMPLE_TEXT.read_text().replace("\n", " ").split(". ")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    fake = folder / "notes.mp3"
    fake.write_text("These are my lecture notes, not audio.\n" * 100)
    return {
        "long": make_speech_clip(folder / "long.opus", 48.0, "opus"),  # two offline chunks
        "short": make_speech_clip(folder / "short.mp3", 12.0, "mp3"),
        "text": fake,
    }


@pytest.fixture(scope="module")
def pocketsphinx() -> Iterator[PocketsphinxTranscriber]:
    # One pool for the module: starting processes and loading the model costs ~0.5 s. The pool
    # is not tied to an event loop, so a fresh loop can close it.
    engine = PocketsphinxTranscriber(processes=2)
    yield engine
    asyncio.run(engine.aclose())


def read_the_lecture(burst: Burst) -> str:
    """The fake OpenAI server's voice: each speech burst says the next sentence of the lecture."""
    return LECTURE_SENTENCES[burst.index % len(LECTURE_SENTENCES)].strip(" .") + "."


@pytest.fixture(scope="module")
def openai_server() -> Iterator[AudioServer]:
    with serve_audio(AudioServerState(voice=read_the_lecture)) as server:
        yield server


@pytest.fixture(params=["pocketsphinx", "scripted", "openai"])
def transcriber(request: pytest.FixtureRequest) -> Transcriber:
    if request.param == "scripted":
        return ScriptedTranscriber(SAMPLE_TEXT.read_text(), chunk_sec=5.0, words_per_sec=2.4)
    if request.param == "openai":
        server: AudioServer = request.getfixturevalue("openai_server")
        # 25 s chunks, so the 48 s clip has a chunk boundary, as with the other engines.
        return OpenAITranscriber(api_key="sk-test", base_url=server.base_url, chunk_target_sec=25.0)
    engine: PocketsphinxTranscriber = request.getfixturevalue("pocketsphinx")
    return engine


async def test_chunks_are_contiguous_and_cover_the_audio(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    async with transcriber.open(clips["long"], language="en") as session:
        chunks = list(session.chunks)
        duration = session.duration_sec

    assert duration == pytest.approx(48.0, abs=0.1)
    assert len(chunks) >= 2
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_sec == 0.0
    assert chunks[-1].end_sec == pytest.approx(duration, abs=1e-3)
    assert all(a.end_sec == b.start_sec for a, b in pairwise(chunks))
    assert all(c.end_sec > c.start_sec for c in chunks)


async def test_segments_are_relative_to_their_chunk_and_inside_it(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    async with transcriber.open(clips["long"], language="en") as session:
        last = session.chunks[-1]
        segments = await session.transcribe(last)

    assert last.start_sec > 20.0  # so chunk-relative and absolute times differ
    assert segments
    for segment in segments:
        assert 0.0 <= segment.start_sec <= segment.end_sec <= last.duration_sec + 0.05
        assert segment.text.strip()
    heard = {word for segment in segments for word in segment.text.split()}
    assert len(heard & LECTURE_WORDS) >= 5


async def test_concurrent_chunks_merge_into_an_ordered_transcript(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    async with transcriber.open(clips["short"], language="en") as session:
        chunks = list(session.chunks)
        limit = asyncio.Semaphore(transcriber.max_concurrency)

        async def one(chunk_index: int) -> list[Segment]:
            async with limit:
                return await session.transcribe(chunks[chunk_index])

        results = await asyncio.gather(*(one(i) for i in range(len(chunks))))
        merged = merge_chunks(
            [
                ChunkResult(span=chunk, segments=shift_segments(found, chunk))
                for chunk, found in zip(chunks, results, strict=True)
            ],
            duration_sec=session.duration_sec,
        )

    assert merged
    assert all(a.end_sec <= b.start_sec for a, b in pairwise(merged))
    assert merged[-1].end_sec <= session.duration_sec
    assert "photosynthesis" in " ".join(segment.text for segment in merged)


async def test_undecodable_audio_raises_unsupported_audio(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    with pytest.raises(UnsupportedAudioError):
        async with transcriber.open(clips["text"], language="en"):
            pass


async def test_audio_longer_than_the_limit_raises_too_large(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    with pytest.raises(TooLargeError, match="Audio is longer than the allowed duration"):
        async with transcriber.open(clips["short"], language="en", max_duration_sec=5.0):
            pass


async def test_audio_within_the_limit_opens(
    transcriber: Transcriber, clips: dict[str, Path]
) -> None:
    async with transcriber.open(clips["short"], language="en", max_duration_sec=12.5) as session:
        assert session.duration_sec == pytest.approx(12.0, abs=0.1)


def test_the_engine_names_itself_and_supports_english(transcriber: Transcriber) -> None:
    assert transcriber.engine.provider in {"offline", "scripted", "openai"}
    assert transcriber.max_concurrency >= 1
    assert transcriber.supports_language("en")


# Engine specifics.


async def test_scripted_engine_hears_the_script_at_its_pace(tmp_path: Path) -> None:
    clip = make_speech_clip(tmp_path / "clip.wav", 12.0)
    engine = ScriptedTranscriber(" ".join(f"w{i}" for i in range(20)), chunk_sec=5.0)

    async with engine.open(clip, language="en") as session:
        heard = [await session.transcribe(chunk) for chunk in session.chunks]

    assert [(c.start_sec, c.end_sec) for c in session.chunks] == [(0, 5), (5, 10), (10, 12)]
    assert [s.text for s in heard[0]] == [" ".join(f"w{i}" for i in range(12)), "w12"]
    assert heard[0][1] == Segment(start_sec=4.8, end_sec=5.0, text="w12")
    assert heard[1][0].start_sec == pytest.approx(0.2)  # w13 at 5.2 s, relative to 5 s
    assert heard[2] == []  # the script ran out: silence
    assert engine.transcribed == [0, 1, 2]


def test_pocketsphinx_words_become_clean_sentence_like_segments() -> None:
    words = [
        ("<s>", 0, 10),
        ("the(2)", 11, 20),
        ("cell", 21, 50),
        ("[NOISE]", 51, 55),
        ("divides", 56, 90),
        ("<sil>", 91, 130),  # 0.4 s: a sentence ends
        ("mitosis", 131, 180),
        ("</s>", 181, 190),
    ]

    assert group_words(words) == [
        Segment(start_sec=0.11, end_sec=0.91, text="the cell divides"),
        Segment(start_sec=1.31, end_sec=1.81, text="mitosis"),
    ]
    long_run = [(f"w{i}", i * 10, i * 10 + 9) for i in range(20)]
    assert [len(s.text.split()) for s in group_words(long_run)] == [15, 5]


def test_pocketsphinx_rejects_other_languages() -> None:
    engine = PocketsphinxTranscriber(processes=1)

    assert not engine.supports_language("fr")
    with pytest.raises(ValueError, match="Language not supported by the offline engine"):
        engine.open(Path("x.wav"), language="fr")


_ORPHAN_SCRIPT = """
import asyncio, multiprocessing, sys
from pathlib import Path
from pegasus_adapters.offline.transcriber import PocketsphinxTranscriber

async def main() -> None:
    engine = PocketsphinxTranscriber(processes=2)
    async with engine.open(Path(sys.argv[1]), language="en") as session:
        await asyncio.gather(*(session.transcribe(c) for c in session.chunks))
        print(*[p.pid for p in multiprocessing.active_children()], flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_processes_die_with_the_process_that_owns_them(clips: dict[str, Path]) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(clips["short"])], stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    workers = [int(pid) for pid in owner.stdout.readline().split()]
    assert workers and all(_alive(pid) for pid in workers)

    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not any(_alive(pid) for pid in workers), os.getpid()
