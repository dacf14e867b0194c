"""BlobStore on S3 or any S3-compatible server (MinIO, moto_server), through aiobotocore."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from pegasus_adapters.s3.errors import error_code, translated
from pegasus_adapters.s3.multipart import stream_upload
from pegasus_core.errors import BlobNotFoundError, UnavailableError
from pegasus_core.ports.blob_store import BlobInfo

_READ_SIZE = 1024 * 1024
_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes


@asynccontextmanager
async def open_s3_blob_store(
    *,
    bucket: str,
    prefix: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    max_attempts: int = 3,
) -> AsyncIterator[S3BlobStore]:
    """Open an aiobotocore client for the store's lifetime and close it on exit.

    max_attempts bounds botocore's own retries of a call (throttling, 5xx, resets); what still
    fails becomes UnavailableError, which the jobs table retries with its backoff.

    Credentials come from botocore's usual chain (environment, shared files, instance role).
    A custom endpoint gets path-style addressing, which every S3-compatible server speaks.
    """
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint_url else {},
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    async with get_session().create_client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=config
    ) as client:
        yield S3BlobStore(client, bucket=bucket, prefix=prefix)


class S3BlobStore:
    """Objects live at <prefix>/<key> in one bucket.

    Costs: a put buffers at most a few 8 MiB parts; move is a server-side copy then a delete
    (CopyObject's 5 GiB limit caps objects, far above the upload limit); delete and exists are
    one HEAD each; local_file downloads the whole object to a temporary file.
    """

    def __init__(self, client: Any, *, bucket: str, prefix: str) -> None:
        if not prefix.strip("/"):
            raise ValueError("S3_PREFIX must not be empty")
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/"

    def _key(self, key: str) -> str:
        # Keys are built by the core from validated ids; this is a second line of defence.
        parts = PurePosixPath(key).parts
        if not key or key.startswith("/") or ".." in parts:
            raise ValueError(f"invalid storage key: {key!r}")
        return self.prefix + key

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> BlobInfo:
        size, sha256 = await stream_upload(
            self._client, self.bucket, self._key(key), chunks, max_bytes
        )
        return BlobInfo(key=key, size_bytes=size, sha256=sha256)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        async with translated(key):
            answer = await self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        async with answer["Body"] as body:
            while True:
                async with translated(key):
                    chunk = await body.read(_READ_SIZE)
                if not chunk:
                    return
                yield chunk

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            async with translated(key):
                answer = await self._client.get_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Range=f"bytes={start}-{start + length - 1}",
                )
                async with answer["Body"] as body:
                    data: bytes = await body.read()
        except UnavailableError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "InvalidRange":
                return b""  # start is at or past the end
            raise
        return data

    @asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        with tempfile.TemporaryDirectory(prefix="pegasus-s3-") as directory:
            path = Path(directory) / PurePosixPath(key).name
            handle = await asyncio.to_thread(path.open, "wb")
            try:
                async for chunk in self.open(key):
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            yield path

    async def move(self, source: str, target: str) -> None:
        async with translated(source):
            await self._client.copy_object(
                Bucket=self.bucket,
                Key=self._key(target),
                CopySource={"Bucket": self.bucket, "Key": self._key(source)},
            )
        await self.delete(source)

    async def exists(self, key: str) -> bool:
        try:
            async with translated(key):
                await self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except BlobNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> bool:
        # DeleteObject answers the same whether or not the key existed: ask first.
        existed = await self.exists(key)
        async with translated(key):
            await self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return existed

    async def delete_prefix(self, prefix: str) -> int:
        """Delete the objects in batches, and abort uploads left pending there by a crash."""
        keys = await self.list(prefix)
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": self._key(key)} for key in keys[start : start + _DELETE_BATCH]]
            async with translated(prefix):
                answer = await self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            if answer.get("Errors"):
                raise UnavailableError("Storage could not delete every object.")
        await self._abort_uploads(prefix)
        return len(keys)

    async def _abort_uploads(self, prefix: str) -> None:
        async with translated(prefix):
            paginator = self._client.get_paginator("list_multipart_uploads")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for upload in page.get("Uploads", []):
                    await self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )

    async def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        full = self.prefix + prefix
        async with translated(prefix):
            paginator = self._client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(keys)

    async def check(self) -> None:
        """Write, read back and delete a small object: proves bucket access and credentials."""
        probe = f".health/{uuid.uuid4().hex}"
        async with translated(probe):
            await self._client.put_object(Bucket=self.bucket, Key=self._key(probe), Body=b"ok")
            answer = await self._client.get_object(Bucket=self.bucket, Key=self._key(probe))
            async with answer["Body"] as body:
                data = await body.read()
            await self._client.delete_object(Bucket=self.bucket, Key=self._key(probe))
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
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if content_type is not None:
            params["ResponseContentType"] = content_type
        async with translated(key):
            url: str = await self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_sec
            )
        return url
