"""Apply the numbered SQL files of migrations/sqlite once each, under the write lock."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

from pegasus_adapters.migrations import Migration, load_migrations


async def apply_migrations(conn: aiosqlite.Connection) -> list[Migration]:
    """Apply pending migrations; return those applied.

    BEGIN IMMEDIATE takes SQLite's write lock, so concurrent starts apply each file once.
    """
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with conn.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for migration in load_migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied.append(migration)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return applied
