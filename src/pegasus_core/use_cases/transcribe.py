"""The transcription stage: chunks transcribed with bounded concurrency, kept for resume."""

from __future__ import annotations

import asyncio

import msgspec

from pegasus_core.errors import BlobNotFoundError
from pegasus_core.lectures import chunk_key, lecture_prefix, transcript_key
from pegasus_core.ports.blob_store import read_all
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.ports.transcriber import TranscriptionSession
from pegasus_core.transcripts import (
    ChunkResult,
    ChunkSpan,
    Transcript,
    chunk_prompt,
    merge_chunks,
    shift_segments,
    transcript_text,
)
from pegasus_core.use_cases.job_context import Completion, JobContext


def _key(lecture_id: str, span: ChunkSpan) -> str:
    start_ms, end_ms = round(span.start_sec * 1000), round(span.end_sec * 1000)
    return chunk_key(lecture_id, span.index, start_ms, end_ms)


async def _finished_chunks(ctx: JobContext, spans: list[ChunkSpan]) -> dict[int, ChunkResult]:
    """Load the chunks an earlier attempt finished (same plan, so the same keys)."""
    lecture_id = ctx.lecture.id
    stored = set(await ctx.ports.blobs.list(f"{lecture_prefix(lecture_id)}chunks/"))
    done = {}
    for span in spans:
        key = _key(lecture_id, span)
        if key not in stored:
            continue
        try:
            done[span.index] = msgspec.json.decode(
                await read_all(ctx.ports.blobs, key), type=ChunkResult
            )
        except (BlobNotFoundError, msgspec.DecodeError):
            continue  # a torn or vanished chunk is simply done again
    return done


async def _transcribe_all(ctx: JobContext, session: TranscriptionSession) -> Completion:
    ports, lecture = ctx.ports, ctx.lecture
    spans = list(session.chunks)
    done = await _finished_chunks(ctx, spans)
    resumed = len(done)
    total = max(1, len(spans))
    if done:  # a resumed job shows what it already has (a fresh one is at 0 already)
        await ctx.beat(progress=len(done) / total)
    async with ports.uow(read_only=True) as uow:
        course = await uow.courses.get(lecture.course_id)
    course_title = course.title if course is not None else ""
    limit = asyncio.Semaphore(max(1, ports.transcriber.max_concurrency))
    lock = asyncio.Lock()

    async def one(span: ChunkSpan) -> None:
        async with limit:
            # Read when the chunk starts, so a predecessor that finished meanwhile counts.
            prompt = chunk_prompt(
                done.get(span.index - 1), lecture_title=lecture.title, course_title=course_title
            )
            segments = await session.transcribe(span, prompt=prompt)
            result = ChunkResult(span=span, segments=shift_segments(segments, span))
            await ctx.put(_key(lecture.id, span), msgspec.json.encode(result))
            async with lock:
                done[span.index] = result
                # After the last chunk the completing transaction follows at once: it sets
                # progress 1 and fences the lease itself, so a beat would be a wasted write.
                if len(done) < total:
                    await ctx.beat(progress=len(done) / total)

    tasks = [asyncio.ensure_future(one(span)) for span in spans if span.index not in done]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # The first failure decides the attempt; stop the other chunks and raise it unwrapped.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise

    segments = merge_chunks(list(done.values()), duration_sec=session.duration_sec)
    language = str(ctx.lease.job.params.get("language") or "en")
    transcript = Transcript(
        lecture_id=lecture.id,
        language=language,
        engine=ports.transcriber.engine,
        text=transcript_text(segments),
        segments=tuple(segments),
    )
    key = transcript_key(lecture.id)
    await ctx.put(key, msgspec.json.encode(transcript))
    duration = round(session.duration_sec, 3)

    async def apply(uow: UnitOfWork) -> None:
        now = ports.clock.now()
        await uow.lectures.update(
            lecture.id,
            now=now,
            transcript_path=key,
            transcript_created_at=now,
            transcript_purged_at=None,
            duration_sec=duration,
        )

    return Completion(
        result={
            "transcriptPath": key,
            "segmentCount": len(segments),
            "chunkCount": len(spans),
            "resumedChunkCount": resumed,
            "durationSec": duration,
            "engine": msgspec.to_builtins(ports.transcriber.engine),
        },
        apply=apply,
    )


async def run_transcription(ctx: JobContext) -> Completion:
    """Transcribe the lecture's audio into transcript.json.

    - Chunks finished by an earlier attempt are loaded, not transcribed again.
    - A chunk's prompt is its finished predecessor's last words, else the lecture and course
      titles.
    - Progress advances per chunk; the decoded duration replaces the probed one.
    """
    ports = ctx.ports
    language = str(ctx.lease.job.params.get("language") or "en")
    async with (
        ports.blobs.local_file(ctx.lecture.audio.path) as path,
        ports.transcriber.open(
            path, language=language, max_duration_sec=ports.limits.max_duration_sec
        ) as session,
    ):
        return await _transcribe_all(ctx, session)
