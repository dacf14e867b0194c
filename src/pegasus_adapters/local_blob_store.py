"""BlobStore on the local filesystem under PLC_STORAGE_DIR."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from pegasus_core.errors import BlobNotFoundError, TooLargeError, UnavailableError
from pegasus_core.ports.blob_store import BlobInfo

_READ_SIZE = 1024 * 1024
_T = TypeVar("_T")
_HOST = socket.gethostname()


def _partial_path(target: Path) -> Path:
    """Name a put's temporary file after its writer: `.<name>~<host>~<pid>~<random>.part`."""
    return target.with_name(f".{target.name}~{_HOST}~{os.getpid()}~{uuid.uuid4().hex}.part")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def _remove_abandoned_partials(target: Path) -> None:
    """Delete temporary files of target whose writer, on this host, has died.

    A process killed mid-put (SIGKILL, the OOM killer) cannot clean up after itself. The
    next put of the same key does it: a retried job writes the same keys. Writers on other
    hosts sharing the directory are never judged, and a reused pid only keeps a file.
    """
    for partial in target.parent.glob(f".{glob.escape(target.name)}~*.part"):
        try:
            _, host, pid, _ = partial.name.removesuffix(".part").rsplit("~", 3)
        except ValueError:
            continue
        if host == _HOST and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                partial.unlink()


def _open_for_write(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


async def _storage_call(func: Callable[..., _T], *args: object) -> _T:
    """Run a blocking file operation in a thread.

    Disk errors (ENOSPC, EIO) become UnavailableError, which the job runner retries.
    """
    try:
        return await asyncio.to_thread(func, *args)
    except OSError as exc:
        raise UnavailableError("Storage write failed.") from exc


class LocalBlobStore:
    """Objects are files under root; blocking calls run in threads.

    A put writes a temporary file and renames it into place, so readers never see a partial
    object.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # Keys are built by the core from validated ids; this is a second line of defence.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"key escapes the storage root: {key!r}")
        return path

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> BlobInfo:
        target = self._path(key)
        if await asyncio.to_thread(target.parent.is_dir):
            await asyncio.to_thread(_remove_abandoned_partials, target)
        partial = _partial_path(target)
        digest, size = hashlib.sha256(), 0
        handle = await _storage_call(_open_for_write, partial)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLargeError("The upload is larger than the allowed size.")
                digest.update(chunk)
                await _storage_call(handle.write, chunk)
            await _storage_call(handle.close)
            await _storage_call(os.replace, partial, target)
        finally:
            if not handle.closed:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.unlink, missing_ok=True)
        return BlobInfo(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFoundError(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, _READ_SIZE):
                yield chunk
        finally:
            handle.close()

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        path = self._path(key)

        def read() -> bytes:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read(length)

        try:
            return await asyncio.to_thread(read)
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFoundError(key) from None

    @asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not await asyncio.to_thread(path.is_file):
            raise BlobNotFoundError(key)
        yield path

    async def move(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)
        try:
            await asyncio.to_thread(dst.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(os.replace, src, dst)
        except FileNotFoundError:
            raise BlobNotFoundError(source) from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list(prefix)
        for key in keys:
            await self.delete(key)
        directory = self._path(prefix.rstrip("/"))
        if prefix.endswith("/") and directory.is_dir():
            await asyncio.to_thread(shutil.rmtree, directory, True)
        return len(keys)

    async def list(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
            start = base if base.is_dir() else base.parent
            if not start.exists():
                return []
            keys = []
            for path in start.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    key = path.relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
            return sorted(keys)

        return await asyncio.to_thread(walk)

    async def check(self) -> None:
        probe = f".health/{uuid.uuid4().hex}"
        try:
            path = self._path(probe)
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_bytes, b"ok")
            data = await asyncio.to_thread(path.read_bytes)
            await asyncio.to_thread(path.unlink)
        except OSError as exc:
            raise UnavailableError("Storage is not writable.") from exc
        if data != b"ok":
            raise UnavailableError("Storage returned different bytes.")

    async def presigned_url(
        self,
        key: str,
        *,
        expires_sec: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        return None  # files are served by the API itself
