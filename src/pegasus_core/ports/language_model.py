"""Study material generation from a transcript, one artifact type per request."""

from __future__ import annotations

from typing import Protocol

from pegasus_core.artifacts import AnyArtifact, ArtifactType
from pegasus_core.presets import Preset
from pegasus_core.records import Record
from pegasus_core.transcripts import Engine, Transcript


class GenerationRequest(Record, frozen=True, kw_only=True):
    """What a generator needs to produce one artifact."""

    artifact_type: ArtifactType
    transcript: Transcript
    preset: Preset
    lecture_title: str
    course_title: str
    model: str | None = None


class LanguageModel(Protocol):
    """A generator of artifact documents."""

    @property
    def engine(self) -> Engine:
        """Name the engine recorded in the job result."""
        ...

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        """Return the artifact body (header fields left default; the core fills them).

        The document satisfies artifacts.check_non_empty and respects the preset's counts as
        maxima. Raises UnavailableError for transient failures and ValueError-derived
        PegasusErrors for output that stays invalid.
        """
        ...
