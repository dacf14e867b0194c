"""Benchmark the OpenAI transcriber's chunking and stitching on a 3-hour procedural lecture.

The lecture is tests/fake_openai/tone_lecture.py's (sentences as coded tone bursts, true onsets
recorded), built once; the OpenAI-compatible server is tests/fake_openai/audio_server.py on
127.0.0.1 (it decodes every chunk and answers one segment per burst). The transcription runs
through the public facade (ingest, then a transcription job), as in production.

Reports: sentences checked, matched, lost and duplicated, the largest onset error (target: none
lost or duplicated, every onset within 0.5 s), requests and their largest size and duration, and
the transcription's wall time against the audio's duration and against a baseline measured in
the same run: one plain decode of the same file to PCM (work every engine does anyway).

Run: .venv/bin/python bench/openai_stitch_bench.py [--hours 3] [--chunk-sec 600] [--concurrency 4]
The exit code is 0 even when a target is missed, non-zero only on a crash or a failed job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_openai.audio_server import AudioServerState, serve_audio  # noqa: E402
from tests.fake_openai.tone_lecture import (  # noqa: E402
    TOLERANCE_SEC,
    build_tone_lecture,
    compare,
    voice,
)
from tests.helpers import ingest  # noqa: E402

from pegasus_adapters.bootstrap import open_pegasus  # noqa: E402
from pegasus_adapters.offline.audio import decode_to_pcm  # noqa: E402
from pegasus_adapters.openai.transcriber import OpenAITranscriber  # noqa: E402
from pegasus_adapters.settings import Settings  # noqa: E402
from pegasus_core.jobs import JobStatus  # noqa: E402
from pegasus_core.pagination import PageRequest  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    audio = workdir / "lecture.flac"
    log(f"building a {args.hours} h lecture ...")
    started = time.perf_counter()
    sentences = build_tone_lecture(audio, args.hours * 3600)
    built = time.perf_counter() - started

    log("baseline: one decode to PCM ...")
    started = time.perf_counter()
    duration = decode_to_pcm(audio, workdir / "baseline.pcm", max_duration_sec=None)
    baseline = time.perf_counter() - started
    (workdir / "baseline.pcm").unlink()

    settings = Settings(
        repository="memory",
        blob_store="local",
        storage_dir=str(workdir / "storage"),
        job_queue="inline",
        generator="offline",
    )
    load_before = os.getloadavg()
    with serve_audio(AudioServerState(voice=voice)) as server:
        transcriber = OpenAITranscriber(
            model=args.model,
            api_key="sk-test",
            base_url=server.base_url,
            max_concurrency=args.concurrency,
            chunk_target_sec=args.chunk_sec,
            workdir=workdir,
        )
        async with transcriber, open_pegasus(settings, transcriber=transcriber) as pegasus:
            log("ingest ...")
            started = time.perf_counter()
            await ingest(pegasus, audio, title="Procedural lecture")
            ingested = time.perf_counter() - started
            log("transcription ...")
            cpu = time.process_time()
            started = time.perf_counter()
            await pegasus.submit_transcription("lec-1")
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            job = (await pegasus.list_jobs(PageRequest(), job_type="transcription")).items[0]
            if job.status is not JobStatus.COMPLETED:
                log(f"transcription ended {job.status.value}: {job.error}")
                return 1
            transcript = await pegasus.get_transcript("lec-1")
        requests = server.state.answered()
    load_after = os.getloadavg()

    report = compare(list(transcript.segments), sentences)
    ok = report.lost == report.extra == 0 and report.max_onset_error_sec <= TOLERANCE_SEC
    print(f"audio: {duration / 3600:.2f} h, {len(sentences)} sentences; built in {built:.1f} s")
    print(
        f"model {args.model}, chunk target {args.chunk_sec:.0f} s, concurrency {args.concurrency}"
    )
    print(
        f"requests: {len(requests)}, largest {max(r.size_bytes for r in requests) / 1e6:.2f} MB "
        f"and {max(r.duration_sec or 0 for r in requests):.0f} s"
    )
    print(
        f"segments checked: {len(transcript.segments)}; matched {report.matched}, "
        f"lost {report.lost}, duplicated/extra {report.extra}, "
        f"max onset error {report.max_onset_error_sec:.3f} s -> {'PASS' if ok else 'FAIL'}"
    )
    print(
        f"transcription: {elapsed:.1f} s wall for {duration:.0f} s of audio "
        f"({duration / elapsed:.0f}x real time); {elapsed / baseline:.1f}x the baseline decode "
        f"({baseline:.1f} s, same run); ingest {ingested:.1f} s"
    )
    print(
        f"this process's CPU during transcription: {cpu:.1f} s (server threads included); "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after on "
        f"{os.cpu_count()} cores"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--chunk-sec", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--model", default="whisper-1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pegasus-openai-bench-") as workdir:
        return asyncio.run(run(args, Path(workdir)))


if __name__ == "__main__":
    sys.exit(main())
