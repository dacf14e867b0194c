"""Jobs: reads, the dead-letter list, replay."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.status_codes import HTTP_202_ACCEPTED

from pegasus_core.jobs import Job
from pegasus_core.pagination import DEFAULT_LIMIT, PageRequest
from pegasus_http.dependencies import AnyRequest, Limit, Offset, PathId, facade, request_id
from pegasus_http.docs import READ, WRITE
from pegasus_http.routes_lectures import Optional
from pegasus_http.schemas import FailedJobFilters, FailedJobList, JobAccepted


class JobController(Controller):
    """Jobs."""

    path = "/jobs"
    tags = ["jobs"]

    @get("/failed", summary="Failed jobs (dead letters)", responses=READ)
    async def failed(
        self,
        request: AnyRequest,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        lecture_id: Optional = None,
        job_type: Optional = None,
    ) -> FailedJobList:
        """List failed jobs, newest first."""
        pegasus = facade(request)
        result = await pegasus.list_failed_jobs(
            PageRequest(limit=limit, offset=offset), lecture_id=lecture_id, job_type=job_type
        )
        return FailedJobList(
            filters=FailedJobFilters(lecture_id=lecture_id, job_type=job_type),
            jobs=list(result.items),
            pagination=result.pagination,
        )

    @get("/{job_id:str}", summary="Get a job", responses=READ)
    async def get_job(self, request: AnyRequest, job_id: PathId) -> Job:
        """Return a job; 404 `Job not found.`."""
        pegasus = facade(request)
        return await pegasus.get_job(job_id)

    @post(
        "/{job_id:str}/replay",
        status_code=HTTP_202_ACCEPTED,
        summary="Replay a failed job",
        responses=WRITE,
    )
    async def replay(
        self,
        request: AnyRequest,
        job_id: PathId,
    ) -> JobAccepted:
        """Queue a failed job again with its parameters (409 unless it failed)."""
        pegasus = facade(request)
        submitted = await pegasus.replay_job(job_id, request_id=request_id(request))
        return JobAccepted.of(submitted, replayed_from_job_id=job_id)
