"""SQLite unit of work over aiosqlite, with a small connection pool and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiosqlite

from pegasus_adapters.sql.session import Row, Values
from pegasus_adapters.sql.unit_of_work import SqlRepositories
from pegasus_adapters.sqlite.migrate import apply_migrations
from pegasus_adapters.system import SystemClock
from pegasus_core.errors import UnavailableError
from pegasus_core.ports.clock import Clock

# A writer waits this long for another process's write lock before giving up.
_BUSY_TIMEOUT_MS = 30_000


def _bind(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


class _Session:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        bound = {name: _bind(value) for name, value in (params or {}).items()}
        async with self._conn.execute(sql, bound) as cursor:
            return cursor.rowcount

    async def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        bound = {name: _bind(value) for name, value in (params or {}).items()}
        async with self._conn.execute(sql, bound) as cursor:
            rows = await cursor.fetchall()
            names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def fetch_values(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> Sequence[Values]:
        bound = {name: _bind(value) for name, value in (params or {}).items()}
        async with self._conn.execute(sql, bound) as cursor:
            return await cursor.fetchall()  # type: ignore[return-value]  # sqlite3 rows are tuples


class SqliteUnitOfWork(SqlRepositories):
    """One SQLite transaction.

    Writers take the write lock at BEGIN (IMMEDIATE) so that two transactions never deadlock
    upgrading a read lock; read-only ones begin deferred.
    """

    def __init__(self, database: SqliteDatabase, *, read_only: bool) -> None:
        self._database = database
        self._read_only = read_only
        self._conn: aiosqlite.Connection | None = None
        self._committed = False

    async def __aenter__(self) -> Self:
        conn = await self._database.acquire()
        try:
            await conn.execute("BEGIN" if self._read_only else "BEGIN IMMEDIATE")
        except BaseException as exc:
            # Cancelled or busy: the connection must go back to the pool whatever happens.
            await asyncio.shield(self._database.release(conn))
            if isinstance(exc, sqlite3.OperationalError):
                raise UnavailableError("The database is busy.") from exc
            raise
        self._conn = conn
        super().__init__(_Session(conn))
        return self

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.execute("COMMIT")
        self._committed = True

    async def now(self) -> datetime:
        # One machine: the process clock is the database's (and tests can fix it).
        return self._database.clock.now()

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._conn is not None
        # release() rolls back an unfinished transaction; shielded so a cancelled task still
        # returns its connection.
        await asyncio.shield(self._database.release(self._conn, rollback=not self._committed))


class SqliteDatabase:
    """A SQLite database and a pool of connections to it.

    `path=None` gives a private in-memory database: one connection, so every unit of work
    sees the same data (this is the in-memory repository adapter).
    """

    def __init__(
        self, path: Path | None, *, pool_size: int = 4, clock: Clock | None = None
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._path = path
        self._size = 1 if path is None else pool_size
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []
        self._lock = asyncio.Lock()

    def __call__(self, *, read_only: bool = False) -> SqliteUnitOfWork:
        """Return a new unit of work (the UnitOfWorkFactory signature)."""
        return SqliteUnitOfWork(self, read_only=read_only)

    async def open(self) -> None:
        """Create the database if needed and apply pending migrations."""
        conn = await self.acquire()
        try:
            await apply_migrations(conn)
        finally:
            await self.release(conn)

    async def _connect(self) -> aiosqlite.Connection:
        target = ":memory:" if self._path is None else str(self._path)
        conn = await aiosqlite.connect(target, isolation_level=None)
        await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        if self._path is not None:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    async def acquire(self) -> aiosqlite.Connection:
        """Take an idle connection, opening one while under the pool size."""
        async with self._lock:
            if self._idle.empty() and len(self._all) < self._size:
                conn = await self._connect()
                self._all.append(conn)
                return conn
        return await self._idle.get()

    async def release(self, conn: aiosqlite.Connection, *, rollback: bool = True) -> None:
        """Give a connection back to the pool, rolling back whatever it left open.

        The ROLLBACK is queued behind any statement still running on the connection's thread
        (a cancelled await does not stop it), so it also undoes a BEGIN that completes late.
        """
        try:
            if rollback:
                with contextlib.suppress(sqlite3.OperationalError):  # nothing was open
                    await conn.execute("ROLLBACK")
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        """Close every connection."""
        for conn in self._all:
            await conn.close()
        self._all.clear()


@asynccontextmanager
async def open_sqlite(
    path: Path | None, *, clock: Clock | None = None
) -> AsyncIterator[SqliteDatabase]:
    """Open (creating and migrating) a SQLite database; close it on exit."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    database = SqliteDatabase(path, clock=clock)
    try:
        await database.open()
        yield database
    finally:
        await database.close()
