"""Course threads: a concept followed across the lectures of a course."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
