"""Probing stored audio in place, with range reads, on every BlobStore."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from pegasus_adapters.blob_reader import READ_AHEAD, BlobReader
from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.blob_store import InMemoryBlobStore
from pegasus_adapters.offline.probe import PyAvAudioProbe
from pegasus_core.errors import BlobNotFoundError, UnsupportedAudioError
from pegasus_core.ports.audio_probe import HEAD_BYTES
from pegasus_core.ports.blob_store import BlobStore, put_bytes
from tests.audio_fixtures import FORMATS, make_speech_clip, moov_after_mdat
from tests.conftest import memory_settings
from tests.helpers import ingest


class RangeOnly:
    """Passes range reads to a store and records them; refuses whole-object reads."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.ranges: list[tuple[int, int]] = []

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        self.ranges.append((start, length))
        return await self.inner.read_range(key, start, length)

    def open(self, key: str) -> AsyncIterator[bytes]:
        raise AssertionError("the probe must not stream the whole object")

    def local_file(self, key: str) -> AbstractAsyncContextManager[Path]:
        raise AssertionError("the probe must not copy the object")


@pytest.fixture(scope="module")
def late_index_m4a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = make_speech_clip(tmp_path_factory.mktemp("m4a") / "late.m4a", 90.0, "m4a_moov_at_end")
    assert moov_after_mdat(clip)
    return clip


async def test_an_m4a_with_its_index_at_the_end_is_probed_with_range_reads(
    blob_store: BlobStore, late_index_m4a: Path
) -> None:
    data = late_index_m4a.read_bytes()
    await put_bytes(blob_store, "lectures/a/upload.part", data)
    spy = RangeOnly(blob_store)

    info = await PyAvAudioProbe().probe_stored(spy, "lectures/a/upload.part", len(data))  # type: ignore[arg-type]

    assert (info.extension, info.content_type) == ("m4a", "audio/mp4")
    assert info.duration_sec == pytest.approx(90.0, abs=0.2)
    assert any(start > len(data) // 2 for start, _ in spy.ranges)  # it jumped to the index
    assert sum(length for _, length in spy.ranges) < len(data)  # and did not read it all


async def test_probing_stored_bytes_that_are_not_audio_is_unsupported(
    blob_store: BlobStore,
) -> None:
    await put_bytes(blob_store, "lectures/a/upload.part", b"not audio at all" * 1000)
    with pytest.raises(UnsupportedAudioError):
        await PyAvAudioProbe().probe_stored(blob_store, "lectures/a/upload.part", 16000)
    with pytest.raises(BlobNotFoundError):
        await PyAvAudioProbe().probe_stored(blob_store, "lectures/none/upload.part", 10)


async def test_a_blob_reader_reads_seeks_and_grows_its_ranges_while_sequential(
    blob_store: BlobStore,
) -> None:
    data = bytes(range(256)) * 16 * 1024  # 4 MiB
    await put_bytes(blob_store, "lectures/a/upload.part", data)
    spy = RangeOnly(blob_store)
    reader = BlobReader(spy, "lectures/a/upload.part", len(data), asyncio.get_running_loop())  # type: ignore[arg-type]

    def use() -> tuple[bytes, bytes, bytes]:
        whole = b"".join(iter(lambda: reader.read(4096), b""))
        reader.seek(-10, io.SEEK_END)
        tail = reader.read()
        reader.seek(1000)
        return whole, tail, reader.read(5)

    whole, tail, middle = await asyncio.to_thread(use)
    assert (whole, tail, middle) == (data, data[-10:], data[1000:1005])
    lengths = [length for _, length in spy.ranges]
    assert lengths[:4] == [READ_AHEAD, 2 * READ_AHEAD, 4 * READ_AHEAD, 8 * READ_AHEAD]
    assert lengths[-1] == READ_AHEAD  # a seek starts small again


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_the_guess_from_the_first_bytes_agrees_with_the_probe(
    tmp_path: Path, fmt: str
) -> None:
    clip = make_speech_clip(tmp_path / f"clip{FORMATS[fmt][2]}", 2.0, fmt)
    probe = PyAvAudioProbe()
    guess = probe.guess_extension(clip.read_bytes()[:HEAD_BYTES])
    assert guess == (await probe.probe(clip)).extension


def test_bytes_that_tell_nothing_give_no_guess() -> None:
    probe = PyAvAudioProbe()
    assert probe.guess_extension(b"") is None
    assert probe.guess_extension(b"not audio at all, just some text") is None
    assert probe.guess_extension(bytes.fromhex("1a45dfa3") + bytes(60)) is None  # Matroska


class CountingMoves(InMemoryBlobStore):
    def __init__(self) -> None:
        super().__init__()
        self.moves: list[tuple[str, str]] = []

    async def move(self, source: str, target: str) -> None:
        self.moves.append((source, target))
        await super().move(source, target)


@pytest.mark.parametrize(
    ("fmt", "lying_head", "moves"),
    [
        ("wav", False, []),
        ("flac", True, [("lectures/lec-1/audio.mp3", "lectures/lec-1/audio.flac")]),
    ],
)
async def test_an_upload_is_stored_under_its_final_name_unless_the_guess_was_wrong(
    tmp_path: Path, fmt: str, lying_head: bool, moves: list[tuple[str, str]]
) -> None:
    clip = make_speech_clip(tmp_path / f"clip{FORMATS[fmt][2]}", 2.0, fmt)
    if lying_head:  # an ID3 tag (as MP3 files start) before FLAC: the probe decides
        clip.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + clip.read_bytes())
    store = CountingMoves()
    async with open_pegasus(memory_settings(tmp_path), blobs=store) as app:
        result = await ingest(app, clip)
    assert result.lecture.audio.path == f"lectures/lec-1/audio.{fmt}"
    assert store.moves == moves
    assert sorted(store.objects) == [f"lectures/lec-1/audio.{fmt}"]
