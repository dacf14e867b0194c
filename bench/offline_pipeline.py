"""Benchmark the offline engines on a ~10-minute lecture built from samples/lecture.opus.

1. Transcription: the pocketsphinx process pool (one process per CPU) against one process, on
   the same file, with the concurrency the transcriber allows (as the core's transcription stage).
2. Pipeline: ingest with auto_process through the public API on the embedded default adapters
   (SQLite, local storage, in-process jobs, offline engines) until the lecture is completed.

Run: .venv/bin/python bench/offline_pipeline.py [--minutes 10] [--keep DIR]
Benchmarks report: the exit code is 0 even when a target is missed, non-zero only on a crash or
a failed pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from itertools import chain
from pathlib import Path
from typing import Any

import av

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.offline.transcriber import PocketsphinxTranscriber
from pegasus_adapters.settings import Settings
from pegasus_core.jobs import Job
from pegasus_core.pagination import PageRequest
from pegasus_core.transcripts import ChunkSpan, Segment
from pegasus_core.use_cases.ingest import IngestRequest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "lecture.opus"
RATE = 16_000
SAMPLE_BYTES = 2
GAP_SEC = 1.0  # silence between two copies of the sample
WARMUP_CLIP_SEC = 2.0
SPEEDUP_TARGET = 1.6  # single / pool, on 2 cores
PIPELINE_TARGET = 0.5  # ingest -> completed, as a fraction of the audio duration
POLL_SEC = 0.05
LECTURE_ID = "bench-lecture"
WIDTH = 78
BUSY_ELSEWHERE = 0.2  # cores used by other processes or the hypervisor worth a warning


# --- Audio -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltAudio:
    path: Path
    duration_sec: float
    copies: float
    size_bytes: int
    build_sec: float


def decode_pcm(src: Path) -> bytes:
    """Decode src to 16 kHz mono s16 PCM (native byte order: only PyAV reads it back)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    pcm = bytearray()
    with av.open(str(src)) as container:
        for frame in chain(container.decode(audio=0), [None]):  # None flushes the resampler
            for out in resampler.resample(frame):
                pcm += memoryview(out.planes[0])[: out.samples * SAMPLE_BYTES]
    return bytes(pcm)


def pcm_frames(pcm: bytes, samples: int = 1024) -> Iterator[Any]:
    step = samples * SAMPLE_BYTES
    for at in range(0, len(pcm), step):
        piece = pcm[at : at + step]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // SAMPLE_BYTES)
        frame.planes[0].update(piece)
        frame.sample_rate = RATE
        yield frame


def encode(dst: Path, pcm: bytes, *, muxer: str, codec: str) -> Path:
    with av.open(str(dst), "w", format=muxer) as out:
        stream: Any = out.add_stream(codec, rate=RATE, layout="mono")
        for frame in pcm_frames(pcm):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst


def build_lecture(dst: Path, minutes: float) -> BuiltAudio:
    """Concatenate copies of the sample, a short silence between them, cut to `minutes`."""
    started = time.perf_counter()
    speech = decode_pcm(SAMPLE)
    gap = bytes(round(GAP_SEC * RATE) * SAMPLE_BYTES)
    target = round(minutes * 60 * RATE) * SAMPLE_BYTES
    pcm = bytearray()
    while len(pcm) < target:
        if pcm:
            pcm += gap
        pcm += speech
    del pcm[target:]
    encode(dst, bytes(pcm), muxer="ogg", codec="libopus")
    return BuiltAudio(
        path=dst,
        duration_sec=len(pcm) / SAMPLE_BYTES / RATE,
        copies=len(pcm) / (len(speech) + len(gap)),
        size_bytes=dst.stat().st_size,
        build_sec=time.perf_counter() - started,
    )


def build_clip(dst: Path, seconds: float) -> Path:
    """Write the first seconds of the sample as WAV: the pool warm-up input."""
    pcm = decode_pcm(SAMPLE)[: round(seconds * RATE) * SAMPLE_BYTES]
    return encode(dst, pcm, muxer="wav", codec="pcm_s16le")


# --- CPU accounting (Linux /proc; other systems report nothing) -----------------------------


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.perf_counter()
    busy: float  # CPU seconds the whole machine spent busy
    steal: float  # CPU seconds the hypervisor gave to other guests
    ours: float  # CPU seconds of this process and its descendants (pool workers included)


@dataclass(frozen=True)
class CpuUse:
    seconds: float  # CPU seconds this benchmark used
    ours: float  # cores busy with this benchmark, on average
    others: float  # cores busy with anything else on the machine
    steal: float

    def describe(self) -> str:
        return (
            f"this benchmark {self.ours:.2f} cores, other processes {self.others:.2f}, "
            f"steal {self.steal:.2f}"
        )


def _proc_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # Fields after the command name, which may hold spaces and parentheses.
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return stats


def cpu_sample() -> CpuSample | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(int(stat[1]), []).append(pid)
    ours, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in stats:
            # utime, stime, and cutime, cstime: the children it reaped (exited pool workers).
            ours += sum(int(v) for v in stats[pid][11:15])
        todo += children.get(pid, [])
    return CpuSample(
        at=time.perf_counter(),
        busy=(user + nice + system + irq + softirq) / tick,
        steal=steal / tick,
        ours=ours / tick,
    )


def cpu_use(start: CpuSample | None, end: CpuSample | None) -> CpuUse | None:
    if start is None or end is None or end.at <= start.at:
        return None
    span = end.at - start.at
    ours = (end.ours - start.ours) / span
    return CpuUse(
        seconds=end.ours - start.ours,
        ours=ours,
        others=max(0.0, (end.busy - start.busy) / span - ours),
        steal=(end.steal - start.steal) / span,
    )


# --- Transcription ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptionRun:
    processes: int
    warmup_sec: float  # pool start, model load per process, and a 2 s clip per process
    open_sec: float  # decode to PCM + chunk planning, in a pool process
    recognise_sec: float  # every chunk, at most max_concurrency at once
    close_sec: float  # session clean-up (temporary PCM removed)
    chunk_count: int
    longest_chunk_sec: float
    texts: tuple[str, ...]  # one per chunk
    cpu: CpuUse | None  # during open + recognise + close

    @property
    def warm_sec(self) -> float:
        return self.open_sec + self.recognise_sec + self.close_sec

    @property
    def cold_sec(self) -> float:
        return self.warmup_sec + self.warm_sec


async def transcribe_chunks(
    session: Any, spans: Sequence[ChunkSpan], concurrency: int
) -> list[list[Segment]]:
    """Transcribe spans as the core's transcription stage does: gather under a semaphore."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(span: ChunkSpan) -> list[Segment]:
        async with limit:
            segments: list[Segment] = await session.transcribe(span, prompt="Benchmark.")
            return segments

    return list(await asyncio.gather(*(one(span) for span in spans)))


async def warm_up(transcriber: PocketsphinxTranscriber, clip: Path) -> None:
    """Start every pool process (each loads the model) with one short chunk per process."""
    async with transcriber.open(clip, language="en") as session:
        span = session.chunks[0]
        # Submitted together, so each submit finds no idle process and starts a new one.
        await asyncio.gather(
            *(session.transcribe(span) for _ in range(transcriber.max_concurrency))
        )


async def measure_transcription(processes: int, audio: Path, clip: Path) -> TranscriptionRun:
    async with PocketsphinxTranscriber(processes=processes) as transcriber:
        started = time.perf_counter()
        await warm_up(transcriber, clip)
        warmed = time.perf_counter()
        before = cpu_sample()
        async with transcriber.open(audio, language="en") as session:
            opened = time.perf_counter()
            spans = list(session.chunks)
            results = await transcribe_chunks(session, spans, transcriber.max_concurrency)
            recognised = time.perf_counter()
        closed = time.perf_counter()
        after = cpu_sample()
    texts = tuple(" ".join(segment.text for segment in segments) for segments in results)
    return TranscriptionRun(
        processes=processes,
        warmup_sec=warmed - started,
        open_sec=opened - warmed,
        recognise_sec=recognised - opened,
        close_sec=closed - recognised,
        chunk_count=len(spans),
        longest_chunk_sec=max(span.end_sec - span.start_sec for span in spans),
        texts=texts,
        cpu=cpu_use(before, after),
    )


# --- Pipeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineRun:
    ingest_sec: float  # upload into storage, probe, records, dispatch of the first job
    total_sec: float  # ingest start -> overall status completed (seen by polling)
    status: str
    jobs: tuple[Job, ...]
    completed_at: datetime  # wall clock when the poll saw the final status
    ingest_started_at: datetime
    cpu: CpuUse | None


async def file_chunks(path: Path, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


async def measure_pipeline(audio: Path, storage: Path, timeout_sec: float) -> PipelineRun:
    settings = Settings(storage_dir=str(storage), job_queue="in_process")
    async with open_pegasus(settings) as pegasus:
        request = IngestRequest(
            course_id="bench-course",
            preset_id="exam-mode",
            title="Benchmark lecture",
            lecture_id=LECTURE_ID,
            original_filename=audio.name,
            auto_process=True,
        )
        wall_start = datetime.now().astimezone()
        before = cpu_sample()
        started = time.perf_counter()
        await pegasus.ingest_lecture(request, file_chunks(audio))
        ingested = time.perf_counter()
        deadline = started + timeout_sec
        while True:
            status = (await pegasus.lecture_progress(LECTURE_ID)).snapshot.overall_status
            if status in ("completed", "failed") or time.perf_counter() > deadline:
                break
            await asyncio.sleep(POLL_SEC)
        finished = time.perf_counter()
        after = cpu_sample()
        wall_end = datetime.now().astimezone()
        jobs = (await pegasus.list_jobs(PageRequest(), lecture_id=LECTURE_ID)).items
    return PipelineRun(
        ingest_sec=ingested - started,
        total_sec=finished - started,
        status=status,
        jobs=tuple(sorted(jobs, key=lambda job: job.created_at)),
        completed_at=wall_end,
        ingest_started_at=wall_start,
        cpu=cpu_use(before, after),
    )


# --- Report ----------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<36} {value:>14}  {note}".rstrip()


def info(label: str, text: str) -> str:
    return f"  {label:<36} {text}"


def seconds_between(a: datetime | None, b: datetime | None) -> str:
    if a is None or b is None:
        return "?"
    return f"{(b - a).total_seconds():.2f} s"


def contention(label: str, use: CpuUse | None) -> list[str]:
    if use is None:
        return []
    lines = [info(f"cpu, {label}", use.describe())]
    if use.others + use.steal > BUSY_ELSEWHERE:
        lines.append(info("", "NOTE: the machine was busy elsewhere: wall times are inflated"))
    return lines


def machine_lines(audio: BuiltAudio) -> list[str]:
    cpus = os.cpu_count() or 1
    return [
        "=" * WIDTH,
        "Pegasus offline pipeline benchmark",
        "=" * WIDTH,
        "Machine",
        info("platform", platform.platform()),
        info("python", f"{platform.python_version()} ({sys.executable})"),
        info("cpu count", f"{cpus} (usable by this process: {usable_cpus()})"),
        info("cpu model", cpu_model()),
        info("av / pocketsphinx", f"{version('av')} / {version('pocketsphinx')}"),
        "Audio",
        info(
            "lecture (Opus, 16 kHz mono)",
            f"{audio.duration_sec:.1f} s = {audio.duration_sec / 60:.2f} min: "
            f"{audio.copies:.2f} x samples/lecture.opus, {GAP_SEC:g} s gaps",
        ),
        info("file", f"{audio.size_bytes / 1e6:.2f} MB, built in {audio.build_sec:.1f} s"),
    ]


def transcription_lines(
    audio: BuiltAudio, pool: TranscriptionRun, single: TranscriptionRun
) -> list[str]:
    target_applies = (os.cpu_count() or 1) >= 2
    warm_ratio = single.warm_sec / pool.warm_sec
    cold_ratio = single.cold_sec / pool.cold_sec
    differing = sum(a != b for a, b in zip(pool.texts, single.texts, strict=True))

    def pair(label: str, a: float, b: float, unit: str = " s") -> str:
        return f"  {label:<36} {a:>12.2f}{unit}  {b:>12.2f}{unit}".rstrip()

    def speedup(label: str, ratio: float) -> str:
        ok = ratio >= SPEEDUP_TARGET if target_applies else None
        return row(label, f"{ratio:.2f}x", f"target >= {SPEEDUP_TARGET}x on 2 cores: {verdict(ok)}")

    return [
        "Transcription: same file, open (decode + plan) then every chunk",
        f"  {'':<36} {'pool':>14}  {'single':>14}",
        f"  {'processes':<36} {pool.processes:>14}  {single.processes:>14}",
        pair("warm-up (pool start + model load)", pool.warmup_sec, single.warmup_sec),
        pair("open: decode + plan", pool.open_sec, single.open_sec),
        pair(f"recognise {pool.chunk_count} chunks", pool.recognise_sec, single.recognise_sec),
        pair("session close", pool.close_sec, single.close_sec),
        pair("total, warm pool", pool.warm_sec, single.warm_sec),
        pair("total, including warm-up", pool.cold_sec, single.cold_sec),
        *(
            [
                pair("cpu time used (warm run)", pool.cpu.seconds, single.cpu.seconds),
                pair("cores kept busy (warm run)", pool.cpu.ours, single.cpu.ours, "  "),
            ]
            if pool.cpu and single.cpu
            else []
        ),
        pair(
            "real-time factor (warm, wall/audio)",
            pool.warm_sec / audio.duration_sec,
            single.warm_sec / audio.duration_sec,
            "  ",
        ),
        info(
            "chunks",
            f"{pool.chunk_count}, longest {pool.longest_chunk_sec:.1f} s; "
            f"{sum(len(text.split()) for text in pool.texts)} words recognised by the pool",
        ),
        info(
            "chunk texts, pool vs single",
            f"{differing} of {len(pool.texts)} differ"
            + (" (the decoder keeps state between chunks)" if differing else ""),
        ),
        speedup("speedup single/pool, warm pool", warm_ratio),
        speedup("speedup single/pool, incl. warm-up", cold_ratio),
        *contention("pool run (warm)", pool.cpu),
        *contention("single run (warm)", single.cpu),
    ]


def pipeline_lines(audio: BuiltAudio, pipeline: PipelineRun) -> list[str]:
    fraction = pipeline.total_sec / audio.duration_sec
    lines = [
        "Pipeline: open_pegasus (SQLite, local storage, in-process jobs, offline engines)",
        row("ingest (store + probe + record)", f"{pipeline.ingest_sec:.2f} s"),
    ]
    previous_end: datetime | None = pipeline.ingest_started_at
    for job in pipeline.jobs:
        lines.append(
            row(
                f"{job.job_type.value} job (run)",
                seconds_between(job.started_at, job.finished_at),
                f"waited {seconds_between(previous_end, job.started_at)} to start, "
                f"{job.status.value}, attempt {job.attempts}",
            )
        )
        previous_end = job.finished_at
    return [
        *lines,
        row(
            "last job end -> poll saw it",
            seconds_between(previous_end, pipeline.completed_at),
            f"(poll every {POLL_SEC:g} s)",
        ),
        row("ingest start -> completed", f"{pipeline.total_sec:.2f} s", pipeline.status),
        row(
            "as a fraction of audio duration",
            f"{fraction:.3f}",
            f"target <= {PIPELINE_TARGET}: {verdict(fraction <= PIPELINE_TARGET)}",
        ),
        *contention("ingest -> completed", pipeline.cpu),
    ]


# --- Main ------------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def show(lines: list[str]) -> None:
    print("\n".join(lines), flush=True)


async def run(minutes: float, workdir: Path) -> int:
    """Print the report section by section (stdout), progress on stderr."""
    progress(f"building a {minutes:g}-minute lecture in {workdir} ...")
    audio = build_lecture(workdir / "lecture.opus", minutes)
    clip = build_clip(workdir / "warmup.wav", WARMUP_CLIP_SEC)
    show(machine_lines(audio))
    cpus = os.cpu_count() or 1
    progress(f"transcribing with a pool of {cpus} processes ...")
    pool = await measure_transcription(cpus, audio.path, clip)
    progress("transcribing with a single process ...")
    single = await measure_transcription(1, audio.path, clip)
    show(transcription_lines(audio, pool, single))
    progress("running the whole pipeline ...")
    # A fresh storage per run: a kept DIR must not hand an old run's jobs to this one's sweep.
    storage = workdir / time.strftime("storage-%Y%m%d-%H%M%S")
    timeout = max(600.0, 5 * audio.duration_sec)
    pipeline = await measure_pipeline(audio.path, storage, timeout)
    show([*pipeline_lines(audio, pipeline), "=" * WIDTH])
    if pipeline.status != "completed":
        for job in pipeline.jobs:
            if job.error:
                progress(f"{job.job_type.value} job: {job.error}")
        progress(f"pipeline ended {pipeline.status!r}, not completed")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="length of the lecture (default 10)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="work in DIR and keep it (audio, storage); default: a temporary directory",
    )
    args = parser.parse_args(argv)
    if not math.isfinite(args.minutes) or args.minutes <= 0:
        parser.error("--minutes must be a positive number")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args.minutes, args.keep.resolve()))
    workdir = Path(tempfile.mkdtemp(prefix="pegasus-bench-"))
    try:
        return asyncio.run(run(args.minutes, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
