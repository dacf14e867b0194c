"""Per-request bookkeeping in one layer: the request id, metrics and the access log line."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pegasus_core.log_context import REQUEST_ID
from pegasus_http.metrics import record_request
from pegasus_http.request_ids import HEADER, choose_request_id


def observe_middleware(app: ASGIApp) -> ASGIApp:
    """Give each HTTP request its id, then count, time and log its answer.

    The id (the client's X-Request-Id if well formed, else a new UUID) goes into scope state
    (`request_id`), the log context and the response's X-Request-Id header. The answer is
    counted and timed under its route template and logged as one access line, even when the
    application raised. One layer wrapping `send` once: these used to be two middlewares.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER), None)
        request_id = choose_request_id(sent)
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        id_header = (HEADER, request_id.encode())
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0] != HEADER]
                headers.append(id_header)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_observed)
        finally:
            route = scope.get("path_template") or "unmatched"
            elapsed = time.perf_counter() - started
            record_request(scope["method"], route, status, elapsed, request_id)
            REQUEST_ID.reset(token)

    return middleware
