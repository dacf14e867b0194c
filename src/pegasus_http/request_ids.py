"""Request ids: echo a well-formed client id, else mint one; expose it to logs and jobs."""

from __future__ import annotations

import re
import uuid

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pegasus_core.log_context import REQUEST_ID

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HEADER = b"x-request-id"


def choose_request_id(sent: str | None) -> str:
    """Return the client's id if it fully matches the contract's pattern, else a new UUID."""
    if sent is not None and _VALID.fullmatch(sent):
        return sent
    return str(uuid.uuid4())


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Put the request id in scope state and on every response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER), None)
        value = choose_request_id(sent)
        scope.setdefault("state", {})["request_id"] = value
        token = REQUEST_ID.set(value)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER]
                headers.append((HEADER, value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

    return middleware
