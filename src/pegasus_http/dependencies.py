"""What every route shares: the facade, the page window, the request id."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from pegasus_core.pagination import MAX_LIMIT, MAX_OFFSET, PageRequest
from pegasus_core.pegasus import Pegasus


def facade(request: AnyRequest) -> Pegasus:
    """Return the facade the app's lifespan opened.

    Read from the app state instead of injected as a dependency: a handler with two
    dependencies (the facade and the page window) makes Litestar resolve them concurrently in
    an anyio task group on every request, which cost more CPU than the rest of the injection.
    """
    pegasus: Pegasus = request.app.state.pegasus
    return pegasus


def provide_page(
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageRequest:
    """Parse the pagination window (out-of-range values are 422)."""
    return PageRequest(limit=limit, offset=offset)


def request_id(request: AnyRequest) -> str | None:
    """Return the request id the middleware assigned."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


AnyRequest = Request[Any, Any, Any]

# Handler parameter types: injected by name, or taken from the path.
Window = NamedDependency[PageRequest]
PathId = FromPath[str]
