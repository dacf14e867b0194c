"""Running one job: claim, heartbeat, stage work, and the fenced completing transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pegasus_core.context import Ports
from pegasus_core.errors import LeaseLostError, PegasusError, UnavailableError
from pegasus_core.group_commit import GroupCommit
from pegasus_core.jobs import Job, JobStatus, JobType, Lease, retry_at, time_limit_sec
from pegasus_core.lectures import Lecture
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.use_cases.common import dispatch, job_event, refresh_status, refresh_statuses
from pegasus_core.use_cases.export import run_export
from pegasus_core.use_cases.generate import run_generation
from pegasus_core.use_cases.job_context import Completion, JobContext
from pegasus_core.use_cases.submit import create_job, new_job
from pegasus_core.use_cases.transcribe import run_transcription

log = logging.getLogger("pegasus.jobs")

Stage = Callable[[JobContext], Awaitable[Completion]]
STAGE_WORK: dict[JobType, Stage] = {
    JobType.TRANSCRIPTION: run_transcription,
    JobType.GENERATION: run_generation,
    JobType.EXPORT: run_export,
}
NEXT_STAGE = {JobType.TRANSCRIPTION: JobType.GENERATION, JobType.GENERATION: JobType.EXPORT}
# How long a claim or a completion waits for others to share its transaction: nothing next
# to a job, and on a busy worker it makes the batches larger (on the jobs benchmark, 5 ms
# took claims from 4.3 to 7.5 jobs a transaction at 16 jobs at once).
BATCH_LINGER_SEC = 0.005


class JobRunner:
    """Runs dispatched job ids for one process.

    The claims of jobs dispatched together, and the completions of jobs that finish together,
    share one transaction each (group commit, see GroupCommit): on a busy worker the two
    transactions of a short job cost more than its work. Each job keeps its own conditional
    claim, fence and outcome: sharing a transaction changes only the number of round trips.
    """

    def __init__(self, ports: Ports) -> None:
        self._ports = ports
        self._claims: GroupCommit[str, Claimed | None] = GroupCommit(
            self._claim_batch, linger_sec=BATCH_LINGER_SEC
        )
        self._completions: GroupCommit[_Finished, Completed] = GroupCommit(
            self._complete_batch, linger_sec=BATCH_LINGER_SEC
        )

    async def run(self, job_id: str) -> None:
        """Run a dispatched job id. Idempotent: a job that is not claimable is ignored.

        - The claim is conditional (queued -> running, attempts + 1); attempts is the lease.
        - A transient error (UnavailableError, time limit) queues the job again with backoff
          until max_attempts; any other error fails it at once with its sentence.
        - When a fenced write finds the lease gone, the attempt stops; if its job no longer
          exists (deleted or cancelled) it deletes what it wrote.
        """
        ports = self._ports
        claimed = await self._claims.submit(job_id)
        if claimed is None:
            return
        lease, lecture = claimed
        job_event(lease.job, status="running", attempt=lease.attempt)
        if lecture is None:  # deleted between dispatch and claim
            await _fail(ports, lease, "Lecture not found.")
            return
        ctx = JobContext(ports=ports, lease=lease, lecture=lecture)
        started = time.monotonic()
        try:
            completion = await _with_heartbeat(ctx)
        except asyncio.CancelledError:
            # This process is shutting down: hand the job back now rather than leave it to
            # be found stale, then let the cancellation go on.
            await asyncio.shield(_interrupted(ctx))
            raise
        except LeaseLostError:
            await _lost(ctx)
        except (UnavailableError, TimeoutError) as exc:
            await _retry_or_fail(ctx, _sentence(exc, "The job exceeded its time limit."))
        except PegasusError as exc:
            await _fail(ports, lease, str(exc))
        except Exception:
            log.exception("job %s crashed", job_id, extra={"job_id": job_id})
            await _fail(ports, lease, "Unexpected internal error; see the worker log.")
        else:
            try:
                kept, follow_up = await self._completions.submit(_Finished(ctx, completion))
            except UnavailableError:
                raise  # nothing can be written now: the sweep takes the job back later
            except Exception:
                log.exception("job %s: its results could not be stored", job_id)
                await _fail(ports, lease, "Unexpected internal error; see the worker log.")
                return
            if not kept:
                await _lost(ctx)  # nothing was written for it: the fence failed
                return
            duration_ms = int((time.monotonic() - started) * 1000)
            job_event(lease.job, status="completed", attempt=lease.attempt, duration_ms=duration_ms)
            if follow_up is not None:
                await dispatch(ports, [follow_up])

    async def _claim_batch(self, job_ids: Sequence[str]) -> list[Claimed | None]:
        ports = self._ports
        async with ports.uow() as uow:
            leases = await uow.jobs.claim(job_ids, worker=ports.worker_name, now=await uow.now())
            lectures = await uow.lectures.get_many(
                list({lease.job.lecture_id for lease in leases.values()})
            )
            await uow.commit()
        outcomes: list[Claimed | None] = []
        for job_id in job_ids:
            # An id dispatched twice into one batch is run by its first caller only.
            lease = leases.pop(job_id, None)
            outcomes.append(None if lease is None else (lease, lectures.get(lease.job.lecture_id)))
        return outcomes

    async def _complete_batch(
        self, finished: Sequence[_Finished]
    ) -> Sequence[Completed | BaseException]:
        if len(finished) > 1:
            try:
                return await _complete(self._ports, finished)
            except UnavailableError:
                raise  # the database is away: every attempt waits for the sweep alike
            except Exception:
                # One stage's records could not be written; nothing was: complete each on
                # its own so that only its job is affected.
                log.warning("a grouped completion failed; completing its jobs one by one")
        outcomes: list[Completed | BaseException] = []
        for one in finished:
            try:
                outcomes.extend(await _complete(self._ports, [one]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes


Claimed = tuple[Lease, Lecture | None]
# Whether the completion was kept (its lease held), and the next stage's job to dispatch.
Completed = tuple[bool, Job | None]


@dataclass(frozen=True)
class _Finished:
    ctx: JobContext
    completion: Completion


async def _with_heartbeat(ctx: JobContext) -> Completion:
    ports = ctx.ports
    limit = time_limit_sec(
        duration_sec=ctx.lecture.duration_sec,
        factor=ports.policy.time_limit_factor,
        floor_sec=ports.policy.time_limit_min_sec,
    )
    work = asyncio.ensure_future(STAGE_WORK[ctx.lease.job.job_type](ctx))

    async def beat_forever() -> None:
        # Its own task, so a stage busy awaiting a process pool cannot starve it.
        while True:
            await asyncio.sleep(ports.policy.heartbeat_sec)
            try:
                await ctx.beat()
            except LeaseLostError:
                work.cancel()
                raise
            except UnavailableError:
                # A database blip must not end the heartbeat for the rest of the attempt;
                # if it lasts, the sweep takes the job back and the fence stops this attempt.
                log.warning("job %s: heartbeat failed; trying again", ctx.lease.job.id)

    beater = asyncio.ensure_future(beat_forever())
    try:
        async with asyncio.timeout(limit):
            return await work
    except asyncio.CancelledError:
        if beater.done() and isinstance(beater.exception(), LeaseLostError):
            raise LeaseLostError("The job was taken back, cancelled or deleted.") from None
        raise
    finally:
        beater.cancel()
        work.cancel()
        with contextlib.suppress(BaseException):
            await beater


def _sentence(exc: BaseException, default: str) -> str:
    return str(exc) or default


async def _complete(ports: Ports, finished: Sequence[_Finished]) -> list[Completed]:
    """Complete finished attempts in one transaction, each fenced by its own lease.

    An attempt whose lease is gone writes nothing; the others' records are written, their
    next stage submitted, and their lectures' statuses refreshed together. Returns, per
    attempt, whether it was kept and the next stage's job to dispatch once committed.
    """
    outcomes: list[Completed] = []
    async with ports.uow() as uow:
        # The attempt number in the result shows which attempt's output was kept.
        kept = await uow.jobs.complete(
            [
                (one.ctx.lease, {**one.completion.result, "attempt": one.ctx.lease.attempt})
                for one in finished
            ],
            now=ports.clock.now(),
        )
        for one in finished:
            job = one.ctx.lease.job
            if job.id not in kept:
                outcomes.append((False, None))
                continue
            await one.completion.apply(uow)
            outcomes.append((True, await _submit_next_stage(ports, uow, job)))
        await refresh_statuses(
            ports,
            uow,
            (one.ctx.lease.job.lecture_id for one in finished if one.ctx.lease.job.id in kept),
        )
        await uow.commit()
    return outcomes


async def _submit_next_stage(ports: Ports, uow: UnitOfWork, job: Job) -> Job | None:
    """Submit the stage after job's when it was auto-processed; return a new job to dispatch."""
    next_type = NEXT_STAGE.get(job.job_type)
    if next_type is None or not job.params.get("autoProcess"):
        return None
    submitted = await create_job(
        ports,
        uow,
        new_job(
            ports,
            lecture_id=job.lecture_id,
            job_type=next_type,
            params={"autoProcess": True},
            request_id=job.request_id,
        ),
    )
    return None if submitted.deduplicated else submitted.job


async def _finish(
    ports: Ports,
    lease: Lease,
    *,
    status: JobStatus,
    error: str,
    outcome: str,
    retry_time: object = None,
) -> bool:
    async with ports.uow() as uow:
        now = ports.clock.now()
        changed = await uow.jobs.finish(
            lease,
            status=status,
            now=now,
            error=error,
            result={"retryAt": retry_time} if retry_time is not None else None,
            retry_at=retry_time,  # type: ignore[arg-type]
        )
        await uow.jobs.end_attempts([lease], outcome=outcome, now=now)
        if changed:
            await refresh_status(ports, uow, lease.job.lecture_id)
        await uow.commit()
    if changed:
        job_event(lease.job, status=status.value, attempt=lease.attempt, error=error)
    return changed


async def _interrupted(ctx: JobContext) -> None:
    try:
        await _finish(
            ctx.ports,
            ctx.lease,
            status=JobStatus.QUEUED,
            outcome="interrupted",
            error="Interrupted by a shutdown; queued again.",
        )
    except Exception:
        # The database may be going away too: the sweep will find the job stale instead.
        log.warning("job %s: could not hand back after a shutdown", ctx.lease.job.id)


async def _fail(ports: Ports, lease: Lease, error: str) -> None:
    await _finish(ports, lease, status=JobStatus.FAILED, error=error, outcome="failed")


async def _retry_or_fail(ctx: JobContext, error: str) -> None:
    ports, lease = ctx.ports, ctx.lease
    when = retry_at(
        attempts=lease.attempt,
        max_attempts=lease.job.max_attempts,
        backoff_sec=ports.policy.retry_backoff_sec,
        now=ports.clock.now(),
    )
    if when is None:
        await _fail(ports, lease, error)
        return
    await _finish(
        ports, lease, status=JobStatus.QUEUED, error=error, outcome="retry", retry_time=when
    )


async def _lost(ctx: JobContext) -> None:
    """Stop after losing the lease; clean up only if the job itself is gone."""
    ports, lease = ctx.ports, ctx.lease
    async with ports.uow() as uow:
        job = await uow.jobs.get(lease.job.id)
        await uow.jobs.end_attempts([lease], outcome="lease_lost", now=ports.clock.now())
        await uow.commit()
    log.warning(
        "job %s attempt %s lost its lease",
        lease.job.id,
        lease.attempt,
        extra={"job_id": lease.job.id, "attempt": lease.attempt},
    )
    # A job taken back keeps its files: the next attempt resumes from or overwrites them.
    if job is None or job.status is JobStatus.CANCELLED:
        for key in ctx.written:
            await ports.blobs.delete(key)
