"""Fault injection for tests of real processes, switched on and off by files (PLC_FAULT_DIR).

A test seam, never set in production (bootstrap logs loudly when it is). A fault is active
while its switch file exists in the directory, so a test can start and stop it in processes
it did not build; each switch file holds key substrings, one a line (empty: every key):

- `storage-eio`, `storage-enospc`: a put of a matching key fails partway with that OSError,
  reported as the local store reports disk errors (UnavailableError); nothing is kept.
- `crash-after-put`: right after a matching put succeeds the process exits at once, before
  it can commit anything. One-shot: the switch is removed by the process that fires it.
- `engine-hangs`: the scripted transcriber waits forever before each chunk.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from pegasus_core.errors import UnavailableError
from pegasus_core.ports.blob_store import BlobInfo, BlobStore
from pegasus_core.transcripts import ChunkSpan

log = logging.getLogger("pegasus.faults")

CRASH_EXIT_CODE = 86
_ERRNO = {"storage-eio": errno.EIO, "storage-enospc": errno.ENOSPC}


class FaultSwitches:
    """The switch files of one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def matches(self, name: str, key: str = "") -> bool:
        """Tell whether switch `name` is on for key (an empty switch matches every key)."""
        try:
            text = (self.directory / name).read_text()
        except OSError:
            return False
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return not lines or any(line in key for line in lines)

    def fire_once(self, name: str, key: str) -> bool:
        """Turn switch `name` off if it is on for key; true only for the one caller that did."""
        if not self.matches(name, key):
            return False
        try:
            (self.directory / name).unlink()
        except FileNotFoundError:
            return False  # another thread or process fired it first
        return True


class FaultyBlobStore:
    """A BlobStore that injects the storage faults its switches name, around another store."""

    def __init__(self, inner: BlobStore, switches: FaultSwitches) -> None:
        self._inner = inner
        self._switches = switches

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> BlobInfo:
        failing = next((n for n in _ERRNO if self._switches.matches(n, key)), None)
        source = chunks if failing is None else _fail_after_first(chunks, failing)
        info = await self._inner.put(key, source, max_bytes=max_bytes)
        if self._switches.fire_once("crash-after-put", key):
            log.warning("fault injected: exiting after writing %s", key)
            logging.shutdown()
            os._exit(CRASH_EXIT_CODE)
        return info

    def open(self, key: str) -> AsyncIterator[bytes]:
        return self._inner.open(key)

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        return await self._inner.read_range(key, start, length)

    def local_file(self, key: str) -> AbstractAsyncContextManager[Path]:
        return self._inner.local_file(key)

    async def move(self, source: str, target: str) -> None:
        await self._inner.move(source, target)

    async def exists(self, key: str) -> bool:
        return await self._inner.exists(key)

    async def presigned_url(
        self,
        key: str,
        *,
        expires_sec: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        return await self._inner.presigned_url(
            key, expires_sec=expires_sec, filename=filename, content_type=content_type
        )

    async def delete(self, key: str) -> bool:
        return await self._inner.delete(key)

    async def delete_prefix(self, prefix: str) -> int:
        return await self._inner.delete_prefix(prefix)

    async def list(self, prefix: str) -> list[str]:
        return await self._inner.list(prefix)

    async def check(self) -> None:
        if any(self._switches.matches(name, ".health/") for name in _ERRNO):
            raise UnavailableError("Storage is not writable.")
        await self._inner.check()


async def _fail_after_first(chunks: AsyncIterable[bytes], switch: str) -> AsyncIterator[bytes]:
    """Pass the first chunk through (so the store has begun writing), then fail."""
    async for chunk in chunks:
        yield chunk
        break
    code = _ERRNO[switch]
    log.warning("fault injected: %s", switch)
    raise UnavailableError("Storage write failed.") from OSError(code, os.strerror(code))


def hang_hook(switches: FaultSwitches) -> Callable[[ChunkSpan], Awaitable[None]]:
    """Return a scripted transcriber before_chunk hook that hangs while `engine-hangs` is on."""

    async def before_chunk(chunk: ChunkSpan) -> None:
        if switches.matches("engine-hangs"):
            log.warning("fault injected: the engine hangs on chunk %s", chunk.index)
            await asyncio.Event().wait()

    return before_chunk
