"""Idempotency keys: a request's first answer, stored so that a repeat can replay it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pegasus_core.records import Record


class KeyState(StrEnum):
    """Where a keyed request stands."""

    IN_PROGRESS = "in_progress"
    DONE = "done"


class StoredResponse(Record, frozen=True, kw_only=True):
    """The answer of a keyed request, as first sent."""

    fingerprint: str
    status_code: int
    content_type: str
    body: bytes


class IdempotencyEntry(Record, frozen=True, kw_only=True):
    """A reserved or answered key."""

    scope: str
    key: str
    state: KeyState
    created_at: datetime
    expires_at: datetime
    response: StoredResponse | None = None
