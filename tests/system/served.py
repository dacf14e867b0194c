"""A real `pegasus serve` process on a free loopback port, for tests that need sockets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import free_port, serving
from tests.system.cli_runner import cli_env, pegasus_cmd

__all__ = ["free_port", "served"]


@contextmanager
def served(storage: Path, *, workers: int = 1, **env: str) -> Iterator[str]:
    """Run the API until the block ends; yield its base URL."""
    port = free_port()
    storage.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with serving(
        pegasus_cmd("serve", "--port", str(port), "--workers", str(workers)),
        env=cli_env(storage, **env),
        log_path=storage.parent / f"serve-{port}.log",
        ready_url=f"{base}/health",
    ):
        yield base
