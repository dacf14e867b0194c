"""What every route shares: the facade, the page window's parameters, the request id."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import FromPath, QueryParameter

from pegasus_core.pagination import MAX_LIMIT, MAX_OFFSET
from pegasus_core.pegasus import Pegasus


def facade(request: AnyRequest) -> Pegasus:
    """Return the facade the app's lifespan opened.

    Read from the app state instead of injected: Litestar's dependency injection costs
    several microseconds per dependency and request (see Limit).
    """
    pegasus: Pegasus = request.app.state.pegasus
    return pegasus


def request_id(request: AnyRequest) -> str | None:
    """Return the request id the middleware assigned."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


AnyRequest = Request[Any, Any, Any]

# Handler parameter types. The page window is two plain query parameters (out-of-range values
# are 422) rather than a PageRequest dependency: injected, it cost 6 µs more per request in a
# loop (23 against 17 µs for a bare Litestar handler).
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size.")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip.")]
PathId = FromPath[str]
