"""Byte storage addressed by store-relative keys (lectures/<id>/audio.mp3). Streams only."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from pegasus_core.records import Record


class BlobInfo(Record, frozen=True, kw_only=True):
    """What a put wrote."""

    key: str
    size_bytes: int
    sha256: str


class BlobStore(Protocol):
    """Byte storage. Keys are store-relative and already validated by the caller."""

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> BlobInfo:
        """Write all chunks, replacing any object at key; return size and SHA-256.

        Raises TooLargeError once more than max_bytes arrive. A failed put leaves nothing
        behind and does not disturb an object already at key.
        """
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object. Raises BlobNotFoundError (on first iteration) if absent."""
        ...

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return up to length bytes from offset start (fewer at the end, none past it).

        For random access (probing a container whose index sits at its end) without copying
        the object. Raises BlobNotFoundError if absent.
        """
        ...

    def local_file(self, key: str) -> AbstractAsyncContextManager[Path]:
        """Yield a local, seekable file holding the object, for decoders that need one.

        The file may be the stored object itself: callers must not write to it. A temporary
        copy is removed on exit. Raises BlobNotFoundError if absent.
        """
        ...

    async def move(self, source: str, target: str) -> None:
        """Rename an object, replacing any object at target. Raises BlobNotFoundError."""
        ...

    async def exists(self, key: str) -> bool:
        """Tell whether an object is stored at key."""
        ...

    async def delete(self, key: str) -> bool:
        """Delete the object; return whether one existed. Deleting a missing key is no error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with prefix; return how many were deleted."""
        ...

    async def list(self, prefix: str) -> list[str]:
        """Return the keys under prefix, sorted."""
        ...

    async def check(self) -> None:
        """Prove the store is writable and readable; raise UnavailableError if not."""
        ...

    async def presigned_url(
        self,
        key: str,
        *,
        expires_sec: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """Return a URL that downloads the object without credentials for expires_sec.

        None when the store cannot sign URLs (local, memory): callers then serve the bytes
        themselves. filename sets the download's Content-Disposition (attachment) and
        content_type its Content-Type. The object's existence is not checked.
        """
        ...


async def read_all(blobs: BlobStore, key: str) -> bytes:
    """Read a whole (small) object into memory."""
    return b"".join([chunk async for chunk in blobs.open(key)])


async def put_bytes(blobs: BlobStore, key: str, data: bytes) -> BlobInfo:
    """Store a small object held in memory."""

    async def one() -> AsyncIterator[bytes]:
        yield data

    return await blobs.put(key, one())
