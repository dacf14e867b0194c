"""Course threads: the pure merge rules, and lectures of a course run through generation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_core.jobs import JobStatus
from pegasus_core.threads import Concept, Thread, merge_concepts, without_lecture
from tests.conftest import memory_settings
from tests.helpers import ingest
from tests.thread_lectures import TOPICS, assert_one_thread, lecture_text, seed_transcript

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fold(threads: list[Thread], lecture_id: str, *concepts: Concept) -> list[Thread]:
    changed = {
        t.id: t
        for t in merge_concepts(threads, concepts, course_id="c", lecture_id=lecture_id, now=NOW)
    }
    return [changed.pop(t.id, t) for t in threads] + list(changed.values())


def test_a_concept_seen_again_refines_its_thread_and_a_new_one_starts_another() -> None:
    threads = fold([], "l1", Concept(title="Entropy", summary="disorder", complexity_level=1))
    assert [(t.title, t.lecture_refs) for t in threads] == [("Entropy", ("l1",))]
    threads = fold(
        threads,
        "l2",
        Concept(title="entropy", summary="spread", change_type="introduced"),  # same key
        Concept(title="Heat engines", summary="work from heat", complexity_level=3),
    )
    entropy, engines = threads
    assert entropy.lecture_refs == ("l1", "l2")
    assert [e.change_type for e in entropy.evolution] == ["introduced", "refinement"]
    assert (engines.status, engines.complexity_level) == ("advanced", 3)
    threads = fold(
        threads,
        "l3",
        Concept(title="x", summary="y", thread_id=entropy.id, change_type="complexity"),
    )
    assert threads[0].complexity_level == 2 and threads[0].evolution[-1].change_type == "complexity"


def test_a_lecture_lands_once_in_a_thread_and_regenerating_it_replaces_its_entry() -> None:
    twice = [Concept(title="Entropy", summary="a"), Concept(title="ENTROPY!", summary="b")]
    threads = fold([], "l1", *twice)
    threads = fold(threads, "l2", Concept(title="Entropy", summary="c"))
    again = fold(without_lecture(threads, "l2"), "l2", Concept(title="Entropy", summary="d"))
    assert len(again) == 1 and again[0].lecture_refs == ("l1", "l2")
    assert [e.note for e in again[0].evolution] == ["a", "d"]
    assert without_lecture(fold([], "l9", twice[0]), "l9") == []


async def test_one_concept_in_five_lectures_makes_one_thread_with_one_entry_per_lecture(
    tmp_path: Path, speech_clip: Path
) -> None:
    async with open_pegasus(memory_settings(tmp_path)) as app:
        lectures = [f"lec-{i}" for i in range(len(TOPICS))]
        for index, lecture_id in enumerate(lectures):
            await ingest(app, speech_clip, lecture_id=lecture_id, course_id="physics")
            await seed_transcript(app, lecture_id, lecture_text(index))
            submitted = await app.submit_generation(lecture_id)
            assert (await app.get_job(submitted.job.id)).status is JobStatus.COMPLETED
        await app.submit_generation("lec-2")  # regenerating changes no counts
        await assert_one_thread(app, "physics", lectures)
        deletion = await app.delete_lecture("lec-0")
        assert deletion.deleted.threads_updated >= 1
        await assert_one_thread(app, "physics", lectures[1:])
