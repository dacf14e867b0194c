"""Time and identity, injected so tests can fix them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware in UTC."""
        ...


class IdFactory(Protocol):
    """Fresh identifiers."""

    def new_id(self) -> str:
        """Return a new identifier matching the contract's pattern, never returned before."""
        ...
