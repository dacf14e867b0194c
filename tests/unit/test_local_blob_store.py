"""The local store cleans up after writers that died mid-put."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from pegasus_adapters.local_blob_store import LocalBlobStore
from pegasus_core.ports.blob_store import put_bytes, read_all


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_put_removes_what_a_dead_writer_of_the_same_key_left(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    folder = tmp_path / "lectures" / "a" / "chunks"
    folder.mkdir(parents=True)
    host = socket.gethostname()
    dead = folder / f".0001.json~{host}~{dead_pid()}~abc.part"
    live = folder / f".0001.json~{host}~{os.getpid()}~def.part"
    elsewhere = folder / f".0001.json~another-host~{dead_pid()}~ghi.part"
    other_key = folder / f".0002.json~{host}~{dead_pid()}~jkl.part"
    for path in (dead, live, elsewhere, other_key):
        path.write_bytes(b"partial")

    await put_bytes(store, "lectures/a/chunks/0001.json", b"{}")

    assert await read_all(store, "lectures/a/chunks/0001.json") == b"{}"
    assert not dead.exists()
    # A live writer, a writer on another host and another key's writer are left alone.
    assert live.exists() and elsewhere.exists() and other_key.exists()
    assert await store.list("lectures/a/") == ["lectures/a/chunks/0001.json"]
