"""Helpers for async byte streams."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


async def peek(chunks: AsyncIterable[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read the first size bytes (fewer if the stream is shorter) without consuming them.

    Returns those bytes and a stream that yields every chunk again from the start.
    """
    iterator = aiter(chunks)
    seen: list[bytes] = []
    count = 0
    while count < size:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            break
        seen.append(chunk)
        count += len(chunk)

    async def replay() -> AsyncIterator[bytes]:
        for chunk in seen:
            yield chunk
        async for chunk in iterator:
            yield chunk

    return b"".join(seen)[:size], replay()
