"""The generation stage: the five artifacts, shaped by the lecture's preset."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from pegasus_core.artifacts import AnyArtifact, ArtifactRecord, ArtifactType, check_non_empty
from pegasus_core.coverage import cited_spans, coverage
from pegasus_core.errors import PegasusError, TranscriptNotFoundError
from pegasus_core.lectures import artifact_key
from pegasus_core.ports.blob_store import read_all
from pegasus_core.ports.language_model import ConceptRequest, GenerationRequest
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.presets import get_preset
from pegasus_core.threads import (
    Concept,
    Thread,
    merge_concepts,
    resolve_thread_ids,
    without_lecture,
)
from pegasus_core.transcripts import Transcript
from pegasus_core.use_cases.job_context import Completion, JobContext


async def load_transcript(ctx: JobContext) -> Transcript:
    """Read the lecture's stored transcript; a missing one fails the job permanently."""
    path = ctx.lecture.transcript_path
    if path is None or ctx.lecture.transcript_purged_at is not None:
        raise TranscriptNotFoundError(ctx.lecture.id)
    return msgspec.json.decode(await read_all(ctx.ports.blobs, path), type=Transcript)


async def run_generation(ctx: JobContext) -> Completion:
    """Generate every artifact type, match the lecture's concepts with the course's threads.

    - Each document must pass check_non_empty; a generator that returns an invalid one fails
      the job with a sentence naming the artifact type.
    - Versions count up per (lecture, type): regenerating replaces and bumps.
    - The engine sees the course's threads as they are without this lecture; artifacts carry
      the ids of the threads the lecture's concepts land in (threadRefs).
    - Artifacts and threads are written in the job's completing transaction, under the course
      lock, against the threads as they are then: two lectures of a course finishing at once
      both land in the same threads.
    - The result records coverage: the share of the transcript all artifacts together cite
      through their sourceSpans, and per artifact type.
    """
    ports, lecture = ctx.ports, ctx.lecture
    transcript = await load_transcript(ctx)
    async with ports.uow(read_only=True) as uow:
        course = await uow.courses.get(lecture.course_id)
        previous = {t: await uow.artifacts.get(lecture.id, t) for t in ArtifactType}
        threads = without_lecture(await uow.threads.for_course(lecture.course_id), lecture.id)
    preset = get_preset(lecture.preset_id)
    model = ctx.lease.job.params.get("model")
    model_name = str(model) if model else None
    course_title = course.title if course else lecture.course_id
    steps = len(ArtifactType) + 1
    bodies: list[AnyArtifact] = []
    for index, artifact_type in enumerate(ArtifactType):
        request = GenerationRequest(
            artifact_type=artifact_type,
            transcript=transcript,
            preset=preset,
            lecture_title=lecture.title,
            course_title=course_title,
            model=model_name,
        )
        body = await ports.llm.generate(request)
        try:
            check_non_empty(body)
        except ValueError as exc:
            raise PegasusError(f"Generated {artifact_type.value} is invalid: {exc}.") from exc
        bodies.append(body)
        await ctx.beat(progress=(index + 1) / steps)
    concepts = await _concepts(ctx, transcript, bodies, threads, course_title, model_name)
    thread_refs = tuple(
        dict.fromkeys(resolve_thread_ids(concepts, threads, course_id=lecture.course_id))
    )
    records = [
        await _store(ctx, body, previous[body.artifact_type], thread_refs) for body in bodies
    ]
    await ctx.beat(progress=1.0)

    async def apply(uow: UnitOfWork) -> None:
        for record in records:
            await uow.artifacts.put(record)
        await store_threads(
            uow,
            course_id=lecture.course_id,
            lecture_id=lecture.id,
            concepts=concepts,
            now=ports.clock.now(),
        )

    return Completion(
        result={
            "artifactTypes": [r.artifact_type.value for r in records],
            "engine": msgspec.to_builtins(ports.llm.engine_for(model_name)),
            "presetId": lecture.preset_id,
            "coverage": coverage(transcript, (s for b in bodies for s in cited_spans(b))),
            "coverageByArtifact": {
                b.artifact_type.value: coverage(transcript, cited_spans(b)) for b in bodies
            },
            "threadRefs": list(thread_refs),
        },
        apply=apply,
    )


async def store_threads(
    uow: UnitOfWork,
    *,
    course_id: str,
    lecture_id: str,
    concepts: Sequence[Concept],
    now: datetime,
) -> None:
    """Fold a lecture's concepts into its course's threads inside the caller's transaction.

    - Takes the course lock first (held to commit), so the threads read here are the latest.
    - The lecture's earlier contributions go first: one ref and one entry per lecture.
    """
    await uow.courses.lock(course_id)
    await uow.threads.remove_lecture(lecture_id, now=now)
    current = await uow.threads.for_course(course_id)
    for thread in merge_concepts(
        current, concepts, course_id=course_id, lecture_id=lecture_id, now=now
    ):
        await uow.threads.put(thread)


async def _concepts(
    ctx: JobContext,
    transcript: Transcript,
    bodies: list[AnyArtifact],
    threads: list[Thread],
    course_title: str,
    model: str | None,
) -> tuple[Concept, ...]:
    """Ask the engine for the lecture's concepts; a thread id it made up counts as none."""
    lecture = ctx.lecture
    concepts = await ctx.ports.llm.match_concepts(
        ConceptRequest(
            lecture_id=lecture.id,
            lecture_title=lecture.title,
            course_title=course_title,
            transcript=transcript,
            artifacts=tuple(bodies),
            threads=tuple(threads),
            model=model,
        )
    )
    known = {t.id for t in threads}
    return tuple(
        c
        if c.thread_id is None or c.thread_id in known
        else msgspec.structs.replace(c, thread_id=None)
        for c in concepts
        if c.title.strip()
    )


async def _store(
    ctx: JobContext,
    body: AnyArtifact,
    prior: ArtifactRecord | None,
    thread_refs: tuple[str, ...],
) -> ArtifactRecord:
    """Write the document with its header filled; return its record (not yet committed)."""
    ports, lecture = ctx.ports, ctx.lecture
    document: AnyArtifact = msgspec.structs.replace(
        body,
        id=ports.ids.new_id(),
        course_id=lecture.course_id,
        lecture_id=lecture.id,
        preset_id=lecture.preset_id,
        generated_at=ports.clock.now(),
        version=(prior.version if prior else 0) + 1,
        thread_refs=thread_refs,
    )
    key = artifact_key(lecture.id, body.artifact_type.value)
    info = await ctx.put(key, msgspec.json.encode(document))
    return ArtifactRecord(
        id=document.id,
        lecture_id=lecture.id,
        artifact_type=body.artifact_type,
        preset_id=lecture.preset_id,
        version=document.version,
        storage_path=key,
        sha256=info.sha256,
        created_at=ports.clock.now(),
    )
