"""Migrations: an empty database reaches head, twice is a no-op, both dialects stay in step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import psycopg
import pytest

from pegasus_adapters.migrations import MIGRATIONS_DIR, load_migrations
from pegasus_adapters.postgres.migrate import apply_migrations as apply_postgres
from pegasus_adapters.sqlite.migrate import apply_migrations as apply_sqlite

# The first migration's tables; later ones may add more.
TABLES = {
    "courses",
    "lectures",
    "jobs",
    "job_attempts",
    "artifacts",
    "exports",
    "threads",
    "tombstones",
    "schema_migrations",
}


def test_both_dialects_have_the_same_migrations() -> None:
    sqlite = [(m.version, m.name) for m in load_migrations("sqlite")]
    postgres = [(m.version, m.name) for m in load_migrations("postgres")]
    assert sqlite, "no migrations found"
    assert sqlite == postgres
    assert sorted(p.name for p in (MIGRATIONS_DIR / "sqlite").glob("*.sql")) == sorted(
        p.name for p in (MIGRATIONS_DIR / "postgres").glob("*.sql")
    )


async def test_sqlite_goes_from_empty_to_head_once(tmp_path: Path) -> None:
    head = load_migrations("sqlite")
    async with aiosqlite.connect(tmp_path / "db.sqlite3", isolation_level=None) as conn:
        assert await apply_sqlite(conn) == head
        assert await apply_sqlite(conn) == []
        async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = {row[0] for row in await cursor.fetchall()}
        async with conn.execute("SELECT version, name FROM schema_migrations") as cursor:
            recorded = [tuple(row) for row in await cursor.fetchall()]
    assert tables >= TABLES
    assert recorded == [(m.version, m.name) for m in head]


@pytest.mark.postgres
async def test_postgres_goes_from_empty_to_head_once(postgres_conninfo: str) -> None:
    head = load_migrations("postgres")
    async with await psycopg.AsyncConnection.connect(postgres_conninfo, autocommit=True) as conn:
        assert await apply_postgres(conn) == head
        assert await apply_postgres(conn) == []
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        tables = {row[0] for row in await cursor.fetchall()}
        cursor = await conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        recorded = [tuple(row) for row in await cursor.fetchall()]
        cursor = await conn.execute(
            "SELECT indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND indexname = 'jobs_one_active'"
        )
        (one_active,) = await cursor.fetchone() or ("",)
        cursor = await conn.execute(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND collation_name = 'C'"
        )
        byte_ordered = {row[0] for row in await cursor.fetchall()}
    assert tables >= TABLES
    assert recorded == [(m.version, m.name) for m in head]
    assert "UNIQUE" in one_active and "WHERE" in one_active
    # Lists break ties by id (and sort exports, tombstones) in byte order, as SQLite does.
    assert byte_ordered >= {
        "courses.id",
        "lectures.id",
        "jobs.id",
        "artifacts.id",
        "threads.id",
        "exports.export_type",
        "tombstones.prefix",
    }


@pytest.mark.postgres
async def test_concurrent_postgres_starts_apply_each_migration_once(
    postgres_conninfo: str,
) -> None:
    async def start() -> list[int]:
        async with await psycopg.AsyncConnection.connect(
            postgres_conninfo, autocommit=True
        ) as conn:
            return [m.version for m in await apply_postgres(conn)]

    results = await asyncio.gather(*(start() for _ in range(5)))
    applied = sorted(version for result in results for version in result)
    assert applied == [m.version for m in load_migrations("postgres")]
    async with await psycopg.AsyncConnection.connect(postgres_conninfo) as conn:
        cursor = await conn.execute("SELECT count(*) FROM schema_migrations")
        assert await cursor.fetchone() == (len(applied),)


async def sqlite_shape(path: Path) -> dict[str, object]:
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_sqlite(conn)
        async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = sorted(row[0] for row in await cursor.fetchall())
        columns = {}
        for table in tables:
            async with conn.execute(f"PRAGMA table_info({table})") as cursor:
                columns[table] = [row[1] for row in await cursor.fetchall()]
        async with conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ) as cursor:
            indexes = sorted(row[0] for row in await cursor.fetchall())
    return {"columns": columns, "indexes": indexes}


async def postgres_shape(conninfo: str) -> dict[str, object]:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await apply_postgres(conn)
        cursor = await conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        columns: dict[str, list[str]] = {}
        for table, column in await cursor.fetchall():
            columns.setdefault(table, []).append(column)
        # Primary keys are implicit indexes in SQLite (no sql), named *_pkey in Postgres.
        cursor = await conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname NOT LIKE '%\\_pkey'"
        )
        indexes = sorted(row[0] for row in await cursor.fetchall())
    return {"columns": dict(sorted(columns.items())), "indexes": indexes}


@pytest.mark.postgres
async def test_both_dialects_reach_the_same_tables_columns_and_indexes(
    tmp_path: Path, postgres_conninfo: str
) -> None:
    assert await sqlite_shape(tmp_path / "db.sqlite3") == await postgres_shape(postgres_conninfo)
