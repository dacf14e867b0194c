"""Errors as RFC 9457 problem+json: one map from core errors, one place for framework errors."""

from __future__ import annotations

import logging

import msgspec
from litestar import Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Send

from pegasus_core.errors import (
    ConfigError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PegasusError,
    TooLargeError,
    UnavailableError,
    UnsupportedAudioError,
    ValidationError,
)
from pegasus_core.records import Record
from pegasus_http.dependencies import AnyRequest

log = logging.getLogger("pegasus.http")

PROBLEM_BASE_URI = "https://pegasus.dev/problems"
PROBLEM_JSON = "application/problem+json"


class Problem(Record, frozen=True, kw_only=True):
    """How one kind of error is answered. Slugs are stable identifiers: never change one."""

    status: int
    slug: str
    title: str


PROBLEMS: dict[type[PegasusError], Problem] = {
    InvalidRequestError: Problem(status=400, slug="invalid-request", title="Invalid request"),
    NotFoundError: Problem(status=404, slug="not-found", title="Not found"),
    ConflictError: Problem(status=409, slug="conflict", title="Conflict"),
    TooLargeError: Problem(status=413, slug="too-large", title="Payload too large"),
    UnsupportedAudioError: Problem(
        status=415, slug="unsupported-audio", title="Unsupported audio format"
    ),
    ValidationError: Problem(status=422, slug="validation-error", title="Validation failed"),
    UnavailableError: Problem(status=503, slug="unavailable", title="Service unavailable"),
    ConfigError: Problem(status=503, slug="misconfigured", title="Service misconfigured"),
    PegasusError: Problem(status=400, slug="invalid-request", title="Invalid request"),
}

_BY_STATUS = {
    400: ("invalid-request", "Invalid request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation failed"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_for(exc: PegasusError) -> Problem:
    """Return the most specific Problem for this error (walking its MRO)."""
    for kind in type(exc).__mro__:
        if kind in PROBLEMS:
            return PROBLEMS[kind]
    return PROBLEMS[PegasusError]


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Response[dict[str, object]]:
    """Build a problem+json response."""
    default_slug, default_title = _BY_STATUS.get(status, ("error", "Error"))
    body: dict[str, object] = {
        "type": f"{PROBLEM_BASE_URI}/{slug or default_slug}",
        "title": title or default_title,
        "status": status,
        "detail": detail,
        **(extra or {}),
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def pegasus_error_handler(_: AnyRequest, exc: Exception) -> Response[dict[str, object]]:
    """Answer a core error with its problem."""
    assert isinstance(exc, PegasusError)
    problem = problem_for(exc)
    # A 413 may come while the client is still sending: close rather than read the rest.
    headers = {"Connection": "close"} if problem.status == 413 else None
    return problem_response(
        problem.status,
        str(exc),
        slug=problem.slug,
        title=problem.title,
        extra=dict(exc.extra),
        headers=headers,
    )


def validation_handler(_: AnyRequest, exc: Exception) -> Response[dict[str, object]]:
    """Litestar's own validation errors (400 by default) are 422 in this contract."""
    assert isinstance(exc, ValidationException)
    errors = exc.extra if isinstance(exc.extra, list) else []
    return problem_response(
        422,
        _sentence(exc.detail) or "The request is not valid.",
        extra={"errors": [_field_error(e) for e in errors]} if errors else None,
    )


def _field_error(error: object) -> dict[str, object]:
    if isinstance(error, dict):
        return {k: v for k, v in error.items() if k in ("key", "message", "source")}
    return {"message": str(error)}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith(".") else f"{text}."


def http_error_handler(_: AnyRequest, exc: Exception) -> Response[dict[str, object]]:
    """Every other HTTP error the framework raises, as a problem."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    detail = exc.detail
    if isinstance(exc, NotFoundException) and detail in ("", "Not Found"):
        detail = "Not found."
    if isinstance(exc, NotAuthorizedException | PermissionDeniedException):
        detail = _sentence(detail)
    return problem_response(exc.status_code, _sentence(detail), headers=headers)


def internal_error_handler(request: AnyRequest, exc: Exception) -> Response[dict[str, object]]:
    """A bug: log it with the request id, answer a generic problem (never a trace)."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "An unexpected error occurred; it has been logged."
    )


EXCEPTION_HANDLERS = {
    PegasusError: pegasus_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


async def send_problem(
    send: Send, status: int, detail: str, *, headers: dict[str, str] | None = None
) -> None:
    """Answer a problem straight from ASGI middleware (before any route handler runs)."""
    slug, title = _BY_STATUS.get(status, ("error", "Error"))
    body = msgspec.json.encode(
        {"type": f"{PROBLEM_BASE_URI}/{slug}", "title": title, "status": status, "detail": detail}
    )
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": raw_headers,
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
