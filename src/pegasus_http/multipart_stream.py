"""Streaming multipart/form-data: parts are read as the bytes arrive, never buffered whole."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

import multipart

from pegasus_core.errors import TooLargeError, ValidationError

# Generous for a form of a dozen short fields, tight enough to refuse abuse early.
MAX_PARTS = 32
MAX_FIELD_BYTES = 16 * 1024
_END = object()


def boundary_of(content_type: str) -> str:
    """Return the multipart boundary of a Content-Type header, or raise ValidationError."""
    kind, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary")
    if kind != "multipart/form-data" or not boundary:
        raise ValidationError("The request must be multipart/form-data with a boundary.")
    return str(boundary)


class Part:
    """One part of the form: its headers, and its body to read once, in order."""

    def __init__(self, segment: multipart.MultipartSegment, reader: MultipartReader) -> None:
        self.name = segment.name
        self.filename = segment.filename
        self.content_type = segment.content_type
        self._reader = reader
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield the part's body as it arrives."""
        while not self._done:
            event = await self._reader.next_event()
            if event is None:
                self._done = True
                return
            assert isinstance(event, bytes | bytearray | memoryview)
            yield bytes(event)

    async def text(self) -> str:
        """Read a small text field (at most MAX_FIELD_BYTES, UTF-8)."""
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > MAX_FIELD_BYTES:
                raise TooLargeError(f"Form field {self.name} is too large.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(f"Form field {self.name} is not valid UTF-8.") from None

    async def skip(self) -> None:
        """Discard what is left of the part's body."""
        async for _ in self.chunks():
            pass


class MultipartReader:
    """Pulls request chunks through multipart's push parser and hands out parts in order."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: str) -> None:
        self._stream = stream
        self._parser = multipart.PushMultipartParser(
            boundary, max_segment_count=MAX_PARTS, max_header_count=8
        )
        self._events: deque[object] = deque()
        self._current: Part | None = None

    async def next_event(self) -> object:
        """Return the next parser event, reading more of the request when needed."""
        while not self._events:
            if self._parser.closed:
                return _END
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                chunk = b""
            try:
                # The parser's generator must be consumed whole before the next chunk.
                self._events.extend(self._parser.parse(chunk))
            except multipart.ParserLimitReached:
                raise TooLargeError("The form has too many parts or headers.") from None
            except multipart.ParserError as exc:
                raise ValidationError(f"Malformed multipart body: {exc}.") from None
            if not chunk and not self._events and not self._parser.closed:
                raise ValidationError("The multipart body ended early.")
        return self._events.popleft()

    async def parts(self) -> AsyncIterator[Part]:
        """Yield each part; a part the caller did not read is skipped."""
        while True:
            if self._current is not None:
                await self._current.skip()
            event = await self.next_event()
            if event is _END:
                return
            if not isinstance(event, multipart.MultipartSegment):
                raise ValidationError("Malformed multipart body.")
            self._current = Part(event, self)
            yield self._current
