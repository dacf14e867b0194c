"""Child processes for tests: free loopback ports, and servers that run until a block ends."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    ready_url: str,
    timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run command (output to log_path) until the block ends, once ready_url answers.

    Raises RuntimeError, naming the log, when the child exits or does not answer in time.
    The child is terminated on exit, and killed if it does not stop within 15 s.
    """
    with log_path.open("wb") as log:
        child = subprocess.Popen(list(command), env=dict(env), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=1):
                    break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start: {log_path}") from None
                time.sleep(0.1)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
