"""A blocking, seekable file over a stored object, read with range requests.

FFmpeg (through PyAV) needs random access to find the index of a container that keeps it at the
end (non-faststart M4A); this gives it that from any BlobStore without copying the object.
"""

from __future__ import annotations

import asyncio
import io

from pegasus_core.ports.blob_store import BlobStore

READ_AHEAD = 256 * 1024
"""Smallest range requested: FFmpeg reads in small pieces, one request each would be slow."""
MAX_READ_AHEAD = 8 * 1024 * 1024
"""Largest range: sequential reads (decoding a whole file) double the range up to this."""
_TIMEOUT_SEC = 120.0


class BlobReader(io.RawIOBase):
    """Read an object of known size through blobs.read_range, from a worker thread.

    Each read that misses the buffer asks the event loop (which owns the store's client) for
    one range of at least READ_AHEAD bytes (more while reads are sequential) and blocks until
    it arrives. Never use it on the
    loop's own thread: it would wait for itself.
    """

    def __init__(
        self, blobs: BlobStore, key: str, size: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__()
        self._blobs, self._key, self._size, self._loop = blobs, key, size, loop
        self._position = 0
        self._buffer = b""
        self._buffer_start = 0
        self._ahead = READ_AHEAD

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(target), self._size - self._position)
        if wanted <= 0:
            return 0
        offset = self._position - self._buffer_start
        if not 0 <= offset < len(self._buffer):
            sequential = offset == len(self._buffer) and self._buffer
            self._ahead = min(2 * self._ahead, MAX_READ_AHEAD) if sequential else READ_AHEAD
            self._fill(max(wanted, self._ahead))
            offset = 0
        data = self._buffer[offset : offset + wanted]
        target[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _fill(self, length: int) -> None:
        future = asyncio.run_coroutine_threadsafe(
            self._blobs.read_range(self._key, self._position, length), self._loop
        )
        self._buffer = future.result(timeout=_TIMEOUT_SEC)
        self._buffer_start = self._position
