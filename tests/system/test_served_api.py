"""The API served by uvicorn, spoken to over real sockets."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.system.cli_runner import stored_files
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
        with urllib.request.urlopen(f"{base}/metrics") as response:
            metrics = response.read().decode()
        served_reads = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith(
                'pegasus_http_requests_total{method="GET",route="/lectures/'
                '{lecture_id}",status="200"}'
            )
        ]
        assert sum(served_reads) == 20  # summed over both processes
        ready = json.loads(urllib.request.urlopen(f"{base}/health/ready").read())
        assert ready["status"] == "ok"
