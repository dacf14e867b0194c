"""Per-request bookkeeping in one layer: the request id, metrics and the access log line."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pegasus_core.log_context import REQUEST_ID
from pegasus_http.request_ids import HEADER, choose_request_id
from pegasus_http.request_log import RequestLog


def observe_middleware(requests: RequestLog) -> Callable[[ASGIApp], ASGIApp]:
    """Return the middleware that gives each request its id, then counts, times and logs its answer.

    The id (the client's X-Request-Id if well formed, else a new UUID) goes into scope state
    (`request_id`), the log context and the response's X-Request-Id header. The answer is
    counted and timed under its route template and logged as one access line, by requests
    (in batches), even when the application raised. One layer wrapping `send` once: these
    used to be two middlewares.
    """
    return lambda app: _observed(app, requests)


def _observed(app: ASGIApp, requests: RequestLog) -> ASGIApp:
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
            requests.record(scope["method"], route, status, elapsed, request_id)
            REQUEST_ID.reset(token)

    return middleware
