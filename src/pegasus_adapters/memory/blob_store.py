"""BlobStore in memory, for fast tests (passes the same contract suite as the others)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pegasus_core.errors import BlobNotFoundError, TooLargeError
from pegasus_core.ports.blob_store import BlobInfo


class InMemoryBlobStore:
    """Objects in a dict; local_file writes a temporary copy."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> BlobInfo:
        parts, size = [], 0
        async for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise TooLargeError("The upload is larger than the allowed size.")
            parts.append(chunk)
        data = b"".join(parts)
        self.objects[key] = data
        return BlobInfo(key=key, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            data = self.objects[key]
        except KeyError:
            raise BlobNotFoundError(key) from None
        yield data

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        try:
            return self.objects[key][start : start + length]
        except KeyError:
            raise BlobNotFoundError(key) from None

    @asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        if key not in self.objects:
            raise BlobNotFoundError(key)
        with tempfile.TemporaryDirectory(prefix="pegasus-blob-") as directory:
            path = Path(directory) / Path(key).name
            path.write_bytes(self.objects[key])
            yield path

    async def move(self, source: str, target: str) -> None:
        try:
            self.objects[target] = self.objects.pop(source)
        except KeyError:
            raise BlobNotFoundError(source) from None

    async def exists(self, key: str) -> bool:
        return key in self.objects

    async def delete(self, key: str) -> bool:
        return self.objects.pop(key, None) is not None

    async def delete_prefix(self, prefix: str) -> int:
        keys = [key for key in self.objects if key.startswith(prefix)]
        for key in keys:
            del self.objects[key]
        return len(keys)

    async def list(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    async def check(self) -> None:
        return None

    async def presigned_url(
        self,
        key: str,
        *,
        expires_sec: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        return None
