"""Courses: reads, threads, progress, deletion."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK

from pegasus_core.lectures import Course
from pegasus_core.pagination import DEFAULT_LIMIT, PageRequest
from pegasus_core.use_cases.deletion import CourseDeletion
from pegasus_http.dependencies import AnyRequest, Limit, Offset, PathId, facade
from pegasus_http.docs import READ, WRITE
from pegasus_http.routes_lectures import Optional
from pegasus_http.schemas import (
    CourseLectureProgress,
    CourseList,
    CourseProgressBody,
    LectureList,
    LectureProgressBody,
    ThreadList,
)


class CourseController(Controller):
    """Courses."""

    path = "/courses"
    tags = ["courses"]

    @get("/", summary="List courses", responses=READ)
    async def list_courses(
        self, request: AnyRequest, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
    ) -> CourseList:
        """List courses newest first."""
        pegasus = facade(request)
        result = await pegasus.list_courses(PageRequest(limit=limit, offset=offset))
        return CourseList(courses=list(result.items), pagination=result.pagination)

    @get("/{course_id:str}", summary="Get a course", responses=READ)
    async def get_course(self, request: AnyRequest, course_id: PathId) -> Course:
        """Return a course; 404 `Course not found.`."""
        pegasus = facade(request)
        return await pegasus.get_course(course_id)

    @get("/{course_id:str}/lectures", summary="A course's lectures", responses=READ)
    async def lectures(
        self,
        request: AnyRequest,
        course_id: PathId,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        status: Optional = None,
        preset_id: Optional = None,
    ) -> LectureList:
        """List the course's lectures (404 if the course does not exist)."""
        pegasus = facade(request)
        await pegasus.get_course(course_id)
        result = await pegasus.list_lectures(
            PageRequest(limit=limit, offset=offset),
            course_id=course_id,
            status=status,
            preset_id=preset_id,
        )
        return LectureList(
            course_id=course_id, lectures=list(result.items), pagination=result.pagination
        )

    @get("/{course_id:str}/threads", summary="A course's threads", responses=READ)
    async def threads(
        self,
        request: AnyRequest,
        course_id: PathId,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> ThreadList:
        """List the concepts followed across the course's lectures."""
        pegasus = facade(request)
        result = await pegasus.list_threads(course_id, PageRequest(limit=limit, offset=offset))
        return ThreadList(
            course_id=course_id, threads=list(result.items), pagination=result.pagination
        )

    @get("/{course_id:str}/progress", summary="Course progress", responses=READ)
    async def progress(
        self,
        request: AnyRequest,
        course_id: PathId,
        include_lectures: FromQuery[bool] = True,
    ) -> CourseProgressBody:
        """Roll the course's lectures up (a fixed number of queries)."""
        pegasus = facade(request)
        result = await pegasus.course_progress(course_id, include_lectures=include_lectures)
        lectures = None
        if result.lectures is not None:
            lectures = [
                CourseLectureProgress(
                    title=entry.lecture.title,
                    **_fields(LectureProgressBody.of(entry.lecture, entry.snapshot)),
                )
                for entry in result.lectures
            ]
        return CourseProgressBody(
            course_id=result.course_id,
            overall_status=result.overall_status,
            progress_percent=result.progress_percent,
            lecture_count=result.lecture_count,
            completed_lecture_count=result.completed_lecture_count,
            failed_lecture_count=result.failed_lecture_count,
            in_progress_lecture_count=result.in_progress_lecture_count,
            not_started_lecture_count=result.not_started_lecture_count,
            latest_activity_at=result.latest_activity_at,
            **({"lectures": lectures} if lectures is not None else {}),
        )

    @delete("/{course_id:str}", status_code=HTTP_200_OK, summary="Delete a course", responses=WRITE)
    async def delete_course(
        self,
        request: AnyRequest,
        course_id: PathId,
        purge_storage: FromQuery[bool] = True,
    ) -> CourseDeletion:
        """Delete the course and every lecture in it, atomically in the database."""
        pegasus = facade(request)
        return await pegasus.delete_course(course_id, purge_storage=purge_storage)


def _fields(body: LectureProgressBody) -> dict[str, Any]:
    return {name: getattr(body, name) for name in body.__struct_fields__}
