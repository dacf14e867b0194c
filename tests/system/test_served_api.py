"""The API served by uvicorn, spoken to over real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.system.cli_runner import cli_env, pegasus_cmd, stored_files
from tests.system.served import served

pytestmark = pytest.mark.slow


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_auth_is_refused_before_the_body_is_read(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with served(storage, PLC_WRITE_API_TOKEN="s3cret") as base:
        before = files_under(storage)
        address = urlsplit(base)
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(
                b"POST /lectures/ingest HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                b"Content-Length: 52428800\r\n\r\n" + b"--xyz\r\n" + b"a" * 1024
            )
            time.sleep(0.5)
            answer = sock.recv(65536).decode("latin-1")
        status_line, _, rest = answer.partition("\r\n")
        assert status_line == "HTTP/1.1 401 Unauthorized", answer
        assert "www-authenticate: bearer" in rest.lower()
        assert "Missing or invalid Authorization header." in rest
        assert files_under(storage) == before  # nothing stored, not even a temporary file
        assert stored_files(storage) == []


def test_an_oversized_declared_upload_is_413_before_reading(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with served(storage, PLC_MAX_AUDIO_UPLOAD_MB="1") as base:
        address = urlsplit(base)
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(
                b"POST /lectures/ingest HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                b"Content-Length: 10485760\r\n\r\n--xyz\r\n"
            )
            time.sleep(0.5)
            answer = sock.recv(65536).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413 "), answer
        assert "connection: close" in answer.lower()
        assert stored_files(storage) == []


def test_several_server_processes_share_the_database_and_aggregate_metrics(
    tmp_path: Path, speech_clip: Path
) -> None:
    import json
    import urllib.request

    import httpx

    storage = tmp_path / "storage"
    with served(storage, workers=2) as base, httpx.Client(base_url=base, timeout=60) as http:
        with speech_clip.open("rb") as handle:
            created = http.post(
                "/lectures/ingest",
                data={
                    "course_id": "c",
                    "preset_id": "exam-mode",
                    "title": "T",
                    "lecture_id": "multi",
                    "auto_process": "true",
                },
                files={"audio": ("clip.wav", handle, "audio/wav")},
            )
        assert created.status_code == 201, created.text
        for _ in range(20):
            assert http.get("/lectures/multi").status_code == 200
        deadline = time.monotonic() + 120
        while http.get("/lectures/multi/progress").json()["overallStatus"] != "completed":
            assert time.monotonic() < deadline, "the lecture was not processed"
            time.sleep(0.5)

        def served_reads() -> float:
            # Summed over both processes; each counts its answers within a flush interval.
            metrics = http.get("/metrics").text
            return sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith(
                    'pegasus_http_requests_total{method="GET",route="/lectures/'
                    '{lecture_id}",status="200"}'
                )
            )

        deadline = time.monotonic() + 10
        while (count := served_reads()) != 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count == 20
        assert "server" not in http.get("/health").headers  # no "server: uvicorn"
        ready = json.loads(urllib.request.urlopen(f"{base}/health/ready").read())
        assert ready["status"] == "ok"


def _tcp_sockets(port: int, state: str) -> set[int]:
    """Return the inodes of the local IPv4 TCP sockets on port in state ('0A' listening,
    '01' established), read from /proc/net/tcp."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def _owners(inodes: set[int]) -> dict[int, set[int]]:
    """Map each process holding one of the socket inodes to the inodes it holds."""
    owners: dict[int, set[int]] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [link.readlink().name for link in fd_dir.iterdir()]
        except OSError:
            continue  # gone, or not ours to read
        held = {int(name[8:-1]) for name in links if name.startswith("socket:[")} & inodes
        if held:
            owners[int(fd_dir.parent.name)] = held
    return owners


def _listening(port: int, count: int) -> set[int]:
    """Return the listening sockets on port once there are count (or after 30 s)."""
    deadline = time.monotonic() + 30  # /health answers once the first worker listens
    while len(listening := _tcp_sockets(port, "0A")) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    return listening


def test_each_server_process_listens_on_a_socket_of_its_own(tmp_path: Path) -> None:
    # One socket shared by the workers lets the first to wake accept every waiting
    # connection: kept alive, they can all end up on one worker (one core) for good.
    storage = tmp_path / "storage"
    with served(storage, workers=2) as base:
        port = int(urlsplit(base).port or 0)
        listening = _listening(port, 2)
        owners = _owners(listening)
        assert len(listening) == 2, owners
        assert sorted(len(held) for held in owners.values()) == [1, 1], owners

        connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
        try:
            for conn in connections:
                conn.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            for conn in connections:
                assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
            served_by = {pid: len(held) for pid, held in _owners(_tcp_sockets(port, "01")).items()}
        finally:
            for conn in connections:
                conn.close()
    # The kernel hashes each connection to a listener: all 32 on one would be 2 in 2**32.
    assert set(served_by) == set(owners), served_by
    assert sum(served_by.values()) == 32
    # Both workers log their access lines (spawned afresh, they configure logging again).
    log = (storage.parent / f"serve-{port}.log").read_text()
    assert log.count('"message":"GET /health 200"') >= 32, log[-2000:]


def test_server_workers_end_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with served(storage, workers=2) as base:
        port = int(urlsplit(base).port or 0)
        workers = set(_owners(_listening(port, 2)))
        assert len(workers) == 2
        supervisors = {int(Path(f"/proc/{pid}/stat").read_text().split()[3]) for pid in workers}
        assert len(supervisors) == 1, supervisors
        os.kill(supervisors.pop(), signal.SIGKILL)
        # Left alone, the workers would go on serving and hold the port.
        assert _listening(port, 0) == set()
    log = (storage.parent / f"serve-{port}.log").read_text()
    assert log.count("is gone; shutting down") == 2, log[-2000:]


def test_a_second_server_on_a_taken_port_is_refused_in_one_line(tmp_path: Path) -> None:
    # With SO_REUSEPORT a second server of the same user could otherwise join the first's
    # listeners and take a share of its connections.
    storage = tmp_path / "storage"
    with served(storage, workers=2) as base:
        port = str(urlsplit(base).port)
        for workers in ("2", "1"):
            second = subprocess.run(
                pegasus_cmd("serve", "--port", port, "--workers", workers),
                env=cli_env(storage),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert second.returncode != 0, second
            assert "Traceback" not in second.stderr, second.stderr
            if workers == "2":
                assert second.stderr == (
                    f"pegasus: unavailable: Cannot listen on 127.0.0.1:{port}: "
                    "Address already in use.\n"
                )
        assert len(_listening(int(port), 2)) == 2  # the first server's, and no others
