"""Course threads and deletion tombstones in SQL."""

from __future__ import annotations

import builtins
from datetime import datetime

import msgspec

from pegasus_adapters.sql.paging import fetch_page
from pegasus_adapters.sql.session import Row, SqlSession, required_datetime, to_json
from pegasus_core.pagination import Page, PageRequest
from pegasus_core.threads import Thread, ThreadEvolution, drop_lecture


def _thread(row: Row) -> Thread:
    return Thread(
        id=row["id"],
        course_id=row["course_id"],
        title=row["title"],
        summary=row["summary"],
        status=row["status"],
        complexity_level=row["complexity_level"],
        lecture_refs=tuple(msgspec.json.decode(row["lecture_refs"], type=list[str])),
        evolution=tuple(msgspec.json.decode(row["evolution"], type=list[ThreadEvolution])),
        created_at=required_datetime(row["created_at"]),
        updated_at=required_datetime(row["updated_at"]),
    )


class SqlThreadRepository:
    """Threads; lecture refs and evolution are JSON columns (read whole, never queried)."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def list(self, page: PageRequest, *, course_id: str) -> Page[Thread]:
        return await fetch_page(
            self._s,
            select="t.*",
            table="threads",
            filters={"course_id": course_id},
            page=page,
            to_record=_thread,
        )

    async def for_course(self, course_id: str) -> builtins.list[Thread]:
        rows = await self._s.fetch(
            "SELECT * FROM threads WHERE course_id = :c ORDER BY created_at, id", {"c": course_id}
        )
        return [_thread(row) for row in rows]

    async def put(self, thread: Thread) -> None:
        await self._s.execute(
            "INSERT INTO threads (id, course_id, title, summary, status, complexity_level, "
            "lecture_refs, evolution, created_at, updated_at) VALUES (:id, :course_id, :title, "
            ":summary, :status, :level, :refs, :evolution, :created_at, :updated_at) "
            "ON CONFLICT (id) DO UPDATE SET title = excluded.title, summary = excluded.summary, "
            "status = excluded.status, complexity_level = excluded.complexity_level, "
            "lecture_refs = excluded.lecture_refs, evolution = excluded.evolution, "
            "updated_at = excluded.updated_at",
            {
                "id": thread.id,
                "course_id": thread.course_id,
                "title": thread.title,
                "summary": thread.summary,
                "status": thread.status,
                "level": thread.complexity_level,
                "refs": to_json(thread.lecture_refs),
                "evolution": to_json(thread.evolution),
                "created_at": thread.created_at,
                "updated_at": thread.updated_at,
            },
        )

    async def remove_lecture(self, lecture_id: str, *, now: datetime) -> int:
        # Refs are JSON text: filter candidates with LIKE, then decide exactly in Python.
        rows = await self._s.fetch(
            "SELECT * FROM threads WHERE lecture_refs LIKE :pattern",
            {"pattern": f'%"{lecture_id}"%'},
        )
        changed = 0
        for thread in map(_thread, rows):
            if lecture_id not in thread.lecture_refs:
                continue
            changed += 1
            rest = drop_lecture(thread, lecture_id)
            if rest is None:
                await self._s.execute("DELETE FROM threads WHERE id = :id", {"id": thread.id})
                continue
            await self.put(msgspec.structs.replace(rest, updated_at=now))
        return changed


class SqlTombstoneRepository:
    """Prefixes the sweep keeps purging for a while after a delete."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def add(self, prefix: str, *, until: datetime) -> None:
        await self._s.execute(
            "INSERT INTO tombstones (prefix, until) VALUES (:p, :until) "
            "ON CONFLICT (prefix) DO UPDATE SET until = excluded.until",
            {"p": prefix, "until": until},
        )

    async def clear(self, prefix: str) -> None:
        await self._s.execute("DELETE FROM tombstones WHERE prefix = :p", {"p": prefix})

    async def active(self, *, now: datetime) -> builtins.list[str]:
        await self._s.execute("DELETE FROM tombstones WHERE until < :now", {"now": now})
        rows = await self._s.fetch("SELECT prefix FROM tombstones ORDER BY prefix")
        return [row["prefix"] for row in rows]
