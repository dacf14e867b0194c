"""Optional JSON bodies, decoded strictly: malformed JSON and unknown keys are 422."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from pegasus_core.errors import ValidationError
from pegasus_http.dependencies import AnyRequest

B = TypeVar("B", bound=msgspec.Struct)


async def optional_body(request: AnyRequest, kind: type[B]) -> B:
    """Decode the request body as kind; an empty body gives kind's defaults."""
    raw = await request.body()
    if not raw.strip():
        return kind()
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"Invalid request body: {exc}.") from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        # msgspec reports invalid UTF-8 inside a string as UnicodeDecodeError: not JSON either.
        raise ValidationError("The request body is not valid JSON.") from None
