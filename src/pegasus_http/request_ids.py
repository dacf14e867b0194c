"""Request ids: echo a well-formed client id, else mint one (observe.py applies it)."""

from __future__ import annotations

import re
import uuid

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HEADER = b"x-request-id"


def choose_request_id(sent: str | None) -> str:
    """Return the client's id if it fully matches the contract's pattern, else a new UUID."""
    if sent is not None and _VALID.fullmatch(sent):
        return sent
    return str(uuid.uuid4())
