"""Identifiers: typed names for ids and the one check every identifier passes."""

from __future__ import annotations

import re
import uuid
from typing import NewType

from pegasus_core.errors import InvalidRequestError

CourseId = NewType("CourseId", str)
LectureId = NewType("LectureId", str)
JobId = NewType("JobId", str)
PresetId = NewType("PresetId", str)
ArtifactId = NewType("ArtifactId", str)
ThreadId = NewType("ThreadId", str)

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_valid_id(value: str) -> bool:
    """Tell whether value fully matches the contract's identifier pattern."""
    return _ID_PATTERN.fullmatch(value) is not None


def parse_id(value: str, *, field: str) -> str:
    """Return value if it is a valid identifier, else raise InvalidRequestError naming field.

    fullmatch (not match with `$`) so that a trailing newline is rejected too.
    """
    if not isinstance(value, str) or not is_valid_id(value):
        raise InvalidRequestError(f"Invalid {field}.", field=field)
    return value


def new_id() -> str:
    """Return a fresh identifier (a UUID4 hex, which always matches the pattern)."""
    return uuid.uuid4().hex
