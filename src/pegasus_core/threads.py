"""Course threads: a concept followed across the lectures of a course."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from pegasus_core.records import Record

ChangeType = Literal["introduced", "refinement", "contradiction", "complexity"]


class ThreadEvolution(Record, frozen=True, kw_only=True):
    """How one lecture changed a thread."""

    lecture_id: str
    change_type: ChangeType
    note: str


class Thread(Record, frozen=True, kw_only=True):
    """A concept that runs through several lectures of a course."""

    id: str
    course_id: str
    title: str
    summary: str
    status: Literal["foundational", "advanced"]
    complexity_level: int
    lecture_refs: tuple[str, ...]
    evolution: tuple[ThreadEvolution, ...]
    created_at: datetime
    updated_at: datetime


class Concept(Record, frozen=True, kw_only=True):
    """A concept of one lecture, as an engine matched it against the course's threads.

    thread_id names the existing thread it continues (None: a concept new to the course);
    change_type says how this lecture changes that thread.
    """

    title: str
    summary: str
    complexity_level: int = 1
    thread_id: str | None = None
    change_type: ChangeType = "introduced"
    note: str = ""


def concept_key(title: str) -> str:
    """Return the normalised form under which two titles name the same concept."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def thread_id_for(course_id: str, title: str) -> str:
    """Return the id of the course's thread for a concept title.

    Derived, not drawn: two lectures of a course that introduce the same concept at once agree
    on the thread's id before either commits, so their artifacts' threadRefs stay valid.
    """
    digest = hashlib.sha256(f"{course_id}\x00{concept_key(title)}".encode()).hexdigest()
    return f"thread-{digest[:24]}"


def resolve_thread_ids(
    concepts: Sequence[Concept], threads: Sequence[Thread], *, course_id: str
) -> tuple[str, ...]:
    """Return the id of the thread each concept lands in (one entry per concept, in order).

    A concept goes to the thread it names (recreated under that id if it went meanwhile), else
    to the thread with the same concept key, else to a new thread whose id derives from its
    title. The answer is the same before and under the course lock unless a thread was
    renamed meanwhile, so artifacts can carry the ids before the completing transaction.
    """
    by_key = {concept_key(t.title): t.id for t in threads}
    ids = []
    for concept in concepts:
        if concept.thread_id is not None:
            ids.append(concept.thread_id)
        else:
            key = concept_key(concept.title)
            ids.append(by_key.get(key) or thread_id_for(course_id, concept.title))
    return tuple(ids)


def _level(value: int) -> int:
    return min(5, max(1, value))


def merge_concepts(
    threads: Sequence[Thread],
    concepts: Sequence[Concept],
    *,
    course_id: str,
    lecture_id: str,
    now: datetime,
) -> list[Thread]:
    """Fold one lecture's concepts into the course's threads; return the threads to store.

    - `threads` must be read under the course lock and already exclude this lecture (a
      regenerated lecture's old contributions are removed first), so each thread gets at most
      one evolution entry and one ref per lecture.
    - A concept names its thread through resolve_thread_ids; the first concept of the lecture
      that lands in a thread wins, later ones landing there are dropped.
    - A new thread starts with an "introduced" entry; an existing one never gets "introduced"
      again (it becomes a refinement). A complexity change raises the thread's level.
    - status is "advanced" from complexity level 3, else "foundational".
    """
    current = {t.id: t for t in threads}
    changed: dict[str, Thread] = {}
    targets = resolve_thread_ids(concepts, threads, course_id=course_id)
    for concept, thread_id in zip(concepts, targets, strict=True):
        if thread_id in changed:
            continue
        level = _level(concept.complexity_level)
        existing = current.get(thread_id)
        if existing is None:
            note = concept.note or concept.summary
            entry = ThreadEvolution(lecture_id=lecture_id, change_type="introduced", note=note)
            changed[thread_id] = Thread(
                id=thread_id,
                course_id=course_id,
                title=concept.title,
                summary=concept.summary,
                status="advanced" if level >= 3 else "foundational",
                complexity_level=level,
                lecture_refs=(lecture_id,),
                evolution=(entry,),
                created_at=now,
                updated_at=now,
            )
            continue
        change: ChangeType = (
            "refinement" if concept.change_type == "introduced" else concept.change_type
        )
        if change == "complexity":
            level = max(level, existing.complexity_level + 1)
        level = _level(max(level, existing.complexity_level))
        entry = ThreadEvolution(
            lecture_id=lecture_id, change_type=change, note=concept.note or concept.summary
        )
        changed[thread_id] = msgspec.structs.replace(
            existing,
            status="advanced" if level >= 3 else "foundational",
            complexity_level=level,
            lecture_refs=(*existing.lecture_refs, lecture_id),
            evolution=(*existing.evolution, entry),
            updated_at=now,
        )
    return list(changed.values())


def drop_lecture(thread: Thread, lecture_id: str) -> Thread | None:
    """Return the thread without this lecture, or None if no lecture would be left.

    When the lecture that introduced the concept goes, the next one introduces it.
    """
    refs = tuple(r for r in thread.lecture_refs if r != lecture_id)
    if not refs:
        return None
    evolution = [e for e in thread.evolution if e.lecture_id != lecture_id]
    if evolution and evolution[0].change_type != "introduced":
        evolution[0] = msgspec.structs.replace(evolution[0], change_type="introduced")
    return msgspec.structs.replace(thread, lecture_refs=refs, evolution=tuple(evolution))


def without_lecture(threads: Sequence[Thread], lecture_id: str) -> list[Thread]:
    """Return the threads as they would be without this lecture (emptied threads dropped)."""
    kept = []
    for thread in threads:
        if lecture_id not in thread.lecture_refs:
            kept.append(thread)
        elif (rest := drop_lecture(thread, lecture_id)) is not None:
            kept.append(rest)
    return kept
