"""Context carried into every log line: the request that caused the work."""

from __future__ import annotations

from contextvars import ContextVar

# Set by the HTTP layer per request; copied into tasks the request starts (jobs run
# in-process inherit it), so their log lines carry the request id too.
REQUEST_ID: ContextVar[str | None] = ContextVar("pegasus_request_id", default=None)
