"""A canned LanguageModel for tests and benchmarks: offline content, scriptable failures."""

from __future__ import annotations

from pegasus_adapters.offline.generator import ExtractiveLanguageModel
from pegasus_core.artifacts import AnyArtifact, ArtifactType
from pegasus_core.ports.language_model import ConceptRequest, GenerationRequest
from pegasus_core.threads import Concept
from pegasus_core.transcripts import Engine

ENGINE = Engine(provider="scripted", model="scripted")


class ScriptedLanguageModel:
    """LanguageModel port that records its calls and fails on demand.

    Content comes from the offline extractive builder, so documents are deterministic, honour
    the preset and derive from the transcript; only the engine name differs. The first
    `fail_times` calls raise `fail_with` (use UnavailableError to exercise retries; without
    `fail_with`, nothing fails), and every call, failed or not, is appended to `calls`.
    """

    def __init__(self, *, fail_with: Exception | None = None, fail_times: int = 0) -> None:
        self.fail_with = fail_with
        self.fail_times = fail_times if fail_with is not None else 0
        self.calls: list[ArtifactType] = []
        self._offline = ExtractiveLanguageModel()

    @property
    def engine(self) -> Engine:
        """Name the scripted engine."""
        return ENGINE

    def engine_for(self, model: str | None) -> Engine:
        """Name the engine: it takes no model override."""
        return ENGINE

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        """Record the call, fail if still scripted to, else return the offline document."""
        self.calls.append(request.artifact_type)
        if self.fail_with is not None and len(self.calls) <= self.fail_times:
            raise self.fail_with
        return await self._offline.generate(request)

    async def match_concepts(self, request: ConceptRequest) -> tuple[Concept, ...]:
        """Match concepts as the offline engine does (keyword overlap): deterministic."""
        return await self._offline.match_concepts(request)
