"""Running the real `pegasus` command in a child process against a private storage dir."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

# Fast job timing so recovery is quick in tests (the contract defaults are 5/30/5 s).
FAST_JOBS = {"PLC_JOB_HEARTBEAT_SEC": "1", "PLC_JOB_STALE_SEC": "2", "PLC_JOB_SWEEP_SEC": "1"}


def cli_env(storage: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLC_", "OPENAI_", "DATABASE_URL", "REDIS_URL", "STORAGE_MODE"))
    }
    env.update({"PLC_STORAGE_DIR": str(storage), **FAST_JOBS, **extra})
    return env


def pegasus_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pegasus_cli", *args]


def run_cli(
    storage: Path, *args: str, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pegasus_cmd(*args),
        env=cli_env(storage, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def query(storage: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the embedded database directly (a second reader is fine in WAL mode)."""
    path = storage / "pegasus.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def stored_files(storage: Path, prefix: str = "lectures") -> list[str]:
    root = storage / prefix
    if not root.exists():
        return []
    return sorted(p.relative_to(storage).as_posix() for p in root.rglob("*") if p.is_file())
