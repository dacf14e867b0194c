"""The ports and policies a use case may need, bundled once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from pegasus_core.config import JobPolicy, Limits
from pegasus_core.ports.audio_probe import AudioProbe
from pegasus_core.ports.blob_store import BlobStore
from pegasus_core.ports.clock import Clock, IdFactory
from pegasus_core.ports.job_queue import JobQueue
from pegasus_core.ports.language_model import LanguageModel
from pegasus_core.ports.rate_limiter import RateLimiter
from pegasus_core.ports.renderer import Renderers
from pegasus_core.ports.repository import UnitOfWorkFactory
from pegasus_core.ports.transcriber import Transcriber


@dataclass(frozen=True, kw_only=True)
class Ports:
    """Everything outside the core that a use case talks to."""

    uow: UnitOfWorkFactory
    blobs: BlobStore
    queue: JobQueue
    transcriber: Transcriber
    llm: LanguageModel
    probe: AudioProbe
    renderers: Renderers
    rate_limiter: RateLimiter
    clock: Clock
    ids: IdFactory
    policy: JobPolicy = field(default_factory=JobPolicy)
    limits: Limits = field(default_factory=Limits)
    worker_name: str = "pegasus"
