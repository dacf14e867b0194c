"""Idempotency-Key on POST: reserve before the body is read, replay a stored success.

The fingerprint of a request is its method, path, query and body; for multipart bodies it is
the form fields and the SHA-256 of each file, so the random boundary does not matter. A
repeat is fingerprinted while its body streams past (nothing is stored or buffered whole).
"""

from __future__ import annotations

import hashlib
import logging
from typing import cast

import multipart
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from pegasus_core.errors import PegasusError
from pegasus_core.idempotency import KeyState, StoredResponse
from pegasus_core.pegasus import Pegasus
from pegasus_http.problems import problem_for, send_problem

log = logging.getLogger("pegasus.http")
HEADER = b"idempotency-key"


class Fingerprint:
    """A running hash of what identifies a request."""

    def __init__(self, scope: HTTPScope) -> None:
        self._hash = hashlib.sha256()
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
            self._add(str(part).encode())
        content_type = _header(scope, b"content-type") or ""
        kind, options = multipart.parse_options_header(content_type)
        self._parser = None
        if kind == "multipart/form-data" and options.get("boundary"):
            self._parser = multipart.PushMultipartParser(options["boundary"])
            self._part: hashlib._Hash | None = None
        else:
            self._body = hashlib.sha256()

    def _add(self, data: bytes) -> None:
        self._hash.update(len(data).to_bytes(8, "big") + data)

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of the body (an empty chunk ends it)."""
        if self._parser is None:
            self._body.update(chunk)
            return
        if self._parser.closed:
            return
        try:
            for event in self._parser.parse(chunk):
                if isinstance(event, multipart.MultipartSegment):
                    self._add(f"{event.name}\0{event.filename or ''}".encode())
                    self._part = hashlib.sha256()
                elif event is None and self._part is not None:
                    self._add(self._part.digest())
                    self._part = None
                elif self._part is not None:
                    self._part.update(event)
        except multipart.MultipartError:
            self._parser = None  # malformed: fall back to hashing what is left raw
            self._body = hashlib.sha256(chunk)

    def hexdigest(self) -> str:
        """Return the fingerprint."""
        if self._parser is None:
            self._add(self._body.digest())
        return self._hash.hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Apply Idempotency-Key semantics to POST requests that carry one."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        if key is None:
            await app(scope, receive, send)
            return
        pegasus: Pegasus = scope["app"].state.pegasus
        state = scope.setdefault("state", {})
        owner = state.get("credential") or f"client:{state.get('client_key', 'unknown')}"
        try:
            held = await pegasus.reserve_idempotency_key(owner, key)
        except PegasusError as exc:
            await send_problem(send, problem_for(exc).status, str(exc))
            return
        fingerprint = Fingerprint(scope)
        if held is None:
            await _first(pegasus, app, scope, receive, send, owner, key, fingerprint)
            return
        if held.state is KeyState.IN_PROGRESS or held.response is None:
            await send_problem(
                send, 409, "A request with this Idempotency-Key is still in progress."
            )
            return
        while True:  # fingerprint the repeat as its body streams past
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            fingerprint.feed(cast(bytes, message.get("body", b"")))
            if not message.get("more_body", False):
                fingerprint.feed(b"")
                break
        stored = held.response
        if fingerprint.hexdigest() != stored.fingerprint:
            await send_problem(send, 409, "Idempotency-Key reuse with different request payload.")
            return
        await send(
            {
                "type": "http.response.start",
                "status": stored.status_code,
                "headers": [
                    (b"content-type", stored.content_type.encode()),
                    (b"content-length", str(len(stored.body)).encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": stored.body, "more_body": False})

    return middleware


async def _first(
    pegasus: Pegasus,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    owner: str,
    key: str,
    fingerprint: Fingerprint,
) -> None:
    """Run the request that owns the key; keep its answer if it succeeded."""
    status = 500
    content_type = "application/json"
    body = bytearray()

    async def hashing_receive() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request":
            fingerprint.feed(message.get("body", b""))
            if not message.get("more_body", False):
                fingerprint.feed(b"")
        return message

    async def capturing_send(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            content_type = next(
                (v.decode() for k, v in message.get("headers", []) if k.lower() == b"content-type"),
                content_type,
            )
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
        await send(message)

    try:
        await app(scope, hashing_receive, capturing_send)
    except BaseException:
        await pegasus.release_idempotency_key(owner, key)
        raise
    if 200 <= status < 300:
        await pegasus.complete_idempotency_key(
            owner,
            key,
            StoredResponse(
                fingerprint=fingerprint.hexdigest(),
                status_code=status,
                content_type=content_type,
                body=bytes(body),
            ),
        )
    else:
        await pegasus.release_idempotency_key(owner, key)
