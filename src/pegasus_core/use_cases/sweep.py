"""The sweep: take back stale jobs, dispatch what is due, purge tombstoned prefixes."""

from __future__ import annotations

from datetime import timedelta

from pegasus_core.context import Ports
from pegasus_core.records import Record
from pegasus_core.use_cases.common import dispatch, job_event, refresh_statuses


class SweepReport(Record, frozen=True, kw_only=True):
    """What one sweep did."""

    taken_back: int
    dispatched: int
    purged_objects: int


async def sweep_once(ports: Ports) -> SweepReport:
    """Run one sweep pass (every API and worker process runs these periodically).

    - Running jobs whose heartbeat is older than stale_sec go back to queued (failed, "worker
      lost", after max_attempts).
    - Queued jobs never dispatched, due for retry, or dispatched long ago without a claim are
      dispatched (duplicates are harmless: claims are conditional); the first two ahead of
      new work.
    - Storage under tombstoned lecture prefixes is purged again; expired idempotency keys go.
    """
    policy = ports.policy
    async with ports.uow() as uow:
        now = await uow.now()  # the database's clock decides staleness, not this process's
        stale = await uow.jobs.take_back_stale(
            stale_before=now - timedelta(seconds=policy.stale_sec), now=now
        )
        await refresh_statuses(ports, uow, (job.lecture_id for job in stale))
        due = await uow.jobs.due_for_dispatch(
            now=now, redispatch_before=now - timedelta(seconds=policy.redispatch_sec)
        )
        prefixes = await uow.tombstones.active(now=now)
        await uow.idempotency.purge_expired(now=now)
        await uow.commit()
    for job in stale:
        job_event(job, status=job.status.value, reason="stale heartbeat")
    # Taken back or due for retry: they have waited, so ahead of new work (and a worker
    # starts a few at once). A job dispatched long ago without a claim may have lost its
    # message, or may still be waiting in a long queue: sent again behind the rest.
    await dispatch(ports, [job for job in due if job.dispatched_at is None], urgent=True)
    await dispatch(ports, [job for job in due if job.dispatched_at is not None])
    purged = 0
    for prefix in prefixes:
        purged += await ports.blobs.delete_prefix(prefix)
    return SweepReport(taken_back=len(stale), dispatched=len(due), purged_objects=purged)
