"""Abuse of a real served API: forged X-Forwarded-For, unauthenticated uploads, leaks.

X-Forwarded-For is believed only from PLC_TRUSTED_PROXIES (here 127.0.0.2), so a client on
127.0.0.1 rotating it stays in one bucket, while a proxy on 127.0.0.2 gets one bucket per
forwarded client. An unauthenticated upload is answered before its body is read, and nothing
is stored. Tokens never reach the logs; readiness and errors never name a DSN, host or path.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.system.served import served
from tests.system.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.slow

LIMIT = 25
WRITE, READ = "write-token-6f1c2e", "read-token-9a7b3d"
ABUSE = {
    "PLC_TRUSTED_PROXIES": "127.0.0.2",
    "PLC_WRITE_RATE_LIMIT_MAX_REQUESTS": str(LIMIT),
    # Far longer than the test, so no hit leaves the window while it runs.
    "PLC_WRITE_RATE_LIMIT_WINDOW_SEC": "3600",
    "PLC_TRANSCRIBER": "scripted",
    "PLC_GENERATOR": "scripted",
}


def from_address(base: str, address: str, **headers: str) -> httpx.Client:
    """A client whose socket is bound to a given loopback address."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=30, headers=headers)


def test_forwarded_for_is_believed_only_from_the_trusted_proxy(
    tmp_path: Path, speech_clip: Path
) -> None:
    with served(tmp_path / "storage", **ABUSE) as base:
        with from_address(base, "127.0.0.2", **{"X-Forwarded-For": "198.51.100.99"}) as setup:
            with speech_clip.open("rb") as audio:
                created = setup.post(
                    "/lectures/ingest",
                    data={"course_id": "abuse", "preset_id": "exam-mode", "title": "Abuse"},
                    files={"audio": ("clip.wav", audio, "audio/wav")},
                )
            assert created.status_code == 201, created.text
            lecture = created.json()["lectureId"]
        path = f"/lectures/{lecture}/transcribe"

        # From 127.0.0.1 (not trusted), a new X-Forwarded-For on every request: one bucket.
        statuses: dict[int, int] = {}
        missing_retry_after = 0
        with from_address(base, "127.0.0.1") as direct:
            for index in range(1000):
                forged = f"203.0.{index // 250}.{index % 250 + 1}"
                answer = direct.post(path, headers={"X-Forwarded-For": forged})
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code == 429:
                    missing_retry_after += not int(answer.headers.get("Retry-After", "0")) >= 1
                    assert (
                        answer.json()["detail"] == "Too many write requests. Please retry shortly."
                    )
        assert statuses == {202: LIMIT, 429: 1000 - LIMIT}, statuses
        assert missing_retry_after == 0

        # From the trusted proxy, each forwarded client has a bucket of its own.
        with from_address(base, "127.0.0.2") as proxy:
            for client in ("192.0.2.1", "192.0.2.2"):
                answers = [
                    proxy.post(path, headers={"X-Forwarded-For": f"{client}, 10.0.0.1"}).status_code
                    for _ in range(LIMIT + 2)
                ]
                assert answers == [202] * LIMIT + [429] * 2, (client, answers)
            # The proxy's own address is a third bucket, and the forged one a fourth.
            assert proxy.post(path).status_code == 202
            assert proxy.post(path, headers={"X-Forwarded-For": "not-an-ip"}).status_code == 202


def test_unauthenticated_uploads_are_refused_before_their_body_and_tokens_stay_out_of_logs(
    tmp_path: Path, speech_clip: Path
) -> None:
    storage = tmp_path / "storage"
    env = {"PLC_WRITE_API_TOKEN": WRITE, "PLC_READ_API_TOKEN": READ, **ABUSE}
    with served(storage, **env) as base:
        port = int(base.rsplit(":", 1)[1])
        declared = 100 * 1024 * 1024  # under the upload limit: only the token can refuse it
        for authorization in (b"", b"Authorization: Bearer wrong-token-00c4\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    b"POST /lectures/ingest HTTP/1.1\r\nHost: x\r\n" + authorization
                    + b"Content-Type: multipart/form-data; boundary=b\r\n"
                    + f"Content-Length: {declared}\r\n\r\n".encode()
                    + b"--b\r\n" + b"x" * 65536
                )  # fmt: skip
                answer = _read_response(sock)
                head = answer.split(b"\r\n", 1)[0]
                assert head in (b"HTTP/1.1 401 Unauthorized", b"HTTP/1.1 403 Forbidden"), answer
                assert b"application/problem+json" in answer
                # The server does not wait for (or read) the other 99.9 MB: it hangs up.
                assert _closed_by_server(sock), "the server kept the connection to read the body"
        assert not [p for p in storage.rglob("*") if p.is_file() and "lectures" in p.parts]

        with httpx.Client(base_url=base, timeout=30) as http:
            ok = http.get("/lectures", headers={"Authorization": f"Bearer {READ}"})
            assert ok.status_code == 200
            with speech_clip.open("rb") as audio:
                created = http.post(
                    "/lectures/ingest",
                    data={"course_id": "c", "preset_id": "exam-mode", "title": "t"},
                    files={"audio": ("clip.wav", audio, "audio/wav")},
                    headers={"Authorization": f"Bearer {WRITE}", "Idempotency-Key": "k-1"},
                )
            assert created.status_code == 201, created.text
            http.get("/lectures/%0A", headers={"Authorization": f"Bearer {WRITE}"})
            # Log injection: a newline in an id, a tab and a forged line in the request id.
            forged = {"Authorization": f"Bearer {READ}", "x-request-id": b"a\tforged-line"}
            assert http.get("/lectures/abc%0D%0Aforged-line", headers=forged).status_code == 400
            http.post("/lectures/x/export", headers={"Authorization": "Bearer wrong-token-00c4"})
    logs = b"".join(path.read_bytes() for path in tmp_path.glob("serve-*.log"))
    assert b"/lectures" in logs  # the access log was captured
    for secret in (WRITE, READ, "wrong-token-00c4"):
        assert secret.encode() not in logs, secret
    for line in logs.splitlines():  # one JSON record a line: nothing forged a line of its own
        record = json.loads(line)
        assert "forged-line" not in str(record.get("request_id")), record


@pytest.mark.postgres
def test_readiness_and_errors_leak_no_dsn_host_or_path(
    postgres_conninfo: str, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    upstream = psycopg.conninfo.conninfo_to_dict(postgres_conninfo)
    address = (str(upstream["host"]), int(str(upstream["port"])))
    with tcp_proxy(address) as proxy:
        dsn = psycopg.conninfo.make_conninfo(
            postgres_conninfo, port=str(proxy.port), password="pw-7d1e0b"
        )
        env = {"DATABASE_URL": dsn, "PLC_INLINE_JOBS": "true", **ABUSE}
        with (
            served(storage, **env) as base,
            httpx.Client(base_url=base, timeout=60) as http,
        ):  # a hang fails
            assert http.get("/health/ready").status_code == 200
            proxy.cut()  # the database goes away
            ready = http.get("/health/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["database"]["status"] == "error"
            failed = http.get("/lectures")
            assert failed.status_code == 503, failed.text
            assert failed.json()["type"].endswith("/unavailable")
            secrets = ("pw-7d1e0b", "127.0.0.1", str(proxy.port), "postgres", str(storage))
            for body in (ready.text, failed.text):
                for secret in secrets:
                    assert secret not in body, (secret, body)
            proxy.restore()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _closed_by_server(sock: socket.socket) -> bool:
    """Tell whether the server hangs up (EOF or reset) while we send nothing more."""
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True
