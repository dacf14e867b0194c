"""The repository contract, run against every unit-of-work adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pegasus_core.artifacts import ArtifactRecord, ArtifactType
from pegasus_core.errors import LectureExistsError
from pegasus_core.jobs import Job, JobStatus, JobType, Lease
from pegasus_core.lectures import AudioRef, Lecture, LectureProgress, LectureStatus, SourceType
from pegasus_core.pagination import PageRequest
from pegasus_core.ports.repository import UnitOfWork, UnitOfWorkFactory
from pegasus_core.threads import Thread, ThreadEvolution

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def lecture(
    lecture_id: str,
    *,
    course_id: str = "c1",
    at: datetime = T0,
    status: LectureStatus = LectureStatus.UPLOADED,
) -> Lecture:
    return Lecture(
        id=lecture_id,
        course_id=course_id,
        preset_id="exam-mode",
        title=f"Lecture {lecture_id}",
        status=status,
        duration_sec=12.5,
        source_type=SourceType.UPLOAD,
        audio=AudioRef(
            path=f"lectures/{lecture_id}/audio.mp3",
            original_filename="a.mp3",
            content_type="audio/mpeg",
            size_bytes=10,
            sha256="ab" * 32,
        ),
        transcript_path=None,
        created_at=at,
        updated_at=at,
    )


def job(
    job_id: str,
    lecture_id: str = "l1",
    job_type: JobType = JobType.TRANSCRIPTION,
    at: datetime = T0,
    max_attempts: int = 3,
) -> Job:
    return Job(
        id=job_id,
        lecture_id=lecture_id,
        job_type=job_type,
        max_attempts=max_attempts,
        params={"autoProcess": True},
        created_at=at,
        updated_at=at,
    )


async def seed(uow_factory: UnitOfWorkFactory, *lectures: Lecture) -> None:
    async with uow_factory() as uow:
        for item in lectures:
            await uow.courses.ensure(item.course_id, title="Course", now=T0)
            await uow.lectures.add(item)
        await uow.commit()


async def test_uncommitted_work_is_rolled_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.courses.ensure("c1", title="Course", now=T0)
        await uow.lectures.add(lecture("l1"))
    async with uow_factory(read_only=True) as uow:
        assert await uow.lectures.get("l1") is None
        assert await uow.courses.get("c1") is None


async def test_an_error_inside_the_block_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.courses.ensure("c1", title="Course", now=T0)
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.courses.get("c1") is None


async def test_a_lecture_round_trips_and_its_id_is_unique(uow_factory: UnitOfWorkFactory) -> None:
    original = lecture("l1")
    await seed(uow_factory, original)
    async with uow_factory() as uow:
        assert await uow.lectures.get("l1") == original
        with pytest.raises(LectureExistsError):
            await uow.lectures.add(original)


async def test_ensure_course_never_changes_an_existing_title(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.courses.ensure("c1", title="First", now=T0)
        course = await uow.courses.ensure("c1", title="Second", now=T0 + timedelta(1))
        await uow.commit()
    assert course.title == "First"
    assert course.created_at == T0


async def test_a_course_exists_once_ensured_and_no_longer_once_deleted(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert not await uow.courses.exists("c1")
        await uow.courses.ensure("c1", title="Course", now=T0)
        assert await uow.courses.exists("c1") and not await uow.courses.exists("c2")
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.courses.exists("c1")
    async with uow_factory() as uow:
        assert await uow.courses.delete("c1")
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert not await uow.courses.exists("c1")


async def test_lists_are_newest_first_with_ties_broken_by_id_and_exact_totals(
    uow_factory: UnitOfWorkFactory,
) -> None:
    items = [lecture(f"l{i}", at=T0 + timedelta(seconds=i // 2)) for i in range(7)]
    await seed(uow_factory, *items)
    async with uow_factory(read_only=True) as uow:
        first = await uow.lectures.list(PageRequest(limit=3, offset=0))
        rest = await uow.lectures.list(PageRequest(limit=10, offset=3))
        past_end = await uow.lectures.list(PageRequest(limit=10, offset=50))
    ids = [x.id for x in first.items] + [x.id for x in rest.items]
    assert ids == ["l6", "l5", "l4", "l3", "l2", "l1", "l0"]
    assert first.total == rest.total == past_end.total == 7
    assert past_end.items == []


async def test_list_filters_combine(uow_factory: UnitOfWorkFactory) -> None:
    await seed(
        uow_factory,
        lecture("a", course_id="c1"),
        lecture("b", course_id="c2"),
        lecture("c", course_id="c2", status=LectureStatus.FAILED),
    )
    async with uow_factory(read_only=True) as uow:
        page = await uow.lectures.list(PageRequest(), course_id="c2", status=LectureStatus.FAILED)
        courses = await uow.courses.list(PageRequest())
    assert [x.id for x in page.items] == ["c"]
    assert {c.id: c.lecture_count for c in courses.items} == {"c1": 1, "c2": 2}


async def test_one_active_job_per_lecture_and_stage(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.jobs.add(job("j1"))
        second = await uow.jobs.add(job("j2"))
        other_stage = await uow.jobs.add(job("j3", job_type=JobType.GENERATION))
        await uow.commit()
    assert first.id == second.id == "j1"
    assert other_stage.id == "j3"


async def test_concurrent_submissions_create_exactly_one_job(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def submit(index: int) -> str:
        async with uow_factory() as uow:
            stored = await uow.jobs.add(job(f"j{index}"))
            await uow.commit()
            return stored.id

    ids = await asyncio.gather(*(submit(i) for i in range(50)))
    assert len(set(ids)) == 1
    async with uow_factory(read_only=True) as uow:
        assert (await uow.jobs.list(PageRequest(), lecture_id="l1")).total == 1


async def claim_one(uow: UnitOfWork, job_id: str, *, worker: str, now: datetime) -> Lease | None:
    return (await uow.jobs.claim([job_id], worker=worker, now=now)).get(job_id)


async def test_a_claim_is_conditional_and_its_attempt_is_the_lease(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.jobs.add(job("j1"))
        lease = await claim_one(uow, "j1", worker="w1", now=T0)
        again = await claim_one(uow, "j1", worker="w2", now=T0)
        await uow.commit()
    assert lease is not None and lease.attempt == 1 and lease.job.status is JobStatus.RUNNING
    assert again is None
    async with uow_factory() as uow:
        assert await uow.jobs.heartbeat(lease, now=T0 + timedelta(seconds=1), progress=0.5)
        assert await uow.jobs.finish(
            lease, status=JobStatus.COMPLETED, now=T0, result={"segmentCount": 3}
        )
        # The lease is spent: nothing more can be written with it.
        assert not await uow.jobs.heartbeat(lease, now=T0, progress=None)
        await uow.commit()
        stored = await uow.jobs.get("j1")
    assert stored is not None and stored.progress == 1.0 and stored.result == {"segmentCount": 3}


async def test_stale_jobs_are_taken_back_and_the_old_lease_is_fenced_off(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.jobs.add(job("j1", max_attempts=2))
        lease1 = await claim_one(uow, "j1", worker="w1", now=T0)
        await uow.commit()
    assert lease1 is not None
    async with uow_factory() as uow:
        fresh = await uow.jobs.take_back_stale(stale_before=T0 - timedelta(seconds=1), now=T0)
        taken = await uow.jobs.take_back_stale(
            stale_before=T0 + timedelta(seconds=30), now=T0 + timedelta(seconds=31)
        )
        await uow.commit()
    assert fresh == [] and [j.status for j in taken] == [JobStatus.QUEUED]
    async with uow_factory() as uow:
        lease2 = await claim_one(uow, "j1", worker="w2", now=T0 + timedelta(seconds=32))
        assert lease2 is not None and lease2.attempt == 2
        assert not await uow.jobs.heartbeat(lease1, now=T0, progress=0.9)
        assert not await uow.jobs.finish(lease1, status=JobStatus.COMPLETED, now=T0)
        lost = await uow.jobs.take_back_stale(
            stale_before=T0 + timedelta(seconds=90), now=T0 + timedelta(seconds=91)
        )
        await uow.commit()
        attempts = await uow.jobs.attempts("j1")
    assert [(j.status, j.error) for j in lost] == [(JobStatus.FAILED, "Worker lost.")]
    assert [(a.attempt, a.worker, a.outcome) for a in attempts] == [
        (1, "w1", "lost"),
        (2, "w2", "lost"),
    ]


async def test_the_oldest_running_heartbeat_says_when_a_job_can_next_turn_stale(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for name in ("a", "b", "c"):
            await uow.jobs.add(job(name, lecture_id=f"l-{name}"))
        assert await uow.jobs.oldest_heartbeat() is None  # nothing runs
        a = await claim_one(uow, "a", worker="w1", now=T0)
        b = await claim_one(uow, "b", worker="w1", now=T0 + timedelta(seconds=2))
        await uow.commit()
    assert a is not None and b is not None
    async with uow_factory() as uow:
        assert await uow.jobs.oldest_heartbeat() == T0
        assert await uow.jobs.heartbeat(a, now=T0 + timedelta(seconds=3), progress=None)
        assert await uow.jobs.oldest_heartbeat() == T0 + timedelta(seconds=2)
        assert await uow.jobs.finish(b, status=JobStatus.COMPLETED, now=T0)
        # Only running jobs count: a finished job's old heartbeat is no one's.
        assert await uow.jobs.oldest_heartbeat() == T0 + timedelta(seconds=3)
        await uow.commit()


async def test_claims_completions_and_attempts_go_in_batches_each_fenced(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for name in ("a", "b", "c", "d"):
            await uow.jobs.add(job(name, lecture_id=f"l-{name}"))
        assert await claim_one(uow, "d", worker="w0", now=T0) is not None
        leases = await uow.jobs.claim(["a", "b", "a", "c", "d", "none"], worker="w1", now=T0)
        await uow.commit()
    # An id given twice is claimed once; one already running or unknown is left out.
    assert sorted(leases) == ["a", "b", "c"]
    assert {lease.attempt for lease in leases.values()} == {1}
    async with uow_factory() as uow:
        taken = await uow.jobs.take_back_stale(
            stale_before=T0 + timedelta(seconds=30), now=T0 + timedelta(seconds=31)
        )
        assert sorted(j.id for j in taken) == ["a", "b", "c", "d"]
        again = await claim_one(uow, "b", worker="w2", now=T0 + timedelta(seconds=32))
        assert again is not None and again.attempt == 2
        await uow.commit()
    async with uow_factory() as uow:
        # b's first lease is spent (attempt 2 holds it); a's and c's leases were taken back
        # too, so only the second lease of b can complete.
        kept = await uow.jobs.complete(
            [(leases["a"], {"n": 1}), (leases["b"], {"n": 2}), (again, {"n": 3})],
            now=T0 + timedelta(seconds=40),
        )
        await uow.commit()
        stored = await uow.jobs.get("b")
        attempts = await uow.jobs.attempts("b")
    assert kept == {"b"}
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert stored.result == {"n": 3} and stored.progress == 1.0
    assert [(a.attempt, a.worker, a.outcome) for a in attempts] == [
        (1, "w1", "lost"),
        (2, "w2", "completed"),
    ]


async def test_due_for_dispatch_covers_undispatched_retries_and_lost_messages(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.jobs.add(job("never", lecture_id="a"))
        await uow.jobs.add(job("recent", lecture_id="b"))
        await uow.jobs.mark_dispatched([job("recent", lecture_id="b")], now=T0)
        # The oldest job, but a lost message's suspect: it goes after the recoveries.
        await uow.jobs.add(job("old", lecture_id="c", at=T0 - timedelta(minutes=10)))
        await uow.jobs.mark_dispatched([job("old", lecture_id="c")], now=T0 - timedelta(minutes=5))
        await uow.jobs.add(job("later", lecture_id="d"))
        lease = await claim_one(uow, "later", worker="w", now=T0)
        assert lease is not None
        await uow.jobs.finish(
            lease,
            status=JobStatus.QUEUED,
            now=T0,
            retry_at=T0 + timedelta(seconds=60),
            error="flaky",
        )
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        now_due = await uow.jobs.due_for_dispatch(
            now=T0, redispatch_before=T0 - timedelta(minutes=2)
        )
        later_due = await uow.jobs.due_for_dispatch(
            now=T0 + timedelta(seconds=61), redispatch_before=T0 - timedelta(minutes=2)
        )
        blocked = await claim_one(uow, "later", worker="w", now=T0 + timedelta(seconds=1))
    assert [j.id for j in now_due] == ["never", "old"]
    # Never dispatched (taken back, retries due, never sent) first, then lost messages.
    assert [j.id for j in later_due] == ["later", "never", "old"]
    assert blocked is None


async def test_latest_by_stage_picks_the_newest_job_of_each_stage(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        first = await uow.jobs.add(job("t1", at=T0))
        lease = await claim_one(uow, first.id, worker="w", now=T0)
        assert lease is not None
        await uow.jobs.finish(lease, status=JobStatus.FAILED, now=T0, error="bad")
        await uow.jobs.add(job("t2", at=T0 + timedelta(seconds=5)))
        await uow.jobs.add(job("g1", job_type=JobType.GENERATION, at=T0))
        await uow.commit()
        latest = await uow.jobs.latest_by_stage(["l1", "nobody"])
    assert {t: j.id for t, j in latest["l1"].items()} == {
        JobType.TRANSCRIPTION: "t2",
        JobType.GENERATION: "g1",
    }
    assert latest["nobody"] == {}


async def test_regenerating_an_artifact_replaces_it_and_bumps_its_version(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def record(artifact_id: str) -> ArtifactRecord:
        return ArtifactRecord(
            id=artifact_id,
            lecture_id="l1",
            artifact_type=ArtifactType.SUMMARY,
            preset_id="exam-mode",
            version=0,
            storage_path="lectures/l1/artifacts/summary.json",
            sha256="00",
            created_at=T0,
        )

    async with uow_factory() as uow:
        one = await uow.artifacts.put(record("a1"))
        two = await uow.artifacts.put(record("a2"))
        await uow.commit()
        page = await uow.artifacts.list(PageRequest(), lecture_id="l1")
    assert (one.version, two.version) == (1, 2)
    assert [(r.id, r.version) for r in page.items] == [("a2", 2)]


async def test_removing_a_lecture_from_threads_deletes_emptied_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def thread(thread_id: str, refs: tuple[str, ...]) -> Thread:
        return Thread(
            id=thread_id,
            course_id="c1",
            title=thread_id,
            summary="s",
            status="foundational",
            complexity_level=1,
            lecture_refs=refs,
            evolution=tuple(
                ThreadEvolution(lecture_id=r, change_type="introduced", note="n") for r in refs
            ),
            created_at=T0,
            updated_at=T0,
        )

    async with uow_factory() as uow:
        await uow.threads.put(thread("shared", ("l1", "l2")))
        await uow.threads.put(thread("alone", ("l1",)))
        await uow.threads.put(thread("other", ("l10",)))
        changed = await uow.threads.remove_lecture("l1", now=T0)
        await uow.commit()
        left = await uow.threads.for_course("c1")
    assert changed == 2
    assert {t.id: t.lecture_refs for t in left} == {"shared": ("l2",), "other": ("l10",)}


async def test_tombstones_expire(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.tombstones.add("lectures/a/", until=T0 + timedelta(hours=1))
        await uow.tombstones.add("lectures/b/", until=T0 - timedelta(seconds=1))
        assert await uow.tombstones.active(now=T0) == ["lectures/a/"]
        await uow.tombstones.clear("lectures/a/")
        assert await uow.tombstones.active(now=T0) == []


async def test_idempotency_keys_reserve_once_replay_release_and_expire(
    uow_factory: UnitOfWorkFactory,
) -> None:
    from pegasus_core.idempotency import KeyState, StoredResponse

    later = T0 + timedelta(hours=1)
    response = StoredResponse(
        fingerprint="f", status_code=202, content_type="application/json", body=b'{"jobId":"j"}'
    )
    async with uow_factory() as uow:
        keys = uow.idempotency
        assert await keys.reserve("s", "k", now=T0, expires_at=later) is None
        held = await keys.reserve("s", "k", now=T0, expires_at=later)
        assert held is not None and held.state is KeyState.IN_PROGRESS
        assert await keys.reserve("other-scope", "k", now=T0, expires_at=later) is None
        await keys.complete("s", "k", response)
        done = await keys.reserve("s", "k", now=T0, expires_at=later)
        assert done is not None and done.response == response
        await keys.release("s", "k")  # a completed key is kept
        assert await keys.reserve("s", "k", now=T0, expires_at=later) is not None
        await keys.release("other-scope", "k")
        assert await keys.reserve("other-scope", "k", now=T0, expires_at=later) is None
        assert await keys.reserve("s", "k", now=later, expires_at=later + timedelta(1)) is None
        assert await keys.purge_expired(now=later + timedelta(days=2)) == 2
        await uow.commit()


async def test_list_totals_follow_inserts_status_changes_and_deletes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, lecture("a"), lecture("b"), lecture("c", course_id="c2"))

    async def totals() -> tuple[int, ...]:
        async with uow_factory(read_only=True) as uow:
            pages = [
                await uow.lectures.list(PageRequest()),
                await uow.lectures.list(PageRequest(), course_id="c1"),
                await uow.lectures.list(PageRequest(), status=LectureStatus.FAILED),
                await uow.lectures.list(
                    PageRequest(),
                    course_id="c1",
                    preset_id="exam-mode",
                    status=LectureStatus.UPLOADED,
                ),
            ]
            courses = {c.id: c.lecture_count for c in (await uow.courses.list(PageRequest())).items}
        return (*(p.total for p in pages), courses["c1"], courses["c2"])

    assert await totals() == (3, 2, 0, 2, 2, 1)
    async with uow_factory() as uow:
        await uow.lectures.update("a", now=T0, status=LectureStatus.FAILED.value)
        await uow.lectures.update("b", now=T0, transcript_path="x")  # status unchanged
        await uow.lectures.delete("c")
        await uow.commit()
    assert await totals() == (2, 2, 1, 1, 2, 0)


async def test_progress_of_several_lectures_is_stored_at_once_and_counted(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, lecture("a"), lecture("b"), lecture("c"))
    async with uow_factory() as uow:
        await uow.lectures.set_progress(
            [
                LectureProgress(
                    lecture_id="a", status="failed", overall_status="failed", progress_percent=30
                ),
                LectureProgress(
                    lecture_id="c",
                    status="transcribed",
                    overall_status="in_progress",
                    progress_percent=33,
                ),
                LectureProgress(
                    lecture_id="gone", status="failed", overall_status="failed", progress_percent=0
                ),
            ],
            now=T0 + timedelta(hours=1),
        )
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        found = await uow.lectures.get_many(["a", "b", "c", "gone"])
        failed = await uow.lectures.list(PageRequest(), status=LectureStatus.FAILED)
        rollup = await uow.lectures.rollup("c1")
    assert sorted(found) == ["a", "b", "c"]
    assert [found[i].status for i in "abc"] == [
        LectureStatus.FAILED,
        LectureStatus.UPLOADED,
        LectureStatus.TRANSCRIBED,
    ]
    assert found["a"].updated_at == T0 + timedelta(hours=1) and found["b"].updated_at == T0
    assert failed.total == 1 and [lec.id for lec in failed.items] == ["a"]
    assert rollup.counts == {"failed": 1, "not_started": 1, "in_progress": 1}
    assert rollup.percent_sum == 63


async def test_the_database_clock_is_timezone_aware_utc(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory(read_only=True) as uow:
        first = await uow.now()
        second = await uow.now()
    assert first.utcoffset() == timedelta(0) and second >= first
