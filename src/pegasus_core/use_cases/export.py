"""The export stage: every export type rendered from the stored artifacts and transcript."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import msgspec

from pegasus_core.artifacts import (
    EXPORT_FORMATS,
    AnyArtifact,
    ArtifactType,
    ExportRecord,
    Summary,
)
from pegasus_core.errors import ExportNotReadyError
from pegasus_core.lectures import export_key
from pegasus_core.ports.blob_store import read_all
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.use_cases.generate import load_transcript
from pegasus_core.use_cases.job_context import Completion, JobContext


async def _load_artifacts(ctx: JobContext) -> dict[ArtifactType, AnyArtifact]:
    ports, lecture = ctx.ports, ctx.lecture
    async with ports.uow(read_only=True) as uow:
        records = {t: await uow.artifacts.get(lecture.id, t) for t in ArtifactType}
    artifacts: dict[ArtifactType, AnyArtifact] = {}
    for artifact_type, record in records.items():
        if record is None or record.purged_at is not None:
            raise ExportNotReadyError(f"Cannot export: the {artifact_type.value} is missing.")
        data = await read_all(ports.blobs, record.storage_path)
        document: AnyArtifact = msgspec.json.decode(data, type=AnyArtifact)
        artifacts[artifact_type] = document
    return artifacts


def check_quality(summary: Summary, *, min_sections: int) -> None:
    """Refuse to export a summary with an empty overview or too few sections."""
    if not summary.overview.strip():
        raise ExportNotReadyError("Cannot export: the summary overview is empty.")
    if len(summary.sections) < min_sections:
        raise ExportNotReadyError(
            f"Cannot export: the summary has {len(summary.sections)} sections, "
            f"fewer than the required {min_sections}."
        )


async def run_export(ctx: JobContext) -> Completion:
    """Render and store every export type; fail clearly when an artifact is missing.

    - The bundle carries the course's threads that list this lecture (Anki tags).
    """
    ports, lecture = ctx.ports, ctx.lecture
    artifacts = await _load_artifacts(ctx)
    summary = artifacts[ArtifactType.SUMMARY]
    assert isinstance(summary, Summary)
    check_quality(summary, min_sections=ports.limits.export_min_summary_sections)
    transcript = await load_transcript(ctx)
    async with ports.uow(read_only=True) as uow:
        course = await uow.courses.get(lecture.course_id)
        threads = await uow.threads.for_course(lecture.course_id)
    assert course is not None  # a lecture's course exists while the lecture does
    bundle = ExportBundle(
        course=course,
        lecture=lecture,
        transcript=transcript,
        artifacts=artifacts,
        threads=tuple(t for t in threads if lecture.id in t.lecture_refs),
    )
    records = []
    # Renders take CPU time (a long lecture's PDF, seconds): off the event loop, in a thread of
    # their own, not the loop's shared executor, which blob writes and queue dispatches (the
    # sweep's recoveries) need meanwhile.
    renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-render")
    try:
        for export_type, render in ports.renderers.items():
            extension, _ = EXPORT_FORMATS[export_type]
            key = export_key(lecture.id, extension)
            data = await asyncio.get_running_loop().run_in_executor(renderer, render, bundle)
            info = await ctx.put(key, data)
            records.append(
                ExportRecord(
                    lecture_id=lecture.id,
                    export_type=export_type,
                    storage_path=key,
                    size_bytes=info.size_bytes,
                    sha256=info.sha256,
                    created_at=ports.clock.now(),
                )
            )
    finally:
        renderer.shutdown(wait=False)  # a cancelled job must not wait for its render here

    async def apply(uow: UnitOfWork) -> None:
        for record in records:
            await uow.artifacts.put_export(record)

    return Completion(
        result={"exports": {r.export_type.value: r.storage_path for r in records}},
        apply=apply,
    )
