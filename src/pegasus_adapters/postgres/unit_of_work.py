"""Postgres unit of work over a psycopg 3 async connection pool, running the shared SQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from pegasus_adapters.postgres.migrate import apply_migrations
from pegasus_adapters.sql.session import Row, Values
from pegasus_adapters.sql.unit_of_work import SqlRepositories
from pegasus_core.errors import UnavailableError

Connection = psycopg.AsyncConnection[Any]
T = TypeVar("T")

# psycopg's own default: a statement is prepared server-side on its 5th run on a connection.
DEFAULT_PREPARE_THRESHOLD = 5

# One pass over the SQL finds, in this order of preference at each position: string literals,
# quoted identifiers and comments (copied, never searched for parameters), `::` casts, `:name`
# parameters, and `%` (psycopg's placeholder character, which must be doubled everywhere).
_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'
    | "(?:[^"]|"")*"
    | --[^\n]*
    | ::
    | :([A-Za-z_][A-Za-z0-9_]*)
    | %
    """,
    re.VERBOSE,
)


def _replace(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is not None:
        return f"%({name})s"
    # psycopg scans the whole text for `%`, inside literals and comments too.
    return match.group(0).replace("%", "%%")


@functools.lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """Rewrite the shared SQL's `:name` parameters as psycopg's `%(name)s`.

    Leaves `::` casts and the inside of string literals, quoted identifiers and `--`
    comments alone, and escapes a literal `%` as `%%`. Literals are standard SQL ones (`''`
    escapes a quote); the shared SQL uses no E'' strings or dollar quotes. Cached: the
    repositories use a few hundred distinct statements at most.
    """
    return _TOKENS.sub(_replace, sql)


class _Translated:
    """`with _translated:` turns the driver's errors at the port into core errors.

    The port speaks only core errors. Messages stay generic: a driver error can name the
    host, port or user, and str(UnavailableError) reaches HTTP clients. The cause is kept for
    logs. A class rather than @contextmanager: it runs on every checkout and statement, and a
    generator-based one costs six times as much (0.8 against 0.14 µs).
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, psycopg.errors.TransactionRollback):  # serialization, deadlock
            raise UnavailableError("The database is busy.") from exc
        if isinstance(exc, psycopg.OperationalError):  # connection lost or refused, timeout
            raise UnavailableError("The database is unavailable.") from exc


_translated = _Translated()


async def _execute(conn: Connection, *, sql: str, params: Mapping[str, Any] | None) -> int:
    # Always pass a mapping, even empty: psycopg only unescapes `%%` when given params.
    async with conn.cursor() as cursor:
        await cursor.execute(to_pyformat(sql), params or {})
        return cursor.rowcount


async def _fetch(conn: Connection, *, sql: str, params: Mapping[str, Any] | None) -> Sequence[Row]:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(to_pyformat(sql), params or {})
        return await cursor.fetchall()


async def _fetch_values(
    conn: Connection, *, sql: str, params: Mapping[str, Any] | None
) -> Sequence[Values]:
    # Plain tuples are psycopg's native rows: built in C, with no Python call per row.
    # Binary results spare parsing timestamps and numbers from text.
    async with conn.cursor(row_factory=tuple_row, binary=True) as cursor:
        await cursor.execute(to_pyformat(sql), params or {})
        return await cursor.fetchall()


Statement = Callable[[Connection], Awaitable[T]]


async def _begin_then(conn: Connection, statement: Statement[T]) -> T:
    # BEGIN in a round trip of its own. Pipelined with the statement it took as many round
    # trips (psycopg syncs again when a pipeline ends) and more CPU: 8 connections each
    # running BEGIN, two statements and COMMIT managed 2,100-2,400 transactions/s
    # pipelined and 2,900 like this, on this 2-core machine.
    await conn.execute(b"BEGIN")
    return await statement(conn)


class _Session:
    """The statements of a unit of work, on a connection taken at the first statement.

    That first statement doubles as the connection check (see PostgresDatabase.first), so a
    unit of work costs its own round trips only (and, in a transaction, the BEGIN's: the
    BEGIN is then the check). Read-only, each statement is its own autocommit transaction.
    """

    def __init__(self, database: PostgresDatabase, *, transaction: bool) -> None:
        self._database = database
        self._transaction = transaction
        self.conn: Connection | None = None
        self.began_at: datetime | None = None

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        return await self._run(functools.partial(_execute, sql=sql, params=params))

    async def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        return await self._run(functools.partial(_fetch, sql=sql, params=params))

    async def fetch_values(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> Sequence[Values]:
        return await self._run(functools.partial(_fetch_values, sql=sql, params=params))

    async def _run(self, statement: Statement[T]) -> T:
        if self.conn is None:
            transaction = self._transaction

            async def first(conn: Connection) -> T:
                if transaction:
                    return await _begin_then(conn, statement)
                return await statement(conn)

            self.conn, result = await self._database.first(first)
            return result
        with _translated:
            return await statement(self.conn)

    async def transaction_start(self) -> datetime:
        """Return when the transaction began by the database's clock, beginning it if need be."""
        if self.conn is None:
            self.conn, self.began_at = await self._database.begin()
        elif self.began_at is None:
            rows = await self.fetch("SELECT now() AS now")  # now(): the transaction's start
            self.began_at = rows[0]["now"].astimezone(UTC)
        return self.began_at


class PostgresUnitOfWork(SqlRepositories):
    """One Postgres transaction (READ COMMITTED, the server's default) on a pooled connection.

    A read-write unit of work begins a plain transaction. A read-only one runs each
    statement in its own autocommit transaction, sparing the BEGIN and ROLLBACK round trips:
    under READ COMMITTED every statement of a transaction takes a fresh snapshot anyway, so
    readers see exactly what they would inside one. The contract lets a read-only unit of
    work attempt a conditional write that matches nothing (a claim that finds no queued job).
    """

    def __init__(self, database: PostgresDatabase, *, read_only: bool = False) -> None:
        self._read_only = read_only
        self._session = _Session(database, transaction=not read_only)
        self._database = database

    async def __aenter__(self) -> Self:
        super().__init__(self._session, writable_ctes=True)
        return self

    async def commit(self) -> None:
        conn = self._session.conn
        if self._read_only or conn is None:
            return  # every statement committed on its own, or nothing began
        if conn.info.transaction_status == TransactionStatus.INERROR:
            # Postgres answers COMMIT in a failed transaction with a silent ROLLBACK; a caller
            # that caught a statement's error and went on must not believe its work is saved.
            raise RuntimeError("Cannot commit: a statement of this unit of work failed.")
        with _translated:
            await conn.execute(b"COMMIT")

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session.conn is not None:
            # release() rolls back an unfinished transaction; shielded so a cancelled task
            # still returns its connection.
            await asyncio.shield(self._database.release(self._session.conn))

    async def now(self) -> datetime:
        """Return the database's clock: when the transaction began.

        Every caller asks at the start of its unit of work (claims, heartbeats, the sweep),
        so the transaction's start is the time they mean; asked first, it is read with the
        BEGIN at no extra round trip. A read-only unit of work has no transaction: it asks
        the server.
        """
        if not self._read_only:
            return await self._session.transaction_start()
        rows = await self._session.fetch("SELECT clock_timestamp() AS now")
        value: datetime = rows[0]["now"]
        return value.astimezone(UTC)


class PostgresDatabase:
    """A Postgres database reached through a pool of autocommit connections.

    Each unit of work issues its own BEGIN and COMMIT or ROLLBACK on one pooled connection.
    A connection whose BEGIN fails is replaced (see begin()), so the service recovers by
    itself after a server restart, a failover or killed backends.

    `prepare_threshold` is psycopg's: after that many runs on a connection a statement is
    prepared server-side. Behind a transaction-mode pooler (PgBouncer, Supabase's pooler)
    it must be None, since consecutive transactions may land on different server
    connections (CONTRACT.md section 10). `timeout` bounds both the wait for the first
    connection at open() and the wait for a free connection in a unit of work.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        prepare_threshold: int | None = DEFAULT_PREPARE_THRESHOLD,
    ) -> None:
        self._timeout = timeout
        self._sweep: asyncio.Task[None] | None = None
        self._pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            open=False,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True, "prepare_threshold": prepare_threshold},
            configure=_configure,
            name="pegasus",
        )
        self._max_size = max_size

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        """Return a new unit of work (the UnitOfWorkFactory signature).

        A read-only one runs its statements in autocommit: see PostgresUnitOfWork.
        """
        return PostgresUnitOfWork(self, read_only=read_only)

    async def open(self) -> None:
        """Open the pool (waiting for its first connection) and apply pending migrations."""
        try:
            await self._pool.open(wait=True, timeout=self._timeout)
        except psycopg.OperationalError as exc:  # PoolTimeout: nothing answered in time
            raise UnavailableError("The database is unavailable.") from exc
        conn = await self.acquire()
        try:
            with _translated:
                await apply_migrations(conn)
        finally:
            await asyncio.shield(self.release(conn))

    async def close(self) -> None:
        """Close every connection."""
        if self._sweep is not None:
            with contextlib.suppress(Exception):
                await self._sweep
        await self._pool.close()

    async def acquire(self) -> Connection:
        """Take a checked connection from the pool."""
        with _translated:
            return await self._pool.getconn()

    async def release(self, conn: Connection) -> None:
        """Give a connection back to the pool, rolling back whatever it left open."""
        try:
            if conn.info.transaction_status in (
                TransactionStatus.INTRANS,
                TransactionStatus.INERROR,
            ):
                # A broken connection cannot roll back; the pool discards it on return.
                with contextlib.suppress(psycopg.Error):
                    await conn.execute(b"ROLLBACK")
        finally:
            await self._pool.putconn(conn)

    async def begin(self) -> tuple[Connection, datetime]:
        """Take a pooled connection and BEGIN on it; a dead connection is replaced.

        Returns the connection and the database's clock when the transaction began, read in
        the same round trip as BEGIN.
        """
        return await self.first(_begin)

    async def first(self, statement: Callable[[Connection], Awaitable[T]]) -> tuple[Connection, T]:
        """Take a pooled connection and run a unit of work's first statement on it.

        The first statement doubles as the connection check (one round trip instead of a
        separate empty query on every checkout). A connection that fails it is discarded,
        and, since one dead connection usually means they all died together (a server
        restart, a failover, terminated backends), every idle one is tested at once in a task
        of its own (an interrupted pool.check() loses connections). Then the statement is
        tried on the next connection: it is the first of its unit of work, so running it
        again is safe. Returns the connection (the caller releases it) and the result.
        """
        for _ in range(self._max_size + 1):
            conn = await self.acquire()
            try:
                result = await statement(conn)
            except psycopg.OperationalError as exc:
                await asyncio.shield(self.release(conn))
                if not conn.closed:
                    raise UnavailableError("The database is unavailable.") from exc
                if self._sweep is None or self._sweep.done():
                    self._sweep = asyncio.create_task(self._pool.check())
                continue
            except BaseException:
                # Cancelled, or a statement error: the connection goes back whatever happens.
                await asyncio.shield(self.release(conn))
                with _translated:
                    raise
            return conn, result
        raise UnavailableError("The database is unavailable.")


async def _configure(conn: Connection) -> None:
    # Timestamps then arrive with datetime.UTC as their tzinfo, which the repositories keep
    # as is, instead of a ZoneInfo they convert row by row. Correct either way: behind a
    # transaction-mode pooler the setting may not stick, and values are converted instead.
    await conn.execute(b"SET TimeZone TO 'UTC'")


async def _begin(conn: Connection) -> datetime:
    # One round trip: the simple query protocol carries both statements.
    cursor = await conn.execute(b"BEGIN; SELECT clock_timestamp()")
    cursor.nextset()
    row = await cursor.fetchone()
    assert row is not None
    started: datetime = row[0]
    return started.astimezone(UTC)


@asynccontextmanager
async def open_postgres(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 30.0,
    prepare_threshold: int | None = DEFAULT_PREPARE_THRESHOLD,
) -> AsyncIterator[PostgresDatabase]:
    """Open a pool to the database at url (a libpq URL or conninfo), migrate, close on exit.

    Raises UnavailableError when no connection could be made within timeout seconds.
    """
    database = PostgresDatabase(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        prepare_threshold=prepare_threshold,
    )
    try:
        await database.open()
        yield database
    finally:
        await database.close()
