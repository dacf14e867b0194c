"""Deleting lectures and courses: rows in one transaction, storage purged after commit."""

from __future__ import annotations

from datetime import timedelta

from pegasus_core.context import Ports
from pegasus_core.ids import parse_id
from pegasus_core.lectures import lecture_prefix
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.records import Record
from pegasus_core.use_cases.common import require_lecture
from pegasus_core.use_cases.queries import require_course_exists


class DeletedCounts(Record, frozen=True, kw_only=True):
    """What a lecture delete removed."""

    artifacts: int
    exports: int
    jobs: int
    lectures: int
    threads_updated: int
    storage_paths: int


class LectureDeletion(Record, frozen=True, kw_only=True):
    """The answer to a lecture delete."""

    lecture_id: str
    deleted: DeletedCounts


class CourseDeletion(Record, frozen=True, kw_only=True):
    """The answer to a course delete."""

    course_id: str
    course_deleted: bool
    lectures_deleted: int
    lecture_deletions: tuple[LectureDeletion, ...]


async def _delete_rows(
    ports: Ports, uow: UnitOfWork, lecture_id: str, *, course_id: str
) -> DeletedCounts:
    now = ports.clock.now()
    artifacts, exports = await uow.artifacts.delete_for_lecture(lecture_id)
    jobs = await uow.jobs.delete_for_lecture(lecture_id)
    # Thread writers hold the course lock (generation's store_threads): taken after the job
    # rows, in the same order as a completing generation, so the two cannot deadlock.
    await uow.courses.lock(course_id)
    threads = await uow.threads.remove_lecture(lecture_id, now=now)
    lectures = await uow.lectures.delete(lecture_id)
    # The sweep purges the prefix again for a while: a worker still on a deleted job may
    # write late before its next fenced write stops it.
    await uow.tombstones.add(
        lecture_prefix(lecture_id), until=now + timedelta(seconds=ports.limits.tombstone_sec)
    )
    return DeletedCounts(
        artifacts=artifacts,
        exports=exports,
        jobs=jobs,
        lectures=lectures,
        threads_updated=threads,
        storage_paths=0,
    )


async def _purge(ports: Ports, lecture_id: str, counts: DeletedCounts) -> LectureDeletion:
    removed = await ports.blobs.delete_prefix(lecture_prefix(lecture_id))
    return LectureDeletion(
        lecture_id=lecture_id,
        deleted=DeletedCounts(**{**_fields(counts), "storage_paths": removed}),
    )


def _fields(counts: DeletedCounts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in counts.__struct_fields__}


async def delete_lecture(
    ports: Ports, lecture_id: str, *, purge_storage: bool = True
) -> LectureDeletion:
    """Delete a lecture with its jobs, artifacts and exports; 404 if unknown.

    - All rows go in one transaction; threads lose the lecture (emptied threads go).
    - With purge_storage, everything under lectures/<id>/ is removed after the commit.
    """
    parse_id(lecture_id, field="lecture_id")
    async with ports.uow() as uow:
        lecture = await require_lecture(uow, lecture_id)
        counts = await _delete_rows(ports, uow, lecture_id, course_id=lecture.course_id)
        if not purge_storage:
            await uow.tombstones.clear(lecture_prefix(lecture_id))
        await uow.commit()
    if not purge_storage:
        return LectureDeletion(lecture_id=lecture_id, deleted=counts)
    return await _purge(ports, lecture_id, counts)


async def delete_course(
    ports: Ports, course_id: str, *, purge_storage: bool = True
) -> CourseDeletion:
    """Delete a course and all its lectures, atomically in the database; 404 if unknown."""
    parse_id(course_id, field="course_id")
    async with ports.uow() as uow:
        await require_course_exists(uow, course_id)
        deleted = {}
        for lecture in await uow.lectures.in_course(course_id):
            deleted[lecture.id] = await _delete_rows(ports, uow, lecture.id, course_id=course_id)
            if not purge_storage:
                await uow.tombstones.clear(lecture_prefix(lecture.id))
        course_deleted = await uow.courses.delete(course_id)
        await uow.commit()
    deletions = []
    for lecture_id, counts in deleted.items():
        if purge_storage:
            deletions.append(await _purge(ports, lecture_id, counts))
        else:
            deletions.append(LectureDeletion(lecture_id=lecture_id, deleted=counts))
    return CourseDeletion(
        course_id=course_id,
        course_deleted=course_deleted,
        lectures_deleted=len(deletions),
        lecture_deletions=tuple(deletions),
    )
