"""The generation stage: the five artifacts, shaped by the lecture's preset."""

from __future__ import annotations

import msgspec

from pegasus_core.artifacts import AnyArtifact, ArtifactRecord, ArtifactType, check_non_empty
from pegasus_core.errors import PegasusError, TranscriptNotFoundError
from pegasus_core.lectures import artifact_key
from pegasus_core.ports.blob_store import read_all
from pegasus_core.ports.language_model import GenerationRequest
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.presets import get_preset
from pegasus_core.transcripts import Transcript
from pegasus_core.use_cases.job_context import Completion, JobContext


async def load_transcript(ctx: JobContext) -> Transcript:
    """Read the lecture's stored transcript; a missing one fails the job permanently."""
    path = ctx.lecture.transcript_path
    if path is None or ctx.lecture.transcript_purged_at is not None:
        raise TranscriptNotFoundError(ctx.lecture.id)
    return msgspec.json.decode(await read_all(ctx.ports.blobs, path), type=Transcript)


async def run_generation(ctx: JobContext) -> Completion:
    """Generate every artifact type and store them as the lecture's current artifacts.

    - Each document must pass check_non_empty; a generator that returns an invalid one fails
      the job with a sentence naming the artifact type.
    - Versions count up per (lecture, type): regenerating replaces and bumps.
    """
    ports, lecture = ctx.ports, ctx.lecture
    transcript = await load_transcript(ctx)
    async with ports.uow(read_only=True) as uow:
        course = await uow.courses.get(lecture.course_id)
        previous = {t: await uow.artifacts.get(lecture.id, t) for t in ArtifactType}
    preset = get_preset(lecture.preset_id)
    model = ctx.lease.job.params.get("model")
    records: list[ArtifactRecord] = []
    for index, artifact_type in enumerate(ArtifactType):
        request = GenerationRequest(
            artifact_type=artifact_type,
            transcript=transcript,
            preset=preset,
            lecture_title=lecture.title,
            course_title=course.title if course else lecture.course_id,
            model=str(model) if model else None,
        )
        body = await ports.llm.generate(request)
        try:
            check_non_empty(body)
        except ValueError as exc:
            raise PegasusError(f"Generated {artifact_type.value} is invalid: {exc}.") from exc
        prior = previous[artifact_type]
        document: AnyArtifact = msgspec.structs.replace(
            body,
            id=ports.ids.new_id(),
            course_id=lecture.course_id,
            lecture_id=lecture.id,
            preset_id=lecture.preset_id,
            generated_at=ports.clock.now(),
            version=(prior.version if prior else 0) + 1,
        )
        key = artifact_key(lecture.id, artifact_type.value)
        info = await ctx.put(key, msgspec.json.encode(document))
        records.append(
            ArtifactRecord(
                id=document.id,
                lecture_id=lecture.id,
                artifact_type=artifact_type,
                preset_id=lecture.preset_id,
                version=document.version,
                storage_path=key,
                sha256=info.sha256,
                created_at=ports.clock.now(),
            )
        )
        await ctx.beat(progress=(index + 1) / len(ArtifactType))

    async def apply(uow: UnitOfWork) -> None:
        for record in records:
            await uow.artifacts.put(record)

    return Completion(
        result={
            "artifactTypes": [r.artifact_type.value for r in records],
            "engine": msgspec.to_builtins(ports.llm.engine),
            "presetId": lecture.preset_id,
            "coverage": 1.0,
        },
        apply=apply,
    )
