"""Lectures of one course that share a planted concept, with their transcripts stored directly."""

from __future__ import annotations

import msgspec

from pegasus_core.lectures import transcript_key
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.blob_store import put_bytes
from pegasus_core.threads import concept_key
from pegasus_core.transcripts import Engine, Segment, Transcript

PLANTED = "entropy"
TOPICS = [
    ("heat engines", "A heat engine turns a flow of heat into useful work."),
    ("phase changes", "Melting ice absorbs heat while its temperature stays the same."),
    ("black holes", "A black hole swallows matter and grows its horizon area."),
    ("information theory", "A message carries information when it removes uncertainty."),
    ("living cells", "A living cell keeps its order by exporting heat to its surroundings."),
]


def lecture_text(index: int) -> str:
    """Return a lecture on its own topic that defines and keeps returning to the concept."""
    topic, line = TOPICS[index]
    return (
        f"Today we study {topic}. {line} Entropy is a measure of how spread out energy is. "
        f"In {topic} the entropy of the whole system never goes down. {line} "
        f"We will follow entropy through {topic} again and again. "
    ) * 3


async def seed_transcript(app: Pegasus, lecture_id: str, text: str) -> None:
    """Store a transcript for an ingested lecture, as a finished transcription would."""
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    segments = tuple(
        Segment(start_sec=4.0 * i, end_sec=4.0 * i + 3.5, text=s) for i, s in enumerate(sentences)
    )
    transcript = Transcript(
        lecture_id=lecture_id,
        language="en",
        engine=Engine(provider="scripted", model="scripted"),
        text=" ".join(sentences),
        segments=segments,
    )
    key = transcript_key(lecture_id)
    ports = app.ports
    await put_bytes(ports.blobs, key, msgspec.json.encode(transcript))
    async with ports.uow() as uow:
        now = ports.clock.now()
        await uow.lectures.update(
            lecture_id, now=now, transcript_path=key, transcript_created_at=now
        )
        await uow.commit()


async def assert_one_thread(app: Pegasus, course_id: str, lectures: list[str]) -> None:
    threads = (await app.list_threads(course_id, PageRequest(limit=500))).items
    planted = [t for t in threads if concept_key(t.title) == PLANTED]
    assert len(planted) == 1, [t.title for t in threads]
    thread = planted[0]
    assert sorted(thread.lecture_refs) == sorted(lectures)
    assert sorted(e.lecture_id for e in thread.evolution) == sorted(lectures)
    first = thread.evolution[0]
    assert first.change_type == "introduced"
    assert all(e.change_type != "introduced" for e in thread.evolution[1:])
    for lecture_id in lectures:
        summary = await app.get_artifact(lecture_id, "summary")
        assert thread.id in summary.thread_refs
