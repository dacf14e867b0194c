"""Courses and lectures in SQL."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pegasus_adapters.sql.paging import fetch_page_values
from pegasus_adapters.sql.session import (
    SqlSession,
    Values,
    numbered,
    required_datetime,
    to_datetime,
)
from pegasus_core.errors import LectureExistsError
from pegasus_core.lectures import (
    AudioRef,
    Course,
    CourseRollup,
    Lecture,
    LectureProgress,
    LectureStatus,
    SourceType,
)
from pegasus_core.pagination import Page, PageRequest

_COURSE_COLUMNS = (
    "t.id, t.title, t.created_at, t.updated_at, "
    "(SELECT COALESCE(SUM(c.n), 0) FROM lecture_counts c WHERE c.course_id = t.id) "
    "AS lecture_count"
)


def _course(row: Values) -> Course:
    course_id, title, created_at, updated_at, lecture_count = row
    return Course(
        id=course_id,
        title=title,
        created_at=required_datetime(created_at),
        updated_at=required_datetime(updated_at),
        lecture_count=int(lecture_count),
    )


class SqlCourseRepository:
    """Courses; the lecture count is computed, never stored."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def get(self, course_id: str) -> Course | None:
        rows = await self._s.fetch_values(
            f"SELECT {_COURSE_COLUMNS} FROM courses t WHERE t.id = :id", {"id": course_id}
        )
        return _course(rows[0]) if rows else None

    async def exists(self, course_id: str) -> bool:
        rows = await self._s.fetch_values("SELECT 1 FROM courses WHERE id = :id", {"id": course_id})
        return bool(rows)

    async def lock(self, course_id: str) -> None:
        # A no-op update: a row lock on Postgres (FOR UPDATE is not SQLite), and SQLite writers
        # hold the database's write lock from BEGIN IMMEDIATE anyway.
        await self._s.execute(
            "UPDATE courses SET updated_at = updated_at WHERE id = :id", {"id": course_id}
        )

    async def ensure(self, course_id: str, *, title: str, now: datetime) -> Course:
        await self._s.execute(
            "INSERT INTO courses (id, title, created_at, updated_at) "
            "VALUES (:id, :title, :now, :now) ON CONFLICT (id) DO NOTHING",
            {"id": course_id, "title": title, "now": now},
        )
        course = await self.get(course_id)
        assert course is not None  # inserted or already there, inside this transaction
        return course

    async def list(self, page: PageRequest) -> Page[Course]:
        return await fetch_page_values(
            self._s,
            select=_COURSE_COLUMNS,
            table="courses",
            filters={},
            page=page,
            to_record=_course,
        )

    async def delete(self, course_id: str) -> bool:
        return await self._s.execute("DELETE FROM courses WHERE id = :id", {"id": course_id}) > 0


# Named, in the order _lecture() unpacks them: rows are read by position.
_LECTURE_COLUMNS = (
    "t.id, t.course_id, t.preset_id, t.title, t.status, t.duration_sec, t.source_type, "
    "t.audio_path, t.audio_original_filename, t.audio_content_type, t.audio_size_bytes, "
    "t.audio_sha256, t.audio_purged_at, t.transcript_path, t.transcript_created_at, "
    "t.transcript_purged_at, t.created_at, t.updated_at"
)
# Dict lookups: calling the enum class costs several times more, row after row.
_STATUSES = {member.value: member for member in LectureStatus}
_SOURCES = {member.value: member for member in SourceType}
_UPDATABLE = frozenset(
    {
        "status",
        "transcript_path",
        "transcript_created_at",
        "transcript_purged_at",
        "duration_sec",
        "audio_purged_at",
        "overall_status",
        "progress_percent",
    }
)


def _lecture(row: Values) -> Lecture:
    (
        lecture_id,
        course_id,
        preset_id,
        title,
        status,
        duration_sec,
        source_type,
        audio_path,
        original_filename,
        content_type,
        size_bytes,
        sha256,
        audio_purged_at,
        transcript_path,
        transcript_created_at,
        transcript_purged_at,
        created_at,
        updated_at,
    ) = row
    return Lecture(
        id=lecture_id,
        course_id=course_id,
        preset_id=preset_id,
        title=title,
        status=_STATUSES[status],
        duration_sec=duration_sec,
        source_type=_SOURCES[source_type],
        audio=AudioRef(
            path=audio_path,
            original_filename=original_filename,
            content_type=content_type,
            size_bytes=size_bytes,
            sha256=sha256,
            purged_at=to_datetime(audio_purged_at),
        ),
        transcript_path=transcript_path,
        transcript_created_at=to_datetime(transcript_created_at),
        transcript_purged_at=to_datetime(transcript_purged_at),
        created_at=required_datetime(created_at),
        updated_at=required_datetime(updated_at),
    )


class SqlLectureRepository:
    """Lectures, their audio reference and their stored status."""

    def __init__(self, session: SqlSession) -> None:
        self._s = session

    async def add(self, lecture: Lecture) -> None:
        inserted = await self._s.execute(
            "INSERT INTO lectures (id, course_id, preset_id, title, status, duration_sec, "
            "source_type, audio_path, audio_original_filename, audio_content_type, "
            "audio_size_bytes, audio_sha256, transcript_path, created_at, updated_at) "
            "VALUES (:id, :course_id, :preset_id, :title, :status, :duration_sec, :source_type, "
            ":audio_path, :filename, :content_type, :size_bytes, :sha256, :transcript_path, "
            ":created_at, :updated_at) ON CONFLICT (id) DO NOTHING",
            {
                "id": lecture.id,
                "course_id": lecture.course_id,
                "preset_id": lecture.preset_id,
                "title": lecture.title,
                "status": lecture.status.value,
                "duration_sec": lecture.duration_sec,
                "source_type": lecture.source_type.value,
                "audio_path": lecture.audio.path,
                "filename": lecture.audio.original_filename,
                "content_type": lecture.audio.content_type,
                "size_bytes": lecture.audio.size_bytes,
                "sha256": lecture.audio.sha256,
                "transcript_path": lecture.transcript_path,
                "created_at": lecture.created_at,
                "updated_at": lecture.updated_at,
            },
        )
        if not inserted:
            raise LectureExistsError(lecture.id)

    async def get(self, lecture_id: str) -> Lecture | None:
        rows = await self._s.fetch_values(
            f"SELECT {_LECTURE_COLUMNS} FROM lectures t WHERE t.id = :id", {"id": lecture_id}
        )
        return _lecture(rows[0]) if rows else None

    async def get_many(self, lecture_ids: Sequence[str]) -> dict[str, Lecture]:
        if not lecture_ids:
            return {}
        names, values = numbered("l", lecture_ids)
        rows = await self._s.fetch_values(
            f"SELECT {_LECTURE_COLUMNS} FROM lectures t WHERE t.id IN ({', '.join(names)})",
            values,
        )
        return {lecture.id: lecture for lecture in map(_lecture, rows)}

    async def list(
        self,
        page: PageRequest,
        *,
        course_id: str | None = None,
        status: LectureStatus | None = None,
        preset_id: str | None = None,
    ) -> Page[Lecture]:
        filters = {
            "course_id": course_id,
            "status": status.value if status else None,
            "preset_id": preset_id,
        }
        return await fetch_page_values(
            self._s,
            select=_LECTURE_COLUMNS,
            table="lectures",
            filters=filters,
            page=page,
            to_record=_lecture,
            count_table="lecture_counts",
        )

    async def in_course(self, course_id: str) -> builtins.list[Lecture]:
        rows = await self._s.fetch_values(
            f"SELECT {_LECTURE_COLUMNS} FROM lectures t WHERE t.course_id = :c "
            "ORDER BY t.created_at DESC, t.id DESC",
            {"c": course_id},
        )
        return [_lecture(row) for row in rows]

    async def update(self, lecture_id: str, *, now: datetime, **fields: Any) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        await self._s.execute(
            f"UPDATE lectures SET {assignments}, updated_at = :now WHERE id = :id",
            {**fields, "now": now, "id": lecture_id},
        )

    async def set_progress(self, progress: Sequence[LectureProgress], *, now: datetime) -> None:
        if not progress:
            return
        params: dict[str, Any] = {"now": now}
        tuples = []
        for index, item in enumerate(progress):
            params |= {
                f"l{index}": item.lecture_id,
                f"s{index}": item.status,
                f"o{index}": item.overall_status,
                f"p{index}": item.progress_percent,
            }
            tuples.append(f"(:l{index}, :s{index}, :o{index}, CAST(:p{index} AS INTEGER))")
        await self._s.execute(
            "UPDATE lectures SET status = v.column2, overall_status = v.column3, "
            "progress_percent = v.column4, updated_at = :now "
            f"FROM (VALUES {', '.join(tuples)}) AS v WHERE lectures.id = v.column1",
            params,
        )

    async def rollup(self, course_id: str) -> CourseRollup:
        rows = await self._s.fetch(
            "SELECT overall_status, COUNT(*) AS n, SUM(progress_percent) AS percent, "
            "MAX(updated_at) AS latest FROM lectures WHERE course_id = :c "
            "GROUP BY overall_status",
            {"c": course_id},
        )
        latest = [to_datetime(row["latest"]) for row in rows]
        return CourseRollup(
            counts={row["overall_status"]: int(row["n"]) for row in rows},
            percent_sum=sum(int(row["percent"]) for row in rows),
            latest_activity_at=max((t for t in latest if t is not None), default=None),
        )

    async def delete(self, lecture_id: str) -> int:
        return await self._s.execute("DELETE FROM lectures WHERE id = :id", {"id": lecture_id})
