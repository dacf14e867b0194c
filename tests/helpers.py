"""Small helpers tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from pegasus_core.pegasus import Pegasus
from pegasus_core.use_cases.ingest import IngestRequest, IngestResult


async def file_chunks(path: Path, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


async def ingest(
    pegasus: Pegasus,
    path: Path,
    *,
    lecture_id: str = "lec-1",
    course_id: str = "course-1",
    preset_id: str = "exam-mode",
    auto_process: bool = False,
    title: str = "The water cycle",
) -> IngestResult:
    request = IngestRequest(
        course_id=course_id,
        preset_id=preset_id,
        title=title,
        lecture_id=lecture_id,
        original_filename=path.name,
        auto_process=auto_process,
    )
    return await pegasus.ingest_lecture(request, file_chunks(path))


def sqlite_rows(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a SQLite database, read-only (a second reader is fine in WAL)."""
    import sqlite3

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }


def postgres_rows(conninfo: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table in the connection's schema."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo) as conn:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ]
        select = sql.SQL("SELECT * FROM {}")
        return {
            t: sorted(conn.execute(select.format(sql.Identifier(t))).fetchall(), key=repr)
            for t in tables
        }
