"""What only S3 has: multipart uploads, prefixes in a shared bucket, botocore errors at the port."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pegasus_adapters.s3.blob_store import S3BlobStore, open_s3_blob_store
from pegasus_adapters.s3.errors import core_error
from pegasus_adapters.s3.multipart import PART_SIZE
from pegasus_core.errors import (
    BlobNotFoundError,
    StorageAccessDeniedError,
    TooLargeError,
    UnavailableError,
)
from pegasus_core.ports.blob_store import put_bytes, read_all
from tests.s3_server import S3_REGION, moto_server, object_keys, pending_uploads
from tests.system.served import free_port

MIB = 1024 * 1024


async def pieces(
    total: int, *, piece: int = MIB, fail_after: int | None = None
) -> AsyncIterator[bytes]:
    """total bytes in pieces of a deterministic pattern; raise after fail_after bytes."""
    sent = 0
    while sent < total:
        if fail_after is not None and sent >= fail_after:
            raise ConnectionResetError("client went away")
        size = min(piece, total - sent)
        yield bytes([sent // piece % 251]) * size
        sent += size


def expected_sha256(total: int, *, piece: int = MIB) -> str:
    digest = hashlib.sha256()
    for start in range(0, total, piece):
        digest.update(bytes([start // piece % 251]) * min(piece, total - start))
    return digest.hexdigest()


async def test_a_large_put_is_a_multipart_upload_of_8_mib_parts(
    s3_blob_store: S3BlobStore, s3_admin: Any, s3_bucket: str
) -> None:
    total = 2 * PART_SIZE + 3 * MIB
    info = await s3_blob_store.put("lectures/a/audio.wav", pieces(total))
    assert (info.size_bytes, info.sha256) == (total, expected_sha256(total))
    head = await s3_admin.head_object(Bucket=s3_bucket, Key="pegasus-test/lectures/a/audio.wav")
    assert head["ContentLength"] == total
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 8 MiB, 8 MiB, 3 MiB
    first = await s3_admin.head_object(
        Bucket=s3_bucket, Key="pegasus-test/lectures/a/audio.wav", PartNumber=1
    )
    assert first["ContentLength"] == PART_SIZE
    digest = hashlib.sha256()
    async for chunk in s3_blob_store.open("lectures/a/audio.wav"):
        digest.update(chunk)
    assert digest.hexdigest() == info.sha256
    assert await pending_uploads(s3_admin, s3_bucket) == []


@pytest.mark.parametrize("failure", ["source", "too_large", "cancelled"])
async def test_a_failed_multipart_put_leaves_no_part_and_the_old_object(
    s3_blob_store: S3BlobStore, s3_admin: Any, s3_bucket: str, failure: str
) -> None:
    await put_bytes(s3_blob_store, "lectures/a/audio.wav", b"old")
    total = 3 * PART_SIZE
    if failure == "source":
        put = s3_blob_store.put("lectures/a/audio.wav", pieces(total, fail_after=2 * PART_SIZE))
        with pytest.raises(ConnectionResetError):
            await put
    elif failure == "too_large":
        put = s3_blob_store.put("lectures/a/audio.wav", pieces(total), max_bytes=2 * PART_SIZE + 1)
        with pytest.raises(TooLargeError):
            await put
    else:
        started = asyncio.Event()

        async def stalls() -> AsyncIterator[bytes]:
            async for chunk in pieces(2 * PART_SIZE):
                yield chunk
            started.set()
            await asyncio.Event().wait()  # the client stops sending, then disconnects
            yield b""

        task = asyncio.create_task(s3_blob_store.put("lectures/a/audio.wav", stalls()))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The abort runs on, shielded from the cancellation.
        for _ in range(200):
            if not await pending_uploads(s3_admin, s3_bucket):
                break
            await asyncio.sleep(0.05)
    assert await pending_uploads(s3_admin, s3_bucket) == []
    assert await read_all(s3_blob_store, "lectures/a/audio.wav") == b"old"
    assert await object_keys(s3_admin, s3_bucket, "") == ["pegasus-test/lectures/a/audio.wav"]


async def test_every_key_lives_under_the_prefix(
    s3_endpoint: str, s3_admin: Any, s3_bucket: str
) -> None:
    await s3_admin.put_object(Bucket=s3_bucket, Key="other-app/lectures/a/audio.wav", Body=b"x")
    async with open_s3_blob_store(
        bucket=s3_bucket, prefix="/tenant/one/", endpoint_url=s3_endpoint, region=S3_REGION
    ) as store:
        await put_bytes(store, "lectures/a/audio.wav", b"mine")
        assert await store.list("lectures/") == ["lectures/a/audio.wav"]
        assert await store.delete_prefix("lectures/") == 1
    assert await object_keys(s3_admin, s3_bucket, "") == ["other-app/lectures/a/audio.wav"]


async def test_delete_prefix_aborts_uploads_a_crashed_process_left_pending(
    s3_blob_store: S3BlobStore, s3_admin: Any, s3_bucket: str
) -> None:
    await s3_admin.create_multipart_upload(
        Bucket=s3_bucket, Key="pegasus-test/lectures/a/upload.part"
    )
    await s3_admin.create_multipart_upload(
        Bucket=s3_bucket, Key="pegasus-test/lectures/b/upload.part"
    )
    await s3_blob_store.delete_prefix("lectures/a/")
    assert await pending_uploads(s3_admin, s3_bucket) == ["pegasus-test/lectures/b/upload.part"]


async def test_an_unreachable_server_is_unavailable_and_a_missing_bucket_too(
    s3_endpoint: str,
) -> None:
    async with open_s3_blob_store(
        bucket="pegasus-none",
        prefix="p",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region=S3_REGION,
        max_attempts=1,
    ) as down:
        with pytest.raises(UnavailableError):
            await down.check()
        with pytest.raises(UnavailableError):
            await read_all(down, "lectures/a/audio.wav")
        with pytest.raises(UnavailableError):
            await put_bytes(down, "lectures/a/audio.wav", b"x")
    async with open_s3_blob_store(
        bucket="pegasus-no-such-bucket", prefix="p", endpoint_url=s3_endpoint, region=S3_REGION
    ) as missing:
        with pytest.raises(UnavailableError) as caught:
            await missing.check()
        assert not isinstance(caught.value, BlobNotFoundError)
        assert "pegasus-no-such-bucket" not in str(caught.value)


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, BlobNotFoundError),
        ("404", 404, BlobNotFoundError),
        ("AccessDenied", 403, StorageAccessDeniedError),
        ("InvalidAccessKeyId", 403, StorageAccessDeniedError),
        ("SignatureDoesNotMatch", 403, StorageAccessDeniedError),
        ("SlowDown", 503, UnavailableError),
        ("InternalError", 500, UnavailableError),
        ("NoSuchBucket", 404, UnavailableError),
    ],
)
def test_s3_error_answers_become_core_errors(
    code: str, status: int, expected: type[Exception]
) -> None:
    error = core_error(client_error(code, status), "lectures/a/audio.wav")
    assert type(error) is expected


async def test_refused_credentials_are_access_denied(tmp_path: Path, s3_endpoint: str) -> None:
    # A second server that checks signatures and knows no access key (moto's IAM mode).
    with moto_server(tmp_path, INITIAL_NO_AUTH_ACTION_COUNT="0") as strict:
        async with open_s3_blob_store(
            bucket="pegasus-any", prefix="p", endpoint_url=strict, region=S3_REGION
        ) as store:
            with pytest.raises(StorageAccessDeniedError):
                await store.check()
            with pytest.raises(StorageAccessDeniedError):
                await read_all(store, "lectures/a/audio.wav")


async def test_a_put_cancelled_while_its_upload_is_created_leaves_no_pending_upload(
    s3_blob_store: S3BlobStore, s3_admin: Any, s3_bucket: str
) -> None:
    original = s3_blob_store._client.create_multipart_upload
    created, answer_back = asyncio.Event(), asyncio.Event()

    async def slow_answer(**kwargs: Any) -> Any:
        answer = await original(**kwargs)  # created on the server...
        created.set()
        await answer_back.wait()  # ...but the answer arrives after the cancellation
        return answer

    s3_blob_store._client.create_multipart_upload = slow_answer
    try:
        task = asyncio.create_task(s3_blob_store.put("lectures/a/audio.wav", pieces(2 * PART_SIZE)))
        await created.wait()
        assert await pending_uploads(s3_admin, s3_bucket) == ["pegasus-test/lectures/a/audio.wav"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        answer_back.set()
        for _ in range(200):
            if not await pending_uploads(s3_admin, s3_bucket):
                break
            await asyncio.sleep(0.05)
    finally:
        s3_blob_store._client.create_multipart_upload = original
    assert await pending_uploads(s3_admin, s3_bucket) == []


async def test_a_part_the_server_refuses_aborts_the_upload(
    s3_blob_store: S3BlobStore, s3_admin: Any, s3_bucket: str
) -> None:
    await put_bytes(s3_blob_store, "lectures/a/audio.wav", b"old")
    original = s3_blob_store._client.upload_part

    async def third_part_fails(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 3:
            raise client_error("InternalError", 500)
        return await original(**kwargs)

    s3_blob_store._client.upload_part = third_part_fails
    try:
        with pytest.raises(UnavailableError):
            await s3_blob_store.put("lectures/a/audio.wav", pieces(5 * PART_SIZE))
    finally:
        s3_blob_store._client.upload_part = original
    assert await pending_uploads(s3_admin, s3_bucket) == []
    assert await read_all(s3_blob_store, "lectures/a/audio.wav") == b"old"
