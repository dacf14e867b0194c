"""Idempotency keys: reserve before the work, store its answer, or release on failure."""

from __future__ import annotations

import re
from datetime import timedelta

from pegasus_core.context import Ports
from pegasus_core.errors import InvalidRequestError
from pegasus_core.idempotency import IdempotencyEntry, StoredResponse

_KEY = re.compile(r"[A-Za-z0-9._:-]{1,255}")


def parse_key(key: str) -> str:
    """Return key if it fully matches the contract's pattern, else 400."""
    if not _KEY.fullmatch(key):
        raise InvalidRequestError("Invalid Idempotency-Key.", field="Idempotency-Key")
    return key


async def reserve_key(ports: Ports, scope: str, key: str) -> IdempotencyEntry | None:
    """Reserve key for scope; None means this request owns it, else the entry holding it."""
    now = ports.clock.now()
    async with ports.uow() as uow:
        entry = await uow.idempotency.reserve(
            scope,
            parse_key(key),
            now=now,
            expires_at=now + timedelta(seconds=ports.limits.idempotency_ttl_sec),
        )
        await uow.commit()
    return entry


async def complete_key(ports: Ports, scope: str, key: str, response: StoredResponse) -> None:
    """Store the answer of a successful keyed request for replay."""
    async with ports.uow() as uow:
        await uow.idempotency.complete(scope, key, response)
        await uow.commit()


async def release_key(ports: Ports, scope: str, key: str) -> None:
    """Free the key of a request that failed, so the client may retry with it."""
    async with ports.uow() as uow:
        await uow.idempotency.release(scope, key)
        await uow.commit()
