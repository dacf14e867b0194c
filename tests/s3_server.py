"""A real S3-compatible HTTP server (moto_server) on a free loopback port, for the S3 tests.

moto's in-process mocks do not intercept aiobotocore (aio-libs/aiobotocore#755), so the S3
adapter is tested against moto in server mode: real HTTP, real signing, real multipart uploads.
One server serves the whole session; every test gets its own bucket.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.processes import free_port, serving

# Fixed fake credentials: moto accepts any. Set in the environment because botocore (in this
# process and in the API processes that system tests start) finds them there; the metadata
# service is disabled so botocore never looks for credentials off the machine.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "pegasus-test",
    "AWS_SECRET_ACCESS_KEY": "pegasus-test-secret",
    "AWS_EC2_METADATA_DISABLED": "true",
}
S3_REGION = "us-east-1"


@contextmanager
def moto_server(directory: Path, **env: str) -> Iterator[str]:
    """Run moto_server on a free 127.0.0.1 port until the block ends; yield its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with serving(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        log_path=directory / f"moto_server-{port}.log",
        ready_url=f"{endpoint}/moto-api/",
        timeout=60,
    ):
        yield endpoint


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto_server for the whole session, stopped at its end."""
    os.environ.update(S3_CREDENTIALS)
    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


def s3_client(endpoint: str) -> Any:
    """Return an unopened aiobotocore S3 client (an async context manager) for the server."""
    from aiobotocore.session import get_session

    return get_session().create_client("s3", region_name=S3_REGION, endpoint_url=endpoint)


@pytest.fixture
async def s3_admin(s3_endpoint: str) -> AsyncIterator[Any]:
    """An aiobotocore client on the test server, for creating buckets and inspecting them."""
    async with s3_client(s3_endpoint) as client:
        yield client


@pytest.fixture
async def s3_bucket(s3_admin: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"pegasus-{uuid.uuid4().hex[:20]}"
    await s3_admin.create_bucket(Bucket=name)
    return name


async def object_keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under prefix, straight from the server (not through the adapter)."""
    keys: list[str] = []
    async for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix
    ):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


async def pending_uploads(client: Any, bucket: str) -> list[str]:
    """The keys of multipart uploads started and neither completed nor aborted."""
    answer = await client.list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


@pytest.fixture
async def s3_blob_store(s3_endpoint: str, s3_bucket: str) -> AsyncIterator[Any]:
    """An S3BlobStore on a fresh bucket of the test server, under the prefix `pegasus-test`."""
    from pegasus_adapters.s3.blob_store import open_s3_blob_store

    async with open_s3_blob_store(
        bucket=s3_bucket, prefix="pegasus-test", endpoint_url=s3_endpoint, region=S3_REGION
    ) as store:
        yield store
