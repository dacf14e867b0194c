"""What the benchmarks share: progress lines, ports, verdicts, streamed uploads, RSS peaks.

The benchmarks run as scripts (`python bench/<name>.py`), so this folder is on sys.path and
they import this module by its bare name.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

MIB = 1024 * 1024


def step(message: str) -> None:
    """Print a timestamped progress line to stderr (the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def version(package: str) -> str:
    """Return an installed distribution's version, or "?"."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def verdict(ok: bool) -> str:
    """Spell a target's outcome."""
    return "PASS" if ok else "FAIL"


def status_kib(pid: int, key: str) -> int | None:
    """Read one kB field (VmRSS, VmHWM) of /proc/<pid>/status; None where there is none."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class Multipart:
    """A multipart/form-data body streamed from disk: form fields, then the audio file.

    Hashes the file's bytes as they are sent (`sha256`), to compare with the server's answer.
    """

    def __init__(self, fields: Mapping[str, str], path: Path, chunk: int = MIB) -> None:
        self.boundary = f"bench-{uuid.uuid4().hex}"
        self.path = path
        self.chunk = chunk
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        self.head = (
            head + f'--{self.boundary}\r\nContent-Disposition: form-data; name="audio"; '
            f'filename="{path.name}"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.sha256 = hashlib.sha256()

    @property
    def headers(self) -> dict[str, str]:
        """Content-Type and Content-Length of the whole body."""
        length = len(self.head) + self.path.stat().st_size + len(self.tail)
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(length),
        }

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as handle:
            while data := handle.read(self.chunk):
                self.sha256.update(data)
                yield data
        yield self.tail


@dataclass
class RssPeak:
    """A process's resident memory around a measurement, in MiB."""

    before_mib: float = 0.0
    sampled_peak_mib: float = 0.0
    hwm_mib: float | None = None  # VmHWM after a reset just before: the kernel's own peak
    after_mib: float = 0.0

    @property
    def peak_mib(self) -> float:
        """The larger of the sampled peak and the kernel's high-water mark."""
        return max(self.sampled_peak_mib, self.hwm_mib or 0.0)

    @property
    def growth_mib(self) -> float:
        """How far the peak rose above the starting RSS."""
        return self.peak_mib - self.before_mib


@contextlib.contextmanager
def watch_rss(pid: int, every_sec: float = 0.05) -> Iterator[RssPeak]:
    """Measure pid's RSS during the block: VmHWM reset before, VmRSS sampled every_sec."""
    hwm_reset = False
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        hwm_reset = True
    before = status_kib(pid, "VmRSS") or 0
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, status_kib(pid, "VmRSS") or 0)
            stop.wait(every_sec)

    result = RssPeak(before_mib=before / 1024)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        stop.set()
        sampler.join()
        hwm = status_kib(pid, "VmHWM") if hwm_reset else None
        result.sampled_peak_mib = peak / 1024
        result.hwm_mib = None if hwm is None else hwm / 1024
        result.after_mib = (status_kib(pid, "VmRSS") or 0) / 1024


CLOCK_TICKS = 100  # USER_HZ: /proc reports CPU time in 1/100 s on Linux


def cpu_ticks(names: tuple[str, ...] = ("postgres", "redis-server")) -> dict[str, int]:
    """Return CPU ticks used so far: "machine" (all cores, from /proc/stat) and, per process
    whose command name starts with one of names, "<name>/<pid>" (Linux; empty elsewhere).

    Two samples around a measurement tell what it cost the machine and those servers, and
    how much else was running: figures taken on a busy machine are not comparable.
    """
    ticks: dict[str, int] = {}
    with contextlib.suppress(OSError):
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        ticks["machine"] = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            command = text[text.index("(") + 1 : text.rindex(")")]
            after = text[text.rindex(")") + 2 :].split()
            for name in names:
                if command.startswith(name):
                    ticks[f"{name}/{stat.parent.name}"] = int(after[11]) + int(after[12])
    return ticks


def cpu_ms_per_item(
    start: Mapping[str, int], end: Mapping[str, int], items: int
) -> dict[str, float]:
    """Return CPU milliseconds per item between two cpu_ticks() samples: "machine" and one
    total per server name.

    Per process, so that a process that exited meanwhile (a Postgres backend whose
    connection closed) cannot make the total go down: its last ticks are lost (the figure
    is a floor), one that started meanwhile counts from zero.
    """
    used: dict[str, int] = {}
    for key, value in end.items():
        name = key.split("/", 1)[0]
        used[name] = used.get(name, 0) + value - start.get(key, 0)
    return {name: value * 1000 / CLOCK_TICKS / items for name, value in used.items()}
