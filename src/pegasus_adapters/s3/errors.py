"""Translate botocore and aiohttp errors into core errors, at the port (STYLE.md B2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from pegasus_core.errors import (
    BlobNotFoundError,
    PegasusError,
    StorageAccessDeniedError,
    UnavailableError,
)

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_DENIED = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "Forbidden",
    "403",
}


def error_code(exc: ClientError) -> str:
    """Return the S3 error code of a ClientError ('' when the answer had none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def core_error(exc: ClientError, key: str) -> PegasusError:
    """Map an S3 error answer to the core error callers handle.

    A missing key is BlobNotFoundError; refused credentials or permissions are
    StorageAccessDeniedError; everything else (5xx, throttling, a missing bucket) is
    UnavailableError, which the job runner retries. Messages never carry the bucket or host.
    """
    code = error_code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _NOT_FOUND or (status == 404 and code != "NoSuchBucket"):
        return BlobNotFoundError(key)
    if code in _DENIED or status == 403:
        return StorageAccessDeniedError()
    return UnavailableError("Storage answered with an error.")


@asynccontextmanager
async def translated(key: str) -> AsyncIterator[None]:
    """Run a block of S3 calls; re-raise their errors as core errors."""
    try:
        yield
    except ClientError as exc:
        raise core_error(exc, key) from exc
    except (TimeoutError, BotoCoreError, aiohttp.ClientError, OSError) as exc:
        # Connection refused or reset, DNS, timeouts, a body cut short: the network or the
        # server is down, which is transient by definition.
        raise UnavailableError("Storage is unreachable.") from exc
