"""A real `pegasus serve` process on a free loopback port, for tests that need sockets."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.system.cli_runner import cli_env, pegasus_cmd


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(storage: Path, *, workers: int = 1, **env: str) -> Iterator[str]:
    """Run the API until the block ends; yield its base URL."""
    port = free_port()
    storage.mkdir(parents=True, exist_ok=True)
    log = (storage.parent / f"serve-{port}.log").open("wb")
    child = subprocess.Popen(
        pegasus_cmd("serve", "--port", str(port), "--workers", str(workers)),
        env=cli_env(storage, **env),
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1):
                    break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log.name}") from None
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()
