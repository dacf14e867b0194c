"""Benchmark a 500 MiB audio upload through POST /lectures/ingest in S3 mode.

1. A WAV of --mib MiB (44.1 kHz stereo speech: samples/lecture.opus decoded once by PyAV and
   repeated) in a temporary directory.
2. moto_server on a free loopback port (a real S3-compatible HTTP server) and `pegasus serve`
   with STORAGE_MODE=s3 on it, PLC_MAX_AUDIO_UPLOAD_MB raised for the run.
3. Alternately, --rounds times: the same file uploaded straight to the bucket with aiobotocore
   (multipart, 8 MiB parts, two in flight: what the adapter does), then through the API, which
   parses the multipart body, hashes, streams to S3 under audio.wav (guessed from the first
   bytes) and probes it there with range reads. The API's peak RSS growth is sampled (VmRSS
   every 50 ms, and VmHWM reset just before the upload).

Run: .venv/bin/python bench/s3_upload_bench.py [--mib 500] [--rounds 3] [--keep]
Benchmarks report: the exit code is 0 even when a target is missed, non-zero only on a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx

from benchkit import MIB, Multipart, RssPeak, free_port, step, verdict, version, watch_rss

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "lecture.opus"
RATE, CHANNELS = 44_100, 2
PART_SIZE = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2
RSS_TARGET_MIB = 64.0
THROUGHPUT_TARGET = 0.70  # API MiB/s over direct aiobotocore MiB/s
RSS_SAMPLE_SEC = 0.05
BUCKET, PREFIX = "pegasus-bench", "bench"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "pegasus-bench",
    "AWS_SECRET_ACCESS_KEY": "pegasus-bench-secret",
    "AWS_EC2_METADATA_DISABLED": "true",
}


# --- Audio -----------------------------------------------------------------------------------


def build_wav(path: Path, size_bytes: int) -> float:
    """Write a 44.1 kHz stereo WAV of at least size_bytes by repeating the sample lecture."""
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
    pcm = bytearray()
    with av.open(str(SAMPLE)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm += memoryview(out.planes[0])[: out.samples * 2 * CHANNELS]
    written = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(2)
        out.setframerate(RATE)
        while written < size_bytes:
            out.writeframesraw(pcm)
            written += len(pcm)
    return written / (RATE * CHANNELS * 2)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(MIB):
            digest.update(data)
    return digest.hexdigest()


# --- Processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    popen: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start(command: list[str], env: Mapping[str, str], log_path: Path, url: str) -> Process:
    with log_path.open("wb") as log:
        popen = subprocess.Popen(command, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    process = Process(popen, url, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{command[0]} exited ({popen.returncode}):\n{process.log_tail()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
            return process
        time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{command} did not answer in 60 s:\n{process.log_tail()}")


def stop(process: Process) -> None:
    if process.popen.poll() is not None:
        return
    process.popen.send_signal(signal.SIGINT)
    try:
        process.popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait()


def start_moto(workdir: Path) -> Process:
    port = free_port()
    return start(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        {**os.environ, **CREDENTIALS},
        workdir / "moto.log",
        f"http://127.0.0.1:{port}/moto-api/",
    )


def start_api(workdir: Path, endpoint: str, limit_mb: int) -> Process:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PLC_", "DATABASE_URL", "REDIS_URL", "STORAGE_MODE", "S3_"))
    }
    env |= CREDENTIALS | {
        "STORAGE_MODE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_PREFIX": PREFIX,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "PLC_STORAGE_DIR": str(workdir / "storage"),
        "PLC_MAX_AUDIO_UPLOAD_MB": str(limit_mb),
        "PLC_TRANSCRIBER": "scripted",
        "PLC_GENERATOR": "scripted",
    }
    pegasus = Path(sys.executable).parent / "pegasus"
    return start(
        [str(pegasus), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env,
        workdir / "api.log",
        f"http://127.0.0.1:{port}/health",
    )


# --- Measurements ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ApiUpload:
    status: int
    seconds: float
    sha256_ok: bool
    rss: RssPeak
    cpu_sec: float
    duration_sec: float | None


def api_upload(api: Process, wav: Path, sha256: str, lecture_id: str) -> ApiUpload:
    body = Multipart(
        {
            "course_id": "s3-bench",
            "preset_id": "exam-mode",
            "title": "A long upload",
            "lecture_id": lecture_id,
        },
        wav,
    )
    base = api.url.removesuffix("/health")
    cpu_before = cpu_seconds(api.pid)
    started = time.perf_counter()
    with watch_rss(api.pid, RSS_SAMPLE_SEC) as rss, httpx.Client(timeout=900) as client:
        answer = client.post(f"{base}/lectures/ingest", content=iter(body), headers=body.headers)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(api.pid) - cpu_before
    payload = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    if answer.status_code != 201:
        step(f"upload answered {answer.status_code}: {answer.text[:500]}")
    else:
        with httpx.Client(timeout=120) as client:  # purge it: the bucket holds one copy at most
            client.delete(f"{base}/lectures/{lecture_id}")
    return ApiUpload(
        status=answer.status_code,
        seconds=elapsed,
        sha256_ok=payload.get("sha256") == sha256,
        rss=rss,
        cpu_sec=cpu,
        duration_sec=payload.get("durationSec"),
    )


async def direct_upload(endpoint: str, wav: Path) -> float:
    """Upload wav with aiobotocore alone; return the seconds it took."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(signature_version="s3v4", s3={"addressing_style": "path"})
    key = f"{PREFIX}/direct/{uuid.uuid4().hex}.wav"
    async with get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, config=config
    ) as client:
        started = time.perf_counter()
        created = await client.create_multipart_upload(Bucket=BUCKET, Key=key)
        upload_id = created["UploadId"]
        running: set[asyncio.Task[dict[str, Any]]] = set()
        parts: list[dict[str, Any]] = []

        async def part(number: int, data: bytes) -> dict[str, Any]:
            answer = await client.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            return {"PartNumber": number, "ETag": answer["ETag"]}

        with wav.open("rb") as handle:
            number = 1
            while data := await asyncio.to_thread(handle.read, PART_SIZE):
                while len(running) >= PARTS_IN_FLIGHT:
                    done, running = await asyncio.wait(running, return_when="FIRST_COMPLETED")
                    parts += [task.result() for task in done]
                running.add(asyncio.create_task(part(number, data)))
                number += 1
        parts += [await task for task in running]
        await client.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
        )
        seconds = time.perf_counter() - started
        await client.delete_object(Bucket=BUCKET, Key=key)
    return seconds


async def create_bucket(endpoint: str) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint
    ) as client:
        await client.create_bucket(Bucket=BUCKET)


# --- Report ----------------------------------------------------------------------------------


def info(label: str, text: str) -> str:
    return f"  {label:<28} {text}"


def machine_lines() -> list[str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        "Machine",
        info("platform", platform.platform()),
        info("cpu", f"{cpu}, {os.cpu_count()} cores, load {load}"),
        info("python", platform.python_version()),
        info(
            "libraries",
            f"aiobotocore {version('aiobotocore')}, botocore {version('botocore')}, "
            f"moto {version('moto')}, uvicorn {version('uvicorn')}, "
            f"litestar {version('litestar')}",
        ),
    ]


def run(args: argparse.Namespace, workdir: Path) -> list[str]:
    size = args.mib * MIB
    wav = workdir / "lecture.wav"
    step(f"building a {args.mib} MiB WAV")
    started = time.perf_counter()
    audio_sec = build_wav(wav, size)
    build_sec = time.perf_counter() - started
    sha256 = file_sha256(wav)
    file_mib = wav.stat().st_size / MIB
    warmup = workdir / "warmup.wav"
    with wave.open(str(wav), "rb") as src, wave.open(str(warmup), "wb") as out:
        out.setparams(src.getparams())
        out.writeframes(src.readframes(RATE * 5))
    moto = start_moto(workdir)
    endpoint = moto.url.removesuffix("/moto-api/")
    api: Process | None = None
    try:
        asyncio.run(create_bucket(endpoint))
        api = start_api(workdir, endpoint, limit_mb=args.mib + 64)
        step("warming the API up with a 5 s upload")
        api_upload(api, warmup, file_sha256(warmup), "warmup")
        direct: list[float] = []
        through_api: list[ApiUpload] = []
        for round_no in range(1, args.rounds + 1):
            step(f"round {round_no}: direct aiobotocore upload")
            direct.append(asyncio.run(direct_upload(endpoint, wav)))
            step(f"round {round_no}: upload through POST /lectures/ingest")
            through_api.append(api_upload(api, wav, sha256, f"big-{round_no}"))
    finally:
        if api is not None:
            stop(api)
        stop(moto)
    best_direct = min(direct)
    ok = [u for u in through_api if u.status == 201]
    lines = [*machine_lines(), "", "Input"]
    lines.append(
        info(
            "audio",
            f"{file_mib:.1f} MiB WAV, {RATE} Hz stereo, {audio_sec / 60:.1f} min "
            f"(built in {build_sec:.1f} s)",
        )
    )
    lines += ["", "Runs (MiB/s = file MiB / wall seconds)"]
    for n, (seconds, upload) in enumerate(zip(direct, through_api, strict=True), 1):
        lines.append(
            info(
                f"round {n} direct aiobotocore",
                f"{seconds:6.2f} s  {file_mib / seconds:6.1f} MiB/s",
            )
        )
        lines.append(
            info(
                f"round {n} API ingest",
                f"{upload.seconds:6.2f} s  {file_mib / upload.seconds:6.1f} MiB/s  "
                f"status {upload.status}, sha256 {'ok' if upload.sha256_ok else 'WRONG'}, "
                f"durationSec {upload.duration_sec}, server CPU {upload.cpu_sec:.1f} s, "
                f"RSS {upload.rss.before_mib:.1f} -> peak {upload.rss.peak_mib:.1f} -> "
                f"{upload.rss.after_mib:.1f} MiB",
            )
        )
    lines += ["", "Results"]
    if not ok:
        lines.append(info("API upload", "FAILED: no upload answered 201"))
        return lines
    growth = max(u.rss.growth_mib for u in ok)
    best_api = min(u.seconds for u in ok)
    ratio = best_direct / best_api
    lines.append(
        info(
            "peak RSS growth (worst)",
            f"{growth:.1f} MiB; target < {RSS_TARGET_MIB:g} MiB: "
            f"{verdict(growth < RSS_TARGET_MIB)}",
        )
    )
    lines.append(
        info(
            "throughput (best of each)",
            f"API {file_mib / best_api:.1f} MiB/s vs direct {file_mib / best_direct:.1f} MiB/s"
            f" = {ratio:.0%}; target >= {THROUGHPUT_TARGET:.0%}: "
            f"{verdict(ratio >= THROUGHPUT_TARGET)}",
        )
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=500, help="size of the WAV (MiB)")
    parser.add_argument("--rounds", type=int, default=3, help="direct + API uploads each")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    os.environ.update(CREDENTIALS)  # for this process's own client (moto accepts any)
    workdir = Path(tempfile.mkdtemp(prefix="pegasus-s3-bench-"))
    try:
        lines = run(args, workdir)
    finally:
        if args.keep:
            step(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
