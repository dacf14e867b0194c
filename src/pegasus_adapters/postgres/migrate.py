"""Apply the numbered SQL files of migrations/postgres once each, under an advisory lock."""

from __future__ import annotations

from typing import Any

import psycopg

from pegasus_adapters.migrations import Migration, load_migrations

# The key of the transaction-scoped advisory lock every Pegasus process takes to migrate
# ("pegasus" in ASCII). It is database-wide: starts against different schemas of one database
# simply take turns.
MIGRATION_LOCK_KEY = 0x70_65_67_61_73_75_73


async def apply_migrations(conn: psycopg.AsyncConnection[Any]) -> list[Migration]:
    """Apply pending migrations in one transaction; return those applied.

    pg_advisory_xact_lock serialises concurrent starts: the second waits for the first to
    commit, then finds every version recorded. The lock is released with the transaction.
    Behind a transaction-mode pooler this still holds (the lock is transaction-scoped), but
    DDL wants a session connection there (CONTRACT.md section 10).
    """
    async with conn.transaction():
        await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for migration in load_migrations("postgres"):
            if migration.version in done:
                continue
            for statement in migration.statements:
                # No parameters: psycopg sends the text as written (a % needs no escaping).
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, now())",
                (migration.version, migration.name),
            )
            applied.append(migration)
    return applied
