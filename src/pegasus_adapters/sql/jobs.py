"""Jobs in SQL: dedup by a unique index, conditional claims, lease-fenced writes."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pegasus_adapters.sql.paging import fetch_page_values
from pegasus_adapters.sql.session import (
    SqlSession,
    Values,
    fetch_one,
    from_json,
    numbered,
    required_datetime,
    to_datetime,
    to_json,
)
from pegasus_core.jobs import Job, JobAttempt, JobStatus, JobType, Lease
from pegasus_core.pagination import Page, PageRequest

_FENCE = "id = :id AND status = 'running' AND attempts = :attempt"


_JOB_FIELDS = (
    "id",
    "lecture_id",
    "job_type",
    "status",
    "attempts",
    "max_attempts",
    "params",
    "progress",
    "result",
    "error",
    "request_id",
    "replayed_from_job_id",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "dispatched_at",
    "heartbeat_at",
    "retry_at",
)
# The select list _job reads, in its order: unqualified names for RETURNING and a CTE,
# and under the alias `t` for the paging helpers.
_JOB_COLUMNS = ", ".join(_JOB_FIELDS)
_T_JOB_COLUMNS = ", ".join(f"t.{name}" for name in _JOB_FIELDS)
_JOB_TYPES = {job_type.value: job_type for job_type in JobType}
_JOB_STATUSES = {status.value: status for status in JobStatus}


def _job(row: Values) -> Job:
    """Read a row selected as _JOB_COLUMNS (tuples are built in C; no mapping per row)."""
    (
        job_id,
        lecture_id,
        job_type,
        status,
        attempts,
        max_attempts,
        params,
        progress,
        result,
        error,
        request_id,
        replayed_from_job_id,
        created_at,
        updated_at,
        started_at,
        finished_at,
        dispatched_at,
        heartbeat_at,
        retry_at,
    ) = row
    return Job(
        id=job_id,
        lecture_id=lecture_id,
        job_type=_JOB_TYPES[job_type],
        status=_JOB_STATUSES[status],
        attempts=attempts,
        max_attempts=max_attempts,
        params=from_json(params),
        progress=progress,
        result=from_json(result),
        error=error,
        request_id=request_id,
        replayed_from_job_id=replayed_from_job_id,
        created_at=required_datetime(created_at),
        updated_at=required_datetime(updated_at),
        started_at=to_datetime(started_at),
        finished_at=to_datetime(finished_at),
        dispatched_at=to_datetime(dispatched_at),
        heartbeat_at=to_datetime(heartbeat_at),
        retry_at=to_datetime(retry_at),
    )


def _attempt_tuples(leases: Iterable[Lease]) -> tuple[list[str], dict[str, Any]]:
    """Return `(:jN, CAST(:aN AS INTEGER))` per lease (job id, attempt), and their parameters."""
    tuples: list[str] = []
    params: dict[str, Any] = {}
    for index, lease in enumerate(leases):
        params |= {f"j{index}": lease.job.id, f"a{index}": lease.attempt}
        tuples.append(f":j{index}, CAST(:a{index} AS INTEGER)")
    return tuples, params


class SqlJobRepository:
    """Jobs and attempt records.

    With writable_ctes (Postgres), a claim records its attempts and a completion closes
    them in the same statement; SQLite runs a second statement for each.
    """

    def __init__(self, session: SqlSession, *, writable_ctes: bool = False) -> None:
        self._s = session
        self._writable_ctes = writable_ctes

    async def add(self, job: Job) -> Job:
        # Dedup is the partial unique index: insert-or-nothing, then read the winner. The
        # winner may finish between the two statements, so try again in that case.
        while True:
            inserted = await self._s.execute(
                "INSERT INTO jobs (id, lecture_id, job_type, status, attempts, max_attempts, "
                "params, progress, result, error, request_id, replayed_from_job_id, created_at, "
                "updated_at) VALUES (:id, :lecture_id, :job_type, :status, 0, :max_attempts, "
                ":params, 0, NULL, NULL, :request_id, :replayed_from, :now, :now) "
                "ON CONFLICT DO NOTHING",
                {
                    "id": job.id,
                    "lecture_id": job.lecture_id,
                    "job_type": job.job_type.value,
                    "status": job.status.value,
                    "max_attempts": job.max_attempts,
                    "params": to_json(job.params),
                    "request_id": job.request_id,
                    "replayed_from": job.replayed_from_job_id,
                    "now": job.created_at,
                },
            )
            if inserted:
                return job
            active = await self.find_active(job.lecture_id, job.job_type)
            if active is not None:
                return active

    async def _one(self, sql: str, params: Mapping[str, Any]) -> Job | None:
        rows = await self._s.fetch_values(sql, params)
        return _job(rows[0]) if rows else None

    async def get(self, job_id: str) -> Job | None:
        return await self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = :id", {"id": job_id})

    async def find_active(self, lecture_id: str, job_type: JobType) -> Job | None:
        return await self._one(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE lecture_id = :l AND job_type = :t "
            "AND status IN ('queued', 'running')",
            {"l": lecture_id, "t": job_type.value},
        )

    async def find_replacement(self, job_id: str) -> Job | None:
        return await self._one(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE replayed_from_job_id = :id "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            {"id": job_id},
        )

    async def latest_by_stage(self, lecture_ids: Sequence[str]) -> dict[str, dict[JobType, Job]]:
        latest: dict[str, dict[JobType, Job]] = {lecture_id: {} for lecture_id in lecture_ids}
        if not lecture_ids:
            return latest
        names, values = numbered("l", lecture_ids)
        # One query: every job of the lectures, newest first; the first seen per stage wins.
        rows = await self._s.fetch_values(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE lecture_id IN ({', '.join(names)}) "
            "ORDER BY created_at DESC, id DESC",
            values,
        )
        for job in map(_job, rows):
            latest[job.lecture_id].setdefault(job.job_type, job)
        return latest

    async def list(
        self,
        page: PageRequest,
        *,
        lecture_id: str | None = None,
        status: JobStatus | None = None,
        job_type: JobType | None = None,
    ) -> Page[Job]:
        filters = {
            "lecture_id": lecture_id,
            "status": status.value if status else None,
            "job_type": job_type.value if job_type else None,
        }
        return await fetch_page_values(
            self._s, select=_T_JOB_COLUMNS, table="jobs", filters=filters, page=page, to_record=_job
        )

    async def mark_dispatched(self, jobs: Sequence[Job], *, now: datetime) -> None:
        if not jobs:
            return
        params: dict[str, Any] = {"now": now}
        tuples = []
        for index, job in enumerate(jobs):
            params |= {f"j{index}": job.id, f"a{index}": job.attempts}
            tuples.append(f"(:j{index}, CAST(:a{index} AS INTEGER))")
        # Postgres: rows another transaction holds (a claim) are skipped, never waited for.
        # SQLite has one writer at a time and no row locks.
        ids = ", ".join(f":j{index}" for index in range(len(jobs)))
        free = (
            f"AND id IN (SELECT id FROM jobs WHERE id IN ({ids}) FOR UPDATE SKIP LOCKED) "
            if self._writable_ctes
            else ""
        )
        await self._s.execute(
            "UPDATE jobs SET dispatched_at = :now WHERE status = 'queued' "
            f"{free}AND (id, attempts) IN (VALUES {', '.join(tuples)})",
            params,
        )

    async def claim(
        self, job_ids: Sequence[str], *, worker: str, now: datetime
    ) -> dict[str, Lease]:
        ids = list(dict.fromkeys(job_ids))  # an id given twice is claimed once
        if not ids:
            return {}
        names, values = numbered("j", ids)
        claim = (
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, heartbeat_at = :now, "
            "started_at = :now, updated_at = :now, retry_at = NULL, error = NULL "
            f"WHERE id IN ({', '.join(names)}) AND status = 'queued' "
            f"AND (retry_at IS NULL OR retry_at <= :now) RETURNING {_JOB_COLUMNS}"
        )
        if self._writable_ctes:
            # Postgres locks the rows of a multi-row UPDATE in its plan's scan order: two
            # claim batches sharing ids (duplicate messages) could deadlock. Locked in id
            # order first, they cannot.
            claim = claim.replace(
                f"WHERE id IN ({', '.join(names)})",
                f"WHERE id IN (SELECT id FROM jobs WHERE id IN ({', '.join(names)}) "
                "ORDER BY id FOR UPDATE)",
                1,
            )
        params = {**values, "now": now, "worker": worker}
        if self._writable_ctes:
            rows = await self._s.fetch_values(
                f"WITH claimed AS ({claim}), recorded AS (INSERT INTO job_attempts "
                "(job_id, attempt, worker, started_at) "
                f"SELECT id, attempts, :worker, :now FROM claimed) SELECT {_JOB_COLUMNS} "
                "FROM claimed",
                params,
            )
        else:
            rows = await self._s.fetch_values(claim, params)
        leases = {}
        for row in rows:
            job = _job(row)
            leases[job.id] = Lease(job=job, attempt=job.attempts, worker=worker)
        if leases and not self._writable_ctes:
            tuples, records = _attempt_tuples(leases.values())
            await self._s.execute(
                "INSERT INTO job_attempts (job_id, attempt, worker, started_at) "
                f"VALUES {', '.join(f'({t}, :worker, :now)' for t in tuples)}",
                {**records, "worker": worker, "now": now},
            )
        return leases

    async def heartbeat(self, lease: Lease, *, now: datetime, progress: float | None) -> bool:
        params: dict[str, Any] = {"id": lease.job.id, "attempt": lease.attempt, "now": now}
        progress_sql = ""
        if progress is not None:
            progress_sql = ", progress = :progress"
            params["progress"] = progress
        changed = await self._s.execute(
            f"UPDATE jobs SET heartbeat_at = :now, updated_at = :now{progress_sql} WHERE {_FENCE}",
            params,
        )
        return changed > 0

    async def finish(
        self,
        lease: Lease,
        *,
        status: JobStatus,
        now: datetime,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        finished = status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
        changed = await self._s.execute(
            "UPDATE jobs SET status = :status, result = :result, error = :error, "
            "retry_at = :retry_at, dispatched_at = NULL, updated_at = :now, "
            "finished_at = :finished_at, progress = CASE WHEN :completed THEN 1 ELSE progress END "
            f"WHERE {_FENCE}",
            {
                "id": lease.job.id,
                "attempt": lease.attempt,
                "status": status.value,
                "result": None if result is None else to_json(result),
                "error": error,
                "retry_at": retry_at,
                "now": now,
                "finished_at": now if finished else None,
                "completed": status is JobStatus.COMPLETED,
            },
        )
        return changed > 0

    async def complete(
        self, results: Sequence[tuple[Lease, Mapping[str, Any]]], *, now: datetime
    ) -> set[str]:
        if not results:
            return set()
        params: dict[str, Any] = {"now": now}
        tuples = []
        for index, (lease, result) in enumerate(results):
            params |= {
                f"j{index}": lease.job.id,
                f"a{index}": lease.attempt,
                f"r{index}": to_json(result),
            }
            tuples.append(f"(:j{index}, CAST(:a{index} AS INTEGER), :r{index})")
        # One fenced statement for the whole batch: each row matches only while its lease
        # still holds (running, same attempt).
        complete = (
            "UPDATE jobs SET status = 'completed', result = v.column3, error = NULL, "
            "retry_at = NULL, dispatched_at = NULL, updated_at = :now, finished_at = :now, "
            f"progress = 1 FROM (VALUES {', '.join(tuples)}) AS v "
            "WHERE jobs.id = v.column1 AND jobs.status = 'running' "
            "AND jobs.attempts = v.column2 RETURNING id, attempts"
        )
        if self._writable_ctes:
            rows = await self._s.fetch(
                f"WITH done AS ({complete}), "
                "closed AS (UPDATE job_attempts SET ended_at = :now, outcome = 'completed' "
                "FROM done WHERE job_attempts.job_id = done.id "
                "AND job_attempts.attempt = done.attempts AND job_attempts.ended_at IS NULL) "
                "SELECT id FROM done",
                params,
            )
            return {row["id"] for row in rows}
        rows = await self._s.fetch(complete, params)
        kept = {row["id"] for row in rows}
        await self.end_attempts(
            [lease for lease, _ in results if lease.job.id in kept], outcome="completed", now=now
        )
        return kept

    async def end_attempts(self, leases: Sequence[Lease], *, outcome: str, now: datetime) -> None:
        if not leases:
            return
        tuples, params = _attempt_tuples(leases)
        await self._s.execute(
            "UPDATE job_attempts SET ended_at = :now, outcome = :outcome "
            "WHERE ended_at IS NULL AND (job_id, attempt) IN "
            f"(VALUES {', '.join(f'({t})' for t in tuples)})",
            {**params, "now": now, "outcome": outcome},
        )

    async def take_back_stale(self, *, stale_before: datetime, now: datetime) -> builtins.list[Job]:
        stale = "status = 'running' AND heartbeat_at < :stale_before"
        if self._writable_ctes:
            # Postgres: a row another transaction holds (the other processes' sweeps take
            # back the same rows at the same moment) is skipped, never waited for: that
            # sweep takes it back, and this one does not queue behind its transaction.
            stale = f"id IN (SELECT id FROM jobs WHERE {stale} FOR UPDATE SKIP LOCKED)"
        rows = await self._s.fetch_values(
            "UPDATE jobs SET "
            "status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, "
            "error = CASE WHEN attempts >= max_attempts THEN 'Worker lost.' ELSE error END, "
            "finished_at = CASE WHEN attempts >= max_attempts THEN :now ELSE NULL END, "
            f"dispatched_at = NULL, updated_at = :now WHERE {stale} RETURNING {_JOB_COLUMNS}",
            {"stale_before": stale_before, "now": now},
        )
        jobs = [_job(row) for row in rows]
        for job in jobs:
            await self._s.execute(
                "UPDATE job_attempts SET ended_at = :now, outcome = 'lost', "
                "last_heartbeat_at = :heartbeat "
                "WHERE job_id = :id AND attempt = :attempt AND ended_at IS NULL",
                {"id": job.id, "attempt": job.attempts, "now": now, "heartbeat": job.heartbeat_at},
            )
        return jobs

    async def oldest_heartbeat(self) -> datetime | None:
        rows = await self._s.fetch(
            "SELECT MIN(heartbeat_at) AS oldest FROM jobs WHERE status = 'running'"
        )
        return to_datetime(rows[0]["oldest"])

    async def due_for_dispatch(
        self, *, now: datetime, redispatch_before: datetime, limit: int = 100
    ) -> builtins.list[Job]:
        rows = await self._s.fetch_values(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE status = 'queued' "
            "AND (retry_at IS NULL OR retry_at <= :now) "
            "AND (dispatched_at IS NULL OR dispatched_at < :redispatch_before) "
            # Recoveries (never dispatched: taken back, retries due) before lost messages:
            # with a backlog older than the redispatch delay, every queued job is a
            # suspect, and the limit must not leave a taken-back job behind them.
            "ORDER BY (dispatched_at IS NOT NULL), created_at, id LIMIT :limit",
            {"now": now, "redispatch_before": redispatch_before, "limit": limit},
        )
        return [_job(row) for row in rows]

    async def attempts(self, job_id: str) -> builtins.list[JobAttempt]:
        rows = await self._s.fetch(
            "SELECT * FROM job_attempts WHERE job_id = :id ORDER BY attempt", {"id": job_id}
        )
        return [
            JobAttempt(
                job_id=row["job_id"],
                attempt=row["attempt"],
                worker=row["worker"],
                started_at=required_datetime(row["started_at"]),
                ended_at=to_datetime(row["ended_at"]),
                outcome=row["outcome"],
                last_heartbeat_at=to_datetime(row["last_heartbeat_at"]),
            )
            for row in rows
        ]

    async def delete_for_lecture(self, lecture_id: str) -> int:
        await self._s.execute(
            "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE lecture_id = :l)",
            {"l": lecture_id},
        )
        return await self._s.execute("DELETE FROM jobs WHERE lecture_id = :l", {"l": lecture_id})

    async def has_active(self, lecture_id: str) -> bool:
        row = await fetch_one(
            self._s,
            "SELECT 1 AS one FROM jobs WHERE lecture_id = :l AND status IN ('queued', 'running') "
            "LIMIT 1",
            {"l": lecture_id},
        )
        return row is not None

    async def count_by_status(self) -> dict[tuple[str, str], int]:
        rows = await self._s.fetch(
            "SELECT job_type, status, COUNT(*) AS n FROM jobs GROUP BY job_type, status"
        )
        return {(row["job_type"], row["status"]): int(row["n"]) for row in rows}
