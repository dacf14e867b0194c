"""The BlobStore contract, run against every storage adapter."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request
from collections.abc import AsyncIterator

import pytest

from pegasus_adapters.local_blob_store import LocalBlobStore
from pegasus_adapters.memory.blob_store import InMemoryBlobStore
from pegasus_core.errors import BlobNotFoundError, TooLargeError
from pegasus_core.ports.blob_store import BlobStore, put_bytes, read_all


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_put_streams_chunks_and_reports_size_and_sha256(blob_store: BlobStore) -> None:
    info = await blob_store.put("lectures/a/audio.mp3", chunks(b"abc", b"", b"def"))
    assert info.size_bytes == 6
    assert info.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    assert await read_all(blob_store, "lectures/a/audio.mp3") == b"abcdef"
    assert await blob_store.exists("lectures/a/audio.mp3")


async def test_a_put_over_the_limit_raises_and_leaves_nothing(blob_store: BlobStore) -> None:
    await put_bytes(blob_store, "lectures/a/audio.mp3", b"old")
    with pytest.raises(TooLargeError):
        await blob_store.put("lectures/a/audio.mp3", chunks(b"x" * 6, b"y" * 6), max_bytes=10)
    with pytest.raises(TooLargeError):
        await blob_store.put("lectures/a/new.mp3", chunks(b"x" * 11), max_bytes=10)
    assert await read_all(blob_store, "lectures/a/audio.mp3") == b"old"
    assert await blob_store.list("lectures/a/") == ["lectures/a/audio.mp3"]


async def test_a_failing_source_leaves_nothing(blob_store: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blob_store.put("lectures/a/audio.mp3", broken())
    assert await blob_store.list("lectures/") == []


async def test_reading_a_missing_object_raises_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError):
        await read_all(blob_store, "lectures/none/audio.mp3")
    with pytest.raises(BlobNotFoundError):
        async with blob_store.local_file("lectures/none/audio.mp3"):
            pass
    with pytest.raises(BlobNotFoundError):
        await blob_store.move("lectures/none/a", "lectures/none/b")


async def test_delete_is_idempotent(blob_store: BlobStore) -> None:
    await put_bytes(blob_store, "lectures/a/x.json", b"{}")
    assert await blob_store.delete("lectures/a/x.json") is True
    assert await blob_store.delete("lectures/a/x.json") is False
    assert not await blob_store.exists("lectures/a/x.json")


async def test_delete_prefix_removes_only_that_prefix(blob_store: BlobStore) -> None:
    for key in (
        "lectures/a/audio.mp3",
        "lectures/a/chunks/00000-0-1.json",
        "lectures/ab/audio.mp3",
        "lectures/b/audio.mp3",
    ):
        await put_bytes(blob_store, key, b"1")
    assert await blob_store.delete_prefix("lectures/a/") == 2
    assert await blob_store.list("lectures/") == ["lectures/ab/audio.mp3", "lectures/b/audio.mp3"]


async def test_move_renames_and_local_file_gives_the_bytes(blob_store: BlobStore) -> None:
    await put_bytes(blob_store, "lectures/a/upload.part", b"RIFF....")
    await blob_store.move("lectures/a/upload.part", "lectures/a/audio.wav")
    assert await blob_store.list("lectures/a/") == ["lectures/a/audio.wav"]
    async with blob_store.local_file("lectures/a/audio.wav") as path:
        assert path.read_bytes() == b"RIFF...."


async def test_check_passes_on_a_healthy_store(blob_store: BlobStore) -> None:
    await blob_store.check()
    assert await blob_store.list("lectures/") == []


async def test_read_range_returns_the_slice_and_nothing_past_the_end(
    blob_store: BlobStore,
) -> None:
    await put_bytes(blob_store, "lectures/a/audio.m4a", b"0123456789")
    assert await blob_store.read_range("lectures/a/audio.m4a", 2, 3) == b"234"
    assert await blob_store.read_range("lectures/a/audio.m4a", 8, 10) == b"89"
    assert await blob_store.read_range("lectures/a/audio.m4a", 10, 4) == b""
    with pytest.raises(BlobNotFoundError):
        await blob_store.read_range("lectures/none/audio.m4a", 0, 4)


async def test_a_presigned_url_downloads_the_object_without_credentials(
    blob_store: BlobStore,
) -> None:
    await put_bytes(blob_store, "lectures/a/exports/a.md", b"# Notes\n")
    url = await blob_store.presigned_url(
        "lectures/a/exports/a.md",
        expires_sec=900,
        filename="a.md",
        content_type="text/markdown; charset=utf-8",
    )
    if url is None:  # a store that cannot sign: the API streams the bytes itself
        assert isinstance(blob_store, InMemoryBlobStore | LocalBlobStore)
        return
    with await asyncio.to_thread(urllib.request.urlopen, url, timeout=10) as answer:
        assert answer.read() == b"# Notes\n"
        assert answer.headers["Content-Disposition"] == 'attachment; filename="a.md"'
        assert answer.headers["Content-Type"] == "text/markdown; charset=utf-8"
