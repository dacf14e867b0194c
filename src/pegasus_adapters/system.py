"""The system clock and id factory."""

from __future__ import annotations

from datetime import UTC, datetime

from pegasus_core.ids import new_id


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


class UuidFactory:
    """UUID4-based identifiers."""

    def new_id(self) -> str:
        """Return a fresh identifier."""
        return new_id()
