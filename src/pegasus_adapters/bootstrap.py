"""The composition root: the only place that picks adapters from settings."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pegasus_adapters.json_logging import JsonLineWriter, configure_logging
from pegasus_adapters.settings import Settings
from pegasus_core.artifacts import ExportType
from pegasus_core.context import Ports
from pegasus_core.errors import ConfigError
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.blob_store import BlobStore
from pegasus_core.ports.clock import Clock
from pegasus_core.ports.language_model import LanguageModel
from pegasus_core.ports.rate_limiter import RateLimiter
from pegasus_core.ports.renderer import ExportBundle, Renderers
from pegasus_core.ports.repository import UnitOfWorkFactory
from pegasus_core.ports.transcriber import Transcriber
from pegasus_core.rendering import (
    render_anki_csv,
    render_json,
    render_markdown,
    render_srt,
    render_vtt,
)

log = logging.getLogger("pegasus")

__all__ = ["JsonLineWriter", "configure_logging", "open_pegasus", "run_worker_supervisor"]


# Jobs a worker process runs at once, by default. A Dramatiq thread only waits while its
# job's coroutine runs on the process's event loop, and jobs whose engines wait on I/O
# (OpenAI, S3) can run many at once: then the claims and completions of jobs that finish
# together share a transaction (on the jobs benchmark, 16 threads took about 20% less CPU
# per job than 8, and 32 ran 14-28% more jobs per second than 16; 64 no more than 32).
# The offline engine is CPU-bound: more jobs than its process pool can run would only
# wait for it, their time limits (scaled to the audio) running meanwhile.
IO_BOUND_WORKER_THREADS = 32
OFFLINE_WORKER_THREADS = 4


def default_worker_threads(settings: Settings) -> int:
    """Return how many jobs a worker process runs at once unless told (see above)."""
    if settings.transcriber_engine == "offline":
        return OFFLINE_WORKER_THREADS
    return IO_BOUND_WORKER_THREADS


def run_worker_supervisor(settings: Settings, *, processes: int, threads: int | None) -> None:
    """Run `pegasus worker`: supervised Dramatiq worker processes (requires REDIS_URL).

    threads: jobs each process runs at once; None for default_worker_threads(settings).
    """
    if not settings.redis_url:
        raise ConfigError("REDIS_URL: pegasus worker needs the Redis job queue.")
    from pegasus_adapters.dramatiq_worker import supervise

    supervise(settings, processes=processes, threads=threads or default_worker_threads(settings))


SQLITE_FILE = "pegasus.sqlite3"


def worker_name() -> str:
    """Name this process in attempt records: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _render_pdf(bundle: ExportBundle) -> bytes:
    # fpdf2 and genanki load lazily: importing them costs every CLI command half a second.
    from pegasus_adapters.pdf_export import render_pdf

    return render_pdf(bundle)


def _render_apkg(bundle: ExportBundle) -> bytes:
    from pegasus_adapters.apkg_export import render_apkg

    return render_apkg(bundle)


def renderers() -> Renderers:
    """Return the renderer of each export type."""
    return {
        ExportType.MARKDOWN: render_markdown,
        ExportType.PDF: _render_pdf,
        ExportType.JSON: render_json,
        ExportType.ANKI: render_anki_csv,
        ExportType.APKG: _render_apkg,
        ExportType.SRT: render_srt,
        ExportType.VTT: render_vtt,
    }


@asynccontextmanager
async def _open_repository(settings: Settings, clock: Clock) -> AsyncIterator[UnitOfWorkFactory]:
    kind = settings.repository or ("postgres" if settings.database_url else "sqlite")
    match kind:
        case "memory" | "sqlite":
            from pegasus_adapters.sqlite.unit_of_work import open_sqlite

            path = None if kind == "memory" else settings.storage_path / SQLITE_FILE
            async with open_sqlite(path, clock=clock) as database:
                yield database
        case "postgres":
            from pegasus_adapters.postgres.unit_of_work import open_postgres

            if not settings.database_url:
                raise ConfigError("DATABASE_URL: required for the Postgres repository.")
            async with open_postgres(settings.database_url) as database:
                yield database


async def _blob_store(settings: Settings, stack: AsyncExitStack) -> BlobStore:
    kind = settings.blob_store or settings.storage_mode
    match kind:
        case "s3":
            from pegasus_adapters.s3.blob_store import open_s3_blob_store

            if not settings.s3_bucket or not settings.s3_prefix:
                raise ConfigError("S3_BUCKET, S3_PREFIX: required when STORAGE_MODE=s3.")
            return await stack.enter_async_context(
                open_s3_blob_store(
                    bucket=settings.s3_bucket,
                    prefix=settings.s3_prefix,
                    endpoint_url=settings.s3_endpoint_url,
                    region=settings.s3_region,
                )
            )
        case "memory":
            from pegasus_adapters.memory.blob_store import InMemoryBlobStore

            return InMemoryBlobStore()
        case "local":
            from pegasus_adapters.local_blob_store import LocalBlobStore

            settings.storage_path.mkdir(parents=True, exist_ok=True)
            return LocalBlobStore(settings.storage_path)
    raise ConfigError(f"STORAGE_MODE: unknown storage {kind!r}.")


def _transcriber(settings: Settings, stack: AsyncExitStack) -> Transcriber:
    match settings.transcriber_engine:
        case "offline":
            from pegasus_adapters.offline.transcriber import PocketsphinxTranscriber

            transcriber = PocketsphinxTranscriber()
            stack.push_async_callback(transcriber.aclose)
            return transcriber
        case "scripted":
            from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber

            log.warning("PLC_TRANSCRIBER=scripted: transcripts are canned, not recognised")
            scripted = ScriptedTranscriber(
                SCRIPTED_TEXT, chunk_delay_sec=settings.scripted_delay_ms / 1000
            )
            if settings.fault_dir:
                from pegasus_adapters.faults import FaultSwitches, hang_hook

                scripted.before_chunk = hang_hook(FaultSwitches(Path(settings.fault_dir)))
            return scripted
        case "openai":
            from pegasus_adapters.openai.transcriber import OpenAITranscriber

            if not settings.openai_api_key:
                raise ConfigError("OPENAI_API_KEY: required for PLC_TRANSCRIBER=openai.")
            openai_transcriber = OpenAITranscriber(
                model=settings.openai_transcribe_model,
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
            )
            stack.push_async_callback(openai_transcriber.aclose)
            return openai_transcriber
    raise ConfigError(f"PLC_TRANSCRIBER={settings.transcriber_engine} is not available.")


def _language_model(settings: Settings, stack: AsyncExitStack) -> LanguageModel:
    match settings.generator_engine:
        case "offline":
            from pegasus_adapters.offline.generator import ExtractiveLanguageModel

            return ExtractiveLanguageModel()
        case "scripted":
            from pegasus_adapters.memory.scripted_language_model import ScriptedLanguageModel

            log.warning("PLC_GENERATOR=scripted: artifacts are canned")
            return ScriptedLanguageModel()
        case "openai":
            from pegasus_adapters.openai.language_model import OpenAILanguageModel

            if not settings.openai_api_key:
                raise ConfigError("OPENAI_API_KEY: required for PLC_GENERATOR=openai.")
            generator = OpenAILanguageModel(
                api_key=settings.openai_api_key,
                model=settings.openai_model,
                base_url=settings.openai_base_url,
                token_budget=settings.generation_token_budget,
            )
            stack.push_async_callback(generator.aclose)
            return generator


def _with_faults(settings: Settings, blobs: BlobStore) -> BlobStore:
    """Wrap the store in the fault-injecting one when the PLC_FAULT_DIR test seam is set."""
    if not settings.fault_dir:
        return blobs
    from pegasus_adapters.faults import FaultSwitches, FaultyBlobStore

    log.warning("PLC_FAULT_DIR is set: faults are injected (a test seam, never for production)")
    return FaultyBlobStore(blobs, FaultSwitches(Path(settings.fault_dir)))


SCRIPTED_TEXT = (
    "Welcome to this scripted lecture. A scripted engine is a deterministic stand-in used by "
    "tests and benchmarks. Photosynthesis is the process by which plants make sugar from light. "
    "Chlorophyll is the green pigment that absorbs light energy. "
)


@asynccontextmanager
async def open_pegasus(
    settings: Settings,
    *,
    transcriber: Transcriber | None = None,
    llm: LanguageModel | None = None,
    blobs: BlobStore | None = None,
    clock: Clock | None = None,
    sweep: bool = True,
) -> AsyncIterator[Pegasus]:
    """Open the adapters that settings name, yield the facade, close them in reverse order.

    Keyword overrides replace one adapter (tests and embedding applications). With the
    in-process queue the periodic sweep runs in this process unless sweep=False.
    """
    from pegasus_adapters.background import periodic_sweep

    if TYPE_CHECKING:
        from pegasus_adapters.dramatiq_queue import DramatiqJobQueue
    from pegasus_adapters.job_queues import (
        DeferredJobQueue,
        InlineJobQueue,
        InProcessJobQueue,
    )
    from pegasus_adapters.memory.rate_limiter import InProcessRateLimiter
    from pegasus_adapters.offline.probe import PyAvAudioProbe
    from pegasus_adapters.system import SystemClock, UuidFactory

    async with AsyncExitStack() as stack:
        clock = clock or SystemClock()
        uow = await stack.enter_async_context(_open_repository(settings, clock))
        store = _with_faults(settings, blobs or await _blob_store(settings, stack))
        # Engines first, the queue after: the exit stack closes in reverse, so running job
        # tasks are cancelled (and left for recovery) before their engines shut down.
        engine = transcriber or _transcriber(settings, stack)
        generator = llm or _language_model(settings, stack)
        queue_kind = settings.job_queue or ("dramatiq" if settings.redis_url else "in_process")
        queue: InlineJobQueue | InProcessJobQueue | DeferredJobQueue | DramatiqJobQueue
        if queue_kind == "dramatiq":
            from pegasus_adapters.dramatiq_queue import DramatiqJobQueue, setup_broker

            if not settings.redis_url:
                raise ConfigError("REDIS_URL: required for the Dramatiq job queue.")
            queue = DramatiqJobQueue(*setup_broker(settings))
            stack.push_async_callback(queue.aclose)
        elif queue_kind == "inline":
            queue = InlineJobQueue()
        elif queue_kind == "deferred":
            queue = DeferredJobQueue()
        else:
            queue = InProcessJobQueue(concurrency=settings.job_concurrency)
            stack.push_async_callback(queue.aclose)
            log.info("jobs run in this process (embedded mode)")
        rate_limiter: RateLimiter = InProcessRateLimiter()
        if settings.redis_url:
            from pegasus_adapters.redis_rate_limiter import RedisRateLimiter

            shared = RedisRateLimiter(settings.redis_url, namespace=settings.queue_namespace)
            stack.push_async_callback(shared.aclose)
            rate_limiter = shared
        ports = Ports(
            uow=uow,
            blobs=store,
            queue=queue,
            transcriber=engine,
            llm=generator,
            probe=PyAvAudioProbe(),
            renderers=renderers(),
            rate_limiter=rate_limiter,
            clock=clock,
            ids=UuidFactory(),
            policy=settings.policy(),
            limits=settings.limits(),
            worker_name=worker_name(),
        )
        pegasus = Pegasus(ports)
        queue.bind(pegasus.run_job)
        # Every process that runs or dispatches jobs sweeps (DESIGN.md section 3).
        if sweep and queue_kind in ("in_process", "dramatiq"):
            await stack.enter_async_context(periodic_sweep(pegasus))
        yield pegasus
