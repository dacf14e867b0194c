"""One page of a table: the rows in contract order and the total."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pegasus_adapters.sql.session import Row, SqlSession, Values, count, where
from pegasus_core.pagination import Page, PageRequest

T = TypeVar("T")
R = TypeVar("R", Row, Values)


async def fetch_page(
    session: SqlSession,
    *,
    select: str,
    table: str,
    filters: Mapping[str, object],
    page: PageRequest,
    to_record: Callable[[Row], T],
    count_table: str | None = None,
) -> Page[T]:
    """Return a page of `select` rows from table, newest first (created_at, id descending).

    `select` is the column list (it may use the alias `t` for table); filters are equalities
    on columns of `t`, skipped when None. With count_table (a table of counters with the same
    filter columns and a count `n`), the total is a sum over its rows instead of a count.
    """
    return await _page(session.fetch, session, select, table, filters, page, to_record, count_table)


async def fetch_page_values(
    session: SqlSession,
    *,
    select: str,
    table: str,
    filters: Mapping[str, object],
    page: PageRequest,
    to_record: Callable[[Values], T],
    count_table: str | None = None,
) -> Page[T]:
    """Like fetch_page, with each row passed to to_record as a tuple in `select` order."""
    return await _page(
        session.fetch_values, session, select, table, filters, page, to_record, count_table
    )


async def _page(
    fetch: Callable[[str, Mapping[str, Any]], Any],
    session: SqlSession,
    select: str,
    table: str,
    filters: Mapping[str, object],
    page: PageRequest,
    to_record: Callable[[R], T],
    count_table: str | None,
) -> Page[T]:
    clause, params = where({f"t.{name}": value for name, value in filters.items()})
    params = {name.removeprefix("t."): value for name, value in params.items()}
    clause = clause.replace(":t.", ":")
    rows: Sequence[R] = await fetch(
        f"SELECT {select} FROM {table} t {clause} "
        "ORDER BY t.created_at DESC, t.id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": page.limit, "offset": page.offset},
    )
    count_sql = (
        f"SELECT COALESCE(SUM(t.n), 0) FROM {count_table} t {clause}"
        if count_table
        else f"SELECT COUNT(*) FROM {table} t {clause}"
    )
    total = await count(session, count_sql, params)
    return Page(items=[to_record(row) for row in rows], total=total, request=page)
