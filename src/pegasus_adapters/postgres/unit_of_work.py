"""Postgres unit of work over a psycopg 3 async connection pool, running the shared SQL."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Self

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from pegasus_adapters.postgres.migrate import apply_migrations
from pegasus_adapters.sql.session import Row
from pegasus_adapters.sql.unit_of_work import SqlRepositories
from pegasus_core.errors import UnavailableError

Connection = psycopg.AsyncConnection[Any]

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


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    # The port speaks only core errors. Messages stay generic: a driver error can name the
    # host, port or user, and str(UnavailableError) reaches HTTP clients. The cause is kept
    # for logs.
    try:
        yield
    except psycopg.errors.TransactionRollback as exc:  # serialization failure, deadlock
        raise UnavailableError("The database is busy.") from exc
    except psycopg.OperationalError as exc:  # connection lost or refused, pool timeout
        raise UnavailableError("The database is unavailable.") from exc


class _Session:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        # Always pass a mapping, even empty: psycopg only unescapes `%%` when given params.
        with _translated():
            async with self._conn.cursor() as cursor:
                await cursor.execute(to_pyformat(sql), params or {})
                return cursor.rowcount

    async def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        with _translated():
            async with self._conn.cursor(row_factory=dict_row) as cursor:
                await cursor.execute(to_pyformat(sql), params or {})
                return await cursor.fetchall()


class PostgresUnitOfWork(SqlRepositories):
    """One Postgres transaction (READ COMMITTED, the server's default) on a pooled connection.

    Every unit of work begins a plain read-write transaction: under MVCC readers never block
    writers anyway, and the contract lets a read-only unit of work attempt a conditional
    write that matches nothing (a claim that finds no queued job), which READ ONLY refuses.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database
        self._conn: Connection | None = None

    async def __aenter__(self) -> Self:
        conn = await self._database.begin()
        self._conn = conn
        super().__init__(_Session(conn))
        return self

    async def commit(self) -> None:
        assert self._conn is not None
        if self._conn.info.transaction_status == TransactionStatus.INERROR:
            # Postgres answers COMMIT in a failed transaction with a silent ROLLBACK; a caller
            # that caught a statement's error and went on must not believe its work is saved.
            raise RuntimeError("Cannot commit: a statement of this unit of work failed.")
        with _translated():
            await self._conn.execute(b"COMMIT")

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._conn is not None
        # release() rolls back an unfinished transaction; shielded so a cancelled task still
        # returns its connection.
        await asyncio.shield(self._database.release(self._conn))

    async def now(self) -> datetime:
        assert self._conn is not None
        with _translated():
            cursor = await self._conn.execute(b"SELECT clock_timestamp()")
            row = await cursor.fetchone()
        assert row is not None
        value: datetime = row[0]
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
            name="pegasus",
        )
        self._max_size = max_size

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        """Return a new unit of work (the UnitOfWorkFactory signature).

        read_only changes nothing here: see PostgresUnitOfWork.
        """
        return PostgresUnitOfWork(self)

    async def open(self) -> None:
        """Open the pool (waiting for its first connection) and apply pending migrations."""
        try:
            await self._pool.open(wait=True, timeout=self._timeout)
        except psycopg.OperationalError as exc:  # PoolTimeout: nothing answered in time
            raise UnavailableError("The database is unavailable.") from exc
        conn = await self.acquire()
        try:
            with _translated():
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
        with _translated():
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

    async def begin(self) -> Connection:
        """Take a pooled connection and BEGIN on it; a dead connection is replaced.

        BEGIN doubles as the connection check (one round trip instead of a separate empty
        query on every checkout). A connection that fails it is discarded, and, since one
        dead connection usually means they all died together (a server restart, a failover,
        terminated backends), every idle one is tested at once in a task of its own (an
        interrupted pool.check() loses connections). Then the next connection is tried.
        """
        for _ in range(self._max_size + 1):
            conn = await self.acquire()
            try:
                await conn.execute(b"BEGIN")
            except psycopg.OperationalError as exc:
                await asyncio.shield(self.release(conn))
                if not conn.closed:
                    raise UnavailableError("The database is unavailable.") from exc
                if self._sweep is None or self._sweep.done():
                    self._sweep = asyncio.create_task(self._pool.check())
                continue
            except BaseException:
                # Cancelled: the connection must go back to the pool whatever happens.
                await asyncio.shield(self.release(conn))
                raise
            return conn
        raise UnavailableError("The database is unavailable.")


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
