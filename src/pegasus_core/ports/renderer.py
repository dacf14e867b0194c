"""Rendering exports: one function per export type, from the stored study material."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pegasus_core.artifacts import AnyArtifact, ArtifactType, ExportType
from pegasus_core.lectures import Course, Lecture
from pegasus_core.records import Record
from pegasus_core.threads import Thread
from pegasus_core.transcripts import Transcript


class ExportBundle(Record, frozen=True, kw_only=True):
    """Everything an export is rendered from."""

    course: Course
    lecture: Lecture
    transcript: Transcript
    artifacts: Mapping[ArtifactType, AnyArtifact]
    threads: tuple[Thread, ...] = ()
    """The course's threads this lecture belongs to, in the repository's order."""


Render = Callable[[ExportBundle], bytes]
Renderers = Mapping[ExportType, Render]
