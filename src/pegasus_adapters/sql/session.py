"""The narrow connection interface the SQL repositories need, and value conversions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

Row = Mapping[str, Any]
Values = tuple[Any, ...]


class SqlSession(Protocol):
    """A connection inside one transaction. SQL uses `:name` parameters.

    Datetime parameters are bound as the backend's timestamp type; rows come back as mappings
    from fetch() and as tuples from fetch_values().
    """

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        """Run a query; return all its rows."""
        ...

    async def fetch_values(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> Sequence[Values]:
        """Run a query; return all its rows as tuples in select-list order.

        Cheaper than fetch() for wide or many rows: no mapping is built per row. Timestamps
        come back as fetch() returns them (text in SQLite), so read them with to_datetime().
        """
        ...


def to_datetime(value: str | datetime | None) -> datetime | None:
    """Read a stored timestamp (RFC 3339 text in SQLite, timestamptz in Postgres) as UTC."""
    if value is None:
        return None
    return required_datetime(value)


def required_datetime(value: str | datetime) -> datetime:
    """Read a NOT NULL timestamp column."""
    if isinstance(value, datetime):
        # Postgres sessions run in UTC, so this is the usual case: nothing to convert.
        return value if value.tzinfo is UTC else value.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def to_json(value: object) -> str:
    """Encode a free-form value for a JSON text column."""
    return msgspec.json.encode(value).decode()


def from_json(value: str | None) -> Any:
    """Decode a JSON text column."""
    return None if value is None else msgspec.json.decode(value)


async def fetch_one(session: SqlSession, sql: str, params: Mapping[str, Any]) -> Row | None:
    """Return the first row of a query, or None."""
    rows = await session.fetch(sql, params)
    return rows[0] if rows else None


async def count(session: SqlSession, sql: str, params: Mapping[str, Any]) -> int:
    """Return the single integer a COUNT query yields."""
    rows = await session.fetch_values(sql, params)
    return int(rows[0][0])


def where(clauses: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """Build `WHERE a = :a AND ...` from the clauses whose value is not None."""
    present = {name: value for name, value in clauses.items() if value is not None}
    if not present:
        return "", {}
    return "WHERE " + " AND ".join(f"{name} = :{name}" for name in present), present


def numbered(prefix: str, values: Sequence[object]) -> tuple[list[str], dict[str, object]]:
    """Return placeholders `:p0, :p1, ...` for values, and the parameters they name."""
    params = {f"{prefix}{index}": value for index, value in enumerate(values)}
    return [f":{name}" for name in params], params
