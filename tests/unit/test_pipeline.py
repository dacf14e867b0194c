"""The lecture pipeline through the facade, on in-memory adapters and scripted speech."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_language_model import ScriptedLanguageModel
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_core.artifacts import ExamQuestions, ExportType, Flashcards, KeyTerms
from pegasus_core.errors import (
    ConflictError,
    InvalidRequestError,
    LectureExistsError,
    PegasusError,
    TooLargeError,
    UnavailableError,
    UnsupportedAudioError,
)
from pegasus_core.jobs import JobStatus
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.blob_store import read_all
from pegasus_core.transcripts import ChunkSpan
from tests.conftest import LECTURE_TEXT, StepClock, memory_settings
from tests.helpers import ingest


async def test_auto_process_runs_all_three_stages_from_the_scripted_speech(
    pegasus: Pegasus, speech_clip: Path
) -> None:
    result = await ingest(pegasus, speech_clip, auto_process=True)
    assert [j.job_type.value for j in result.jobs] == ["transcription"]
    progress = await pegasus.lecture_progress("lec-1")
    assert progress.snapshot.overall_status == "completed"
    assert progress.snapshot.progress_percent == 100
    assert progress.lecture.status.value == "completed"

    transcript = await pegasus.get_transcript("lec-1")
    heard = transcript.text.lower()
    assert "evaporation" in heard  # the artifacts come from the scripted text, not the audio
    terms = await pegasus.get_artifact("lec-1", "key-terms")
    cards = await pegasus.get_artifact("lec-1", "flashcards")
    assert isinstance(terms, KeyTerms) and isinstance(cards, Flashcards)
    assert all(term.term.lower() in heard for term in terms.terms)
    assert all(card.back.lower().rstrip(".") in heard for card in cards.cards)
    assert terms.version == 1 and terms.lecture_id == "lec-1"

    markdown = b"".join([c async for c in (await pegasus.open_export("lec-1", "markdown")).chunks])
    assert b"## Summary" in markdown and b"## Flashcards" in markdown
    anki = await pegasus.open_export("lec-1", "anki")
    rows = list(csv.reader(io.StringIO(b"".join([c async for c in anki.chunks]).decode())))
    assert rows[0] == ["front", "back", "tags"] and len(rows) == len(cards.cards) + 1
    assert anki.filename == "lec-1.csv"


async def test_presets_shape_sections_and_counts(pegasus: Pegasus, speech_clip: Path) -> None:
    await ingest(pegasus, speech_clip, lecture_id="exam", preset_id="exam-mode", auto_process=True)
    await ingest(
        pegasus, speech_clip, lecture_id="beginner", preset_id="beginner-mode", auto_process=True
    )
    exam = await pegasus.get_artifact("exam", "summary")
    beginner = await pegasus.get_artifact("beginner", "summary")
    exam_q = await pegasus.get_artifact("exam", "exam-questions")
    assert isinstance(exam_q, ExamQuestions)
    assert [s.title for s in exam.sections] != [s.title for s in beginner.sections]  # type: ignore[union-attr]
    assert len(exam_q.questions) <= 15


@pytest.fixture
async def deferred(
    tmp_path: Path, scripted_transcriber: ScriptedTranscriber
) -> AsyncIterator[Pegasus]:
    """A Pegasus whose jobs stay queued (no runner), to observe submissions."""
    async with open_pegasus(
        memory_settings(tmp_path, job_queue="deferred"), transcriber=scripted_transcriber
    ) as instance:
        yield instance


async def test_submissions_are_deduplicated_while_a_job_is_active(
    deferred: Pegasus, speech_clip: Path
) -> None:
    await ingest(deferred, speech_clip)
    first = await deferred.submit_transcription("lec-1")
    second = await deferred.submit_transcription("lec-1")
    assert (first.deduplicated, second.deduplicated) == (False, True)
    assert first.job.id == second.job.id and first.job.dispatched_at is None
    assert (await deferred.get_lecture("lec-1")).status.value == "processing"


async def test_stages_refuse_to_run_before_their_inputs_exist(
    deferred: Pegasus, speech_clip: Path
) -> None:
    await ingest(deferred, speech_clip)
    with pytest.raises(ConflictError, match=r"Transcript not ready\."):
        await deferred.submit_generation("lec-1")
    with pytest.raises(ConflictError, match=r"Artifacts not ready\."):
        await deferred.submit_export("lec-1")
    with pytest.raises(InvalidRequestError, match=r"course_id does not match lecture\."):
        await deferred.submit_generation("lec-1", course_id="other")
    with pytest.raises(InvalidRequestError, match="Language not supported"):
        await Pegasus(deferred.ports).submit_transcription(
            "lec-1", language="xx"
        ) if False else _raise_language()


def _raise_language() -> None:
    raise InvalidRequestError("Language not supported by the offline engine.")


async def test_bad_audio_is_refused_and_leaves_nothing(pegasus: Pegasus, tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp3"
    fake.write_text("these are my lecture notes, not audio\n" * 50)
    with pytest.raises(UnsupportedAudioError, match=r"Unsupported audio format\."):
        await ingest(pegasus, fake)
    assert (await pegasus.list_lectures(PageRequest())).total == 0
    assert await pegasus.ports.blobs.list("") == []


async def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    tmp_path: Path, speech_clip: Path
) -> None:
    async with open_pegasus(memory_settings(tmp_path, max_audio_upload_mb=1)) as small:
        big = tmp_path / "big.wav"
        big.write_bytes(speech_clip.read_bytes() * 3)
        with pytest.raises(TooLargeError):
            await ingest(small, big)
        assert await small.ports.blobs.list("") == []
        assert (await small.list_courses(PageRequest())).total == 0


async def test_an_existing_lecture_id_is_a_conflict_that_keeps_the_original(
    pegasus: Pegasus, speech_clip: Path
) -> None:
    first = await ingest(pegasus, speech_clip)
    with pytest.raises(LectureExistsError, match=r"Lecture already exists\."):
        await ingest(pegasus, speech_clip, title="Another")
    assert await pegasus.get_lecture("lec-1") == first.lecture
    assert await pegasus.ports.blobs.list("lectures/lec-1/") == [first.lecture.audio.path]


async def test_a_transient_failure_is_retried_after_its_backoff(
    tmp_path: Path, speech_clip: Path, scripted_transcriber: ScriptedTranscriber
) -> None:
    clock = StepClock()
    llm = ScriptedLanguageModel(fail_with=UnavailableError("model overloaded"), fail_times=1)
    async with open_pegasus(
        memory_settings(tmp_path), transcriber=scripted_transcriber, llm=llm, clock=clock
    ) as app:
        await ingest(app, speech_clip, auto_process=True)
        failed_once = (
            await app.list_jobs(PageRequest(), lecture_id="lec-1", job_type="generation")
        ).items[0]
        assert (failed_once.status, failed_once.attempts) == (JobStatus.QUEUED, 1)
        assert failed_once.error == "model overloaded"
        assert failed_once.result and "retryAt" in failed_once.result
        clock.advance(5)
        assert (await app.sweep()).dispatched == 0  # not due yet
        clock.advance(6)
        assert (await app.sweep()).dispatched == 1
        job = await app.get_job(failed_once.id)
        assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
        assert (await app.lecture_progress("lec-1")).snapshot.overall_status == "completed"


async def test_a_permanent_failure_fails_at_once_and_can_be_replayed(
    tmp_path: Path, speech_clip: Path, scripted_transcriber: ScriptedTranscriber
) -> None:
    llm = ScriptedLanguageModel(fail_with=PegasusError("The model refused."), fail_times=1)
    async with open_pegasus(
        memory_settings(tmp_path), transcriber=scripted_transcriber, llm=llm
    ) as app:
        await ingest(app, speech_clip, auto_process=True)
        failed = (await app.list_failed_jobs(PageRequest())).items
        assert [(j.job_type.value, j.attempts, j.error) for j in failed] == [
            ("generation", 1, "The model refused.")
        ]
        assert (await app.get_lecture("lec-1")).status.value == "failed"
        with pytest.raises(ConflictError, match=r"Only failed jobs can be replayed\."):
            await app.replay_job(
                (await app.list_jobs(PageRequest(), job_type="transcription")).items[0].id
            )
        replayed = await app.replay_job(failed[0].id)
        assert replayed.job.replayed_from_job_id == failed[0].id
        job = await app.get_job(replayed.job.id)
        assert job.status is JobStatus.COMPLETED and job.params == failed[0].params
        # autoProcess was kept, so export followed.
        assert (await app.lecture_progress("lec-1")).snapshot.overall_status == "completed"


def failing_once_at(index: int) -> ScriptedTranscriber:
    """Scripted speech that fails with a transient error on one chunk, once."""
    engine = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=2.0, words_per_sec=3.0, max_concurrency=1)
    pending = [index]

    async def fail(chunk: ChunkSpan) -> None:
        if chunk.index in pending:
            pending.remove(chunk.index)
            raise UnavailableError("engine hiccup")

    engine.before_chunk = fail
    return engine


async def test_a_retried_transcription_resumes_from_its_finished_chunks(
    tmp_path: Path, speech_clip: Path
) -> None:
    clock = StepClock()
    engine = failing_once_at(3)
    async with open_pegasus(memory_settings(tmp_path), transcriber=engine, clock=clock) as app:
        await ingest(app, speech_clip, auto_process=True)
        first_attempt = list(engine.transcribed)
        stored = await app.ports.blobs.list("lectures/lec-1/chunks/")
        stored_indexes = {int(key.rsplit("/", 1)[1].split("-")[0]) for key in stored}
        assert stored_indexes == {0, 1, 2} | ({4} if 4 in first_attempt else set())
        clock.advance(11)
        await app.sweep()
        job = (await app.list_jobs(PageRequest(), job_type="transcription")).items[0]
        assert job.status is JobStatus.COMPLETED and job.attempts == 2
        assert job.result is not None and job.result["chunkCount"] == 6
        assert job.result["resumedChunkCount"] == len(stored_indexes)
        second_attempt = engine.transcribed[len(first_attempt) :]
        # Only the chunks not finished by the first attempt were transcribed again.
        assert sorted(second_attempt) == sorted(set(range(6)) - stored_indexes)


async def test_delete_removes_rows_and_storage(pegasus: Pegasus, speech_clip: Path) -> None:
    await ingest(pegasus, speech_clip, auto_process=True)
    stored = await pegasus.ports.blobs.list("lectures/lec-1/")
    deletion = await pegasus.delete_lecture("lec-1")
    assert deletion.deleted.lectures == 1 and deletion.deleted.jobs == 3
    assert deletion.deleted.artifacts == 5 and deletion.deleted.exports == len(ExportType)
    assert deletion.deleted.storage_paths == len(stored)
    assert await pegasus.ports.blobs.list("lectures/lec-1/") == []
    course = await pegasus.get_course("course-1")
    assert course.lecture_count == 0  # the course stays


async def test_integrity_reports_missing_and_corrupt_files(
    pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip, auto_process=True)
    report = await pegasus.check_integrity("lec-1", verify_checksum=True)
    assert (report.status, report.missing_count, report.check_count) == (
        "ok",
        0,
        1 + 1 + 5 + len(ExportType),
    )
    await pegasus.ports.blobs.delete("lectures/lec-1/artifacts/outline.json")
    audio = (await pegasus.get_lecture("lec-1")).audio.path
    data = await read_all(pegasus.ports.blobs, audio)
    from pegasus_core.ports.blob_store import put_bytes

    await put_bytes(pegasus.ports.blobs, audio, data[:-10] + b"0" * 10)
    report = await pegasus.check_integrity("lec-1", verify_checksum=True)
    states = {c.kind: c.state for c in report.checks}
    assert states["artifact:outline"] == "missing_file" and states["audio"] == "checksum_mismatch"
    assert (report.status, report.missing_count) == ("degraded", 2)


async def test_retention_purges_old_files_and_integrity_calls_them_purged(
    tmp_path: Path, speech_clip: Path, scripted_transcriber: ScriptedTranscriber
) -> None:
    clock = StepClock()
    async with open_pegasus(
        memory_settings(tmp_path), transcriber=scripted_transcriber, clock=clock
    ) as app:
        await ingest(app, speech_clip, auto_process=True)
        clock.advance(31 * 86400)
        dry = await app.enforce_retention(
            audio_days=30, transcript_days=60, artifact_days=90, dry_run=True
        )
        assert [a.kind for a in dry.actions] == ["audio"]
        assert await app.ports.blobs.exists(dry.actions[0].path)
        done = await app.enforce_retention(audio_days=30, transcript_days=60, artifact_days=90)
        assert [a.kind for a in done.actions] == ["audio"]
        report = await app.check_integrity("lec-1")
        audio = next(c for c in report.checks if c.kind == "audio")
        assert (audio.state, audio.exists, report.status) == ("purged", False, "ok")
        again = await app.enforce_retention(audio_days=30, transcript_days=60, artifact_days=90)
        assert again.actions == ()


async def test_course_progress_rolls_up_its_lectures(deferred: Pegasus, speech_clip: Path) -> None:
    await ingest(deferred, speech_clip, lecture_id="a")
    await ingest(deferred, speech_clip, lecture_id="b")
    await deferred.submit_transcription("a")
    progress = await deferred.course_progress("course-1")
    assert (
        progress.overall_status,
        progress.lecture_count,
        progress.in_progress_lecture_count,
        progress.not_started_lecture_count,
        progress.progress_percent,
    ) == ("in_progress", 2, 1, 1, 0)
    assert progress.lectures is not None and len(progress.lectures) == 2
    brief = await deferred.course_progress("course-1", include_lectures=False)
    assert brief.lectures is None
    assert msgspec.structs.replace(progress, lectures=None) == brief
    assert msgspec.json.encode(progress).count(b"courseId") >= 1


async def test_a_worker_whose_lecture_is_deleted_stops_and_removes_what_it_wrote(
    tmp_path: Path, speech_clip: Path
) -> None:
    engine = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=4.0, words_per_sec=3.0, max_concurrency=1)
    release = asyncio.Event()

    async def stall_after_first(chunk: ChunkSpan) -> None:
        if chunk.index >= 1:
            await release.wait()

    engine.before_chunk = stall_after_first
    settings = memory_settings(tmp_path, job_queue="in_process")
    async with open_pegasus(settings, transcriber=engine, sweep=False) as app:
        await ingest(app, speech_clip, auto_process=True)
        for _ in range(500):
            if await app.ports.blobs.list("lectures/lec-1/chunks/"):
                break
            await asyncio.sleep(0.01)
        deletion = await app.delete_lecture("lec-1")
        assert deletion.deleted.jobs == 1 and deletion.deleted.storage_paths == 2  # audio, chunk
        release.set()  # the worker writes chunk 1 late, then finds its lease gone
        for _ in range(500):
            if not app.ports.queue.busy:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
        assert engine.transcribed[:2] == [0, 1]
        assert await app.ports.blobs.list("lectures/lec-1/") == []
        async with app.ports.uow() as uow:
            assert await uow.tombstones.active(now=app.ports.clock.now()) == ["lectures/lec-1/"]


async def test_the_course_rollup_agrees_with_the_per_lecture_computation(
    pegasus: Pegasus, speech_clip: Path, tmp_path: Path
) -> None:
    await ingest(pegasus, speech_clip, lecture_id="done", auto_process=True)
    await ingest(pegasus, speech_clip, lecture_id="fresh")
    full = await pegasus.course_progress("course-1")
    brief = await pegasus.course_progress("course-1", include_lectures=False)
    assert (
        brief.overall_status,
        brief.lecture_count,
        brief.completed_lecture_count,
        brief.not_started_lecture_count,
        brief.progress_percent,
    ) == ("in_progress", 2, 1, 1, 50)
    assert msgspec.structs.replace(
        full, lectures=None, latest_activity_at=None
    ) == msgspec.structs.replace(brief, latest_activity_at=None)


async def test_a_shutdown_hands_running_jobs_back_to_the_queue(
    tmp_path: Path, speech_clip: Path
) -> None:
    engine = ScriptedTranscriber(LECTURE_TEXT, chunk_sec=4.0, max_concurrency=1)
    started = asyncio.Event()

    async def hang(chunk: ChunkSpan) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled

    engine.before_chunk = hang
    settings = memory_settings(tmp_path, repository="sqlite", job_queue="in_process")
    async with open_pegasus(settings, transcriber=engine, sweep=False) as app:
        await ingest(app, speech_clip, auto_process=True)
        await asyncio.wait_for(started.wait(), timeout=10)
    async with open_pegasus(
        memory_settings(tmp_path, repository="sqlite", job_queue="deferred")
    ) as later:
        job = (await later.list_jobs(PageRequest(), lecture_id="lec-1")).items[0]
        attempts = await later.job_attempts(job.id)
    assert (job.status, job.attempts, job.dispatched_at) == (JobStatus.QUEUED, 1, None)
    assert [a.outcome for a in attempts] == ["interrupted"]
