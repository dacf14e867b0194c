"""The sweep: take back stale jobs, dispatch what is due, purge tombstoned prefixes.

It has two halves that a process may run on rhythms of their own:

- recovery (`recover`): stale jobs back to queued, and queued jobs never dispatched or due
  for retry dispatched ahead of new work. How soon a dead worker's jobs resume rests on it
  alone, so nothing slower waits in front of it.
- upkeep (`keep_up`): jobs dispatched long ago without a claim dispatched again, storage
  under tombstoned prefixes purged again, expired idempotency keys dropped. With a deep
  backlog every waiting job is a lost-message suspect and the re-dispatch can be long.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pegasus_core.context import Ports
from pegasus_core.records import Record
from pegasus_core.use_cases.common import dispatch, job_event, refresh_statuses

# "Dispatched before this": no job. Asks due_for_dispatch for never-dispatched jobs only.
_NEVER = datetime.min.replace(tzinfo=UTC)


class SweepReport(Record, frozen=True, kw_only=True):
    """What one sweep pass (or one half of it) did."""

    taken_back: int = 0
    dispatched: int = 0
    purged_objects: int = 0
    # Seconds from this pass's reading of the clock until the oldest running heartbeat
    # turns stale (None when no job runs): when a pass could next take a job back.
    next_stale_in: float | None = None


async def sweep_once(ports: Ports) -> SweepReport:
    """Run one whole sweep pass: recovery, then upkeep."""
    recovered = await recover(ports)
    kept_up = await keep_up(ports)
    return SweepReport(
        taken_back=recovered.taken_back,
        dispatched=recovered.dispatched + kept_up.dispatched,
        purged_objects=kept_up.purged_objects,
        next_stale_in=recovered.next_stale_in,
    )


async def recover(ports: Ports) -> SweepReport:
    """Take back stale jobs and dispatch the queued jobs nobody has been given.

    - Running jobs whose heartbeat is older than stale_sec go back to queued (failed, "worker
      lost", after max_attempts).
    - Queued jobs never dispatched (taken back, created while the queue was down) or due for
      retry are dispatched as urgent: they have waited, so ahead of new work (and a worker
      starts a few at once). Duplicates are harmless: claims are conditional.
    """
    policy = ports.policy
    async with ports.uow() as uow:
        now = await uow.now()  # the database's clock decides staleness, not this process's
        stale = await uow.jobs.take_back_stale(
            stale_before=now - timedelta(seconds=policy.stale_sec), now=now
        )
        await refresh_statuses(ports, uow, (job.lecture_id for job in stale))
        oldest = await uow.jobs.oldest_heartbeat()
        due = await uow.jobs.due_for_dispatch(now=now, redispatch_before=_NEVER)
        await uow.commit()
    for job in stale:
        job_event(job, status=job.status.value, reason="stale heartbeat")
    await dispatch(ports, due, urgent=True)
    next_stale_in = None
    if oldest is not None:
        next_stale_in = (oldest - now).total_seconds() + policy.stale_sec
    return SweepReport(taken_back=len(stale), dispatched=len(due), next_stale_in=next_stale_in)


async def keep_up(ports: Ports) -> SweepReport:
    """Dispatch again what may have lost its message; purge what deleted lectures left.

    A job dispatched longer than redispatch_sec ago without a claim may have lost its message
    (a Redis restart), or may still be waiting in a long queue: it is sent again, behind the
    rest. Storage under tombstoned lecture prefixes is purged again; expired idempotency keys
    go.
    """
    policy = ports.policy
    async with ports.uow() as uow:
        now = await uow.now()
        due = await uow.jobs.due_for_dispatch(
            now=now, redispatch_before=now - timedelta(seconds=policy.redispatch_sec)
        )
        prefixes = await uow.tombstones.active(now=now)
        await uow.idempotency.purge_expired(now=now)
        await uow.commit()
    # Never-dispatched jobs are recovery's (it sends them as urgent).
    suspects = [job for job in due if job.dispatched_at is not None]
    await dispatch(ports, suspects)
    purged = 0
    for prefix in prefixes:
        purged += await ports.blobs.delete_prefix(prefix)
    return SweepReport(dispatched=len(suspects), purged_objects=purged)
