"""Study material generation from a transcript, one artifact type per request."""

from __future__ import annotations

from typing import Protocol

from pegasus_core.artifacts import AnyArtifact, ArtifactType
from pegasus_core.presets import Preset
from pegasus_core.records import Record
from pegasus_core.threads import Concept, Thread
from pegasus_core.transcripts import Engine, Transcript


class GenerationRequest(Record, frozen=True, kw_only=True):
    """What a generator needs to produce one artifact."""

    artifact_type: ArtifactType
    transcript: Transcript
    preset: Preset
    lecture_title: str
    course_title: str
    model: str | None = None


class ConceptRequest(Record, frozen=True, kw_only=True):
    """What an engine needs to match a lecture's concepts with its course's threads."""

    lecture_id: str
    lecture_title: str
    course_title: str
    transcript: Transcript
    artifacts: tuple[AnyArtifact, ...]
    threads: tuple[Thread, ...]
    model: str | None = None


class LanguageModel(Protocol):
    """A generator of artifact documents."""

    @property
    def engine(self) -> Engine:
        """Name the engine recorded in the job result."""
        ...

    def engine_for(self, model: str | None) -> Engine:
        """Name the engine a request with this model override runs on.

        An engine that takes no model override (the offline and scripted ones) ignores it.
        """
        ...

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        """Return the artifact body (header fields left default; the core fills them).

        The document satisfies artifacts.check_non_empty and respects the preset's counts as
        maxima. Raises UnavailableError for transient failures and ValueError-derived
        PegasusErrors for output that stays invalid.
        """
        ...

    async def match_concepts(self, request: ConceptRequest) -> tuple[Concept, ...]:
        """Return the lecture's main concepts, each matched with a course thread or new.

        A concept's thread_id is None or the id of one of request.threads; change_type is
        "introduced" for a new concept, else how the lecture changes the thread. Same errors as
        generate(). An empty tuple is a valid answer (no thread changes).
        """
        ...
