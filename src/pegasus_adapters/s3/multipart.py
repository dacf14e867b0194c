"""Streamed S3 uploads: parts of PART_SIZE, a bounded number in flight, aborted on failure."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterable
from typing import Any

from pegasus_adapters.s3.errors import translated
from pegasus_core.errors import TooLargeError

log = logging.getLogger("pegasus.s3")

PART_SIZE = 8 * 1024 * 1024
"""Bytes per part (S3 needs at least 5 MiB for every part but the last)."""
PARTS_IN_FLIGHT = 2
"""Parts uploading while the next one fills: memory stays under (PARTS_IN_FLIGHT + 1) parts."""


_BACKGROUND: set[asyncio.Future[None]] = set()


def _background(work: Any) -> None:
    """Run cleanup that must outlive a cancelled caller (keeping a reference until it ends)."""
    task = asyncio.ensure_future(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


class MultipartUpload:
    """One multipart upload: parts go up concurrently (bounded); abort() removes every part."""

    def __init__(self, client: Any, bucket: str, key: str, upload_id: str) -> None:
        self._client, self._bucket, self._key, self._id = client, bucket, key, upload_id
        self._running: set[asyncio.Task[None]] = set()
        self._etags: dict[int, str] = {}
        self._next = 1

    @classmethod
    async def start(cls, client: Any, bucket: str, key: str) -> MultipartUpload:
        """Create the upload on the server.

        Cancelled while the request is out, the upload may still be created: it is then
        aborted in the background as soon as its id arrives.
        """
        created = asyncio.ensure_future(client.create_multipart_upload(Bucket=bucket, Key=key))
        try:
            async with translated(key):
                answer = await asyncio.shield(created)
        except asyncio.CancelledError:
            _background(cls._abort_once_created(client, bucket, key, created))
            raise
        return cls(client, bucket, key, answer["UploadId"])

    @staticmethod
    async def _abort_once_created(
        client: Any, bucket: str, key: str, created: asyncio.Future[Any]
    ) -> None:
        try:
            answer = await created
        except Exception:
            return  # never created
        await MultipartUpload(client, bucket, key, answer["UploadId"]).abort()

    async def add(self, data: bytearray) -> None:
        """Upload the next part; wait first while PARTS_IN_FLIGHT parts are still uploading.

        The upload owns data from here on: the caller must not change it.
        """
        while len(self._running) >= PARTS_IN_FLIGHT:
            done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            self._running -= done
            for task in done:
                task.result()  # a failed part fails the upload
        task = asyncio.create_task(self._upload_part(self._next, data))
        self._running.add(task)
        self._next += 1

    async def _upload_part(self, number: int, data: bytearray) -> None:
        async with translated(self._key):
            answer = await self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._id, PartNumber=number, Body=data
            )
        self._etags[number] = answer["ETag"]

    async def complete(self) -> None:
        """Wait for every part, then assemble the object (atomically replacing any old one)."""
        # The set stays filled until every part succeeded: if one fails, abort() still finds
        # (and cancels) the others.
        await asyncio.gather(*self._running)
        self._running.clear()
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in sorted(self._etags.items())]
        async with translated(self._key):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._id,
                MultipartUpload={"Parts": parts},
            )

    async def abort(self) -> None:
        """Stop the parts still uploading and delete every stored part; never raises.

        Runs to its end even if the caller is cancelled meanwhile (a client that disconnects
        cancels the request), so no part is left behind.
        """
        await asyncio.shield(asyncio.ensure_future(self._abort()))

    async def _abort(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running.clear()
        try:
            async with translated(self._key):
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._id
                )
        except Exception:
            log.warning("could not abort the multipart upload of %s", self._key, exc_info=True)


async def stream_upload(
    client: Any, bucket: str, key: str, chunks: AsyncIterable[bytes], max_bytes: int | None
) -> tuple[int, str]:
    """Upload chunks to key while hashing them; return (size, SHA-256 hex).

    An object under PART_SIZE goes up in one PUT; a larger one as a multipart upload. Raises
    TooLargeError once more than max_bytes arrive. On any failure (of the source, of S3, or a
    cancellation) the multipart upload is aborted: no object is created and an existing object
    at key stays as it was.
    """
    digest, size = hashlib.sha256(), 0
    # Chunks are copied once, into a part-sized buffer that is then handed to the upload as
    # is: no join, no second copy, so memory stays at the parts in flight plus one.
    buffer, filled = bytearray(PART_SIZE), 0
    upload: MultipartUpload | None = None
    try:
        async for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise TooLargeError("The upload is larger than the allowed size.")
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                taken = min(len(view), PART_SIZE - filled)
                buffer[filled : filled + taken] = view[:taken]
                filled, view = filled + taken, view[taken:]
                if filled == PART_SIZE:
                    upload = upload or await MultipartUpload.start(client, bucket, key)
                    await upload.add(buffer)
                    buffer, filled = bytearray(PART_SIZE), 0
        del buffer[filled:]
        if upload is None:
            async with translated(key):
                await client.put_object(Bucket=bucket, Key=key, Body=buffer)
        else:
            if buffer:
                await upload.add(buffer)
            await upload.complete()
    except BaseException:
        if upload is not None:
            await upload.abort()
        raise
    return size, digest.hexdigest()
