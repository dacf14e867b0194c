"""The served API in S3 mode (STORAGE_MODE=s3) against moto_server: every byte in the bucket."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.audio_fixtures import make_speech_clip, moov_after_mdat
from tests.s3_server import S3_REGION, object_keys, pending_uploads
from tests.system.cli_runner import stored_files
from tests.system.served import free_port, served

pytestmark = pytest.mark.slow

PREFIX = "pegasus-sys"


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "STORAGE_MODE": "s3",
        "S3_BUCKET": bucket,
        "S3_PREFIX": PREFIX,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": S3_REGION,
        "PLC_TRANSCRIBER": "scripted",
        "PLC_GENERATOR": "offline",
    }


async def ingest(http: httpx.AsyncClient, clip: Path, lecture_id: str, **fields: str) -> Any:
    with clip.open("rb") as handle:
        return await http.post(
            "/lectures/ingest",
            data={
                "course_id": "s3-course",
                "preset_id": "exam-mode",
                "title": "Stored in S3",
                "lecture_id": lecture_id,
                **fields,
            },
            files={"audio": (clip.name, handle, "application/octet-stream")},
        )


async def wait_until(check: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.25)


async def test_the_whole_pipeline_runs_in_s3_mode_and_delete_leaves_nothing(
    tmp_path: Path, speech_clip: Path, s3_endpoint: str, s3_bucket: str, s3_admin: Any
) -> None:
    storage = tmp_path / "storage"
    lecture_prefix = f"{PREFIX}/lectures/s3-lec/"
    with served(storage, **s3_env(s3_endpoint, s3_bucket)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            created = await ingest(http, speech_clip, "s3-lec", auto_process="true")
            assert created.status_code == 201, created.text
            assert created.json()["audioPath"] == "lectures/s3-lec/audio.wav"

            async def completed() -> bool:
                progress = (await http.get("/lectures/s3-lec/progress")).json()
                assert progress["overallStatus"] != "failed", progress
                return bool(progress["overallStatus"] == "completed")

            await wait_until(completed, "the lecture was not processed")
            keys = await object_keys(s3_admin, s3_bucket, lecture_prefix)
            assert f"{lecture_prefix}audio.wav" in keys
            assert f"{lecture_prefix}transcript.json" in keys
            assert f"{lecture_prefix}artifacts/summary.json" in keys
            assert f"{lecture_prefix}exports/s3-lec.md" in keys
            assert stored_files(storage) == []  # nothing of the lecture on the local disk

            # Download: streamed by the API, or a presigned URL with Accept: application/json.
            stored = await s3_admin.get_object(
                Bucket=s3_bucket, Key=f"{lecture_prefix}exports/s3-lec.md"
            )
            async with stored["Body"] as body:
                markdown = await body.read()
            streamed = await http.get("/exports/s3-lec/markdown")
            assert streamed.status_code == 200
            assert streamed.content == markdown
            assert streamed.headers["content-disposition"] == 'attachment; filename="s3-lec.md"'
            signed = await http.get(
                "/exports/s3-lec/markdown", headers={"Accept": "application/json"}
            )
            assert signed.status_code == 200
            url = signed.json()["downloadUrl"]
            assert "X-Amz-Expires=900" in url
            async with httpx.AsyncClient(timeout=30) as anonymous:
                fetched = await anonymous.get(url)
                assert fetched.content == markdown
                assert fetched.headers["content-type"] == "text/markdown"
                assert fetched.headers["content-disposition"] == 'attachment; filename="s3-lec.md"'
                listing = (await http.get("/lectures/s3-lec/artifacts")).json()
                assert set(listing["artifactDownloadUrls"]) == set(listing["artifacts"])
                summary_url = listing["artifactDownloadUrls"]["summary"]
                assert summary_url.startswith(s3_endpoint)
                summary = (await anonymous.get(summary_url)).json()
                assert summary == listing["artifacts"]["summary"]

            # Integrity and readiness read the bucket.
            report = (await http.get("/lectures/s3-lec/integrity?verify=checksum")).json()
            assert (report["status"], report["missingCount"]) == ("ok", 0), report
            await s3_admin.delete_object(Bucket=s3_bucket, Key=f"{lecture_prefix}transcript.json")
            report = (await http.get("/lectures/s3-lec/integrity")).json()
            states = {check["kind"]: check["state"] for check in report["checks"]}
            assert states["transcript"] == "missing_file"
            assert states["audio"] == "ok"
            ready = (await http.get("/health/ready")).json()
            assert ready["checks"]["storage"]["status"] == "ok", ready

            deleted = await http.delete("/lectures/s3-lec", params={"purge_storage": "true"})
            assert deleted.status_code == 200, deleted.text
            assert deleted.json()["deleted"]["storagePaths"] == len(keys) - 1
    assert await object_keys(s3_admin, s3_bucket, lecture_prefix) == []
    assert await pending_uploads(s3_admin, s3_bucket) == []


async def test_a_non_faststart_m4a_is_accepted_in_s3_mode(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, s3_admin: Any
) -> None:
    clip = make_speech_clip(tmp_path / "late.m4a", 20.0, "m4a_moov_at_end")
    assert moov_after_mdat(clip)
    with served(tmp_path / "storage", **s3_env(s3_endpoint, s3_bucket)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            created = await ingest(http, clip, "late-index")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["audioPath"] == "lectures/late-index/audio.m4a"
    assert body["durationSec"] == pytest.approx(20.0, abs=0.2)
    assert await object_keys(s3_admin, s3_bucket, f"{PREFIX}/lectures/late-index/") == [
        f"{PREFIX}/lectures/late-index/audio.m4a"
    ]


async def test_an_upload_cut_off_halfway_leaves_no_object_and_no_pending_upload(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, s3_admin: Any
) -> None:
    total = 40 * 1024 * 1024
    head = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="course_id"\r\n\r\ns3-course\r\n'
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="preset_id"\r\n\r\nexam-mode\r\n'
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="title"\r\n\r\nCut off\r\n'
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="lecture_id"\r\n\r\ncut-off\r\n'
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n"
    )
    with served(tmp_path / "storage", **s3_env(s3_endpoint, s3_bucket)) as base:
        address = urlsplit(base)
        sock = socket.create_connection((address.hostname, address.port), timeout=30)
        try:
            sock.sendall(
                b"POST /lectures/ingest HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                + f"Content-Length: {total}\r\n\r\n".encode()
                + head
            )
            piece = b"\x01" * (1024 * 1024)
            for _ in range(20):  # half the declared body: two and a half 8 MiB parts
                await asyncio.to_thread(sock.sendall, piece)

            async def uploading() -> bool:
                return await pending_uploads(s3_admin, s3_bucket) == [
                    f"{PREFIX}/lectures/cut-off/upload.part"
                ]

            await wait_until(uploading, "the multipart upload never started", timeout=60)
        finally:
            sock.close()  # the client goes away mid-body

        async def cleaned_up() -> bool:
            return await pending_uploads(s3_admin, s3_bucket) == []

        await wait_until(cleaned_up, "the multipart upload was not aborted", timeout=60)
        assert await object_keys(s3_admin, s3_bucket, f"{PREFIX}/") == []
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            assert (await http.get("/lectures/cut-off")).status_code == 404


async def test_with_the_bucket_unreachable_readiness_fails_and_an_ingest_is_503(
    tmp_path: Path, speech_clip: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with served(tmp_path / "storage", **s3_env(nowhere, "pegasus-nowhere")) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            ready = await http.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["storage"]["status"] == "error"
            answer = await ingest(http, speech_clip, "unstored")
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert nowhere.split("//")[1] not in answer.text  # no host in the problem
            assert (await http.get("/lectures/unstored")).status_code == 404


@pytest.mark.postgres
@pytest.mark.redis
async def test_api_and_worker_on_separate_disks_share_only_the_database_queue_and_bucket(
    postgres_conninfo: str,
    tmp_path: Path,
    speech_clip: Path,
    s3_endpoint: str,
    s3_bucket: str,
    s3_admin: Any,
) -> None:
    from tests.system.private_redis import private_redis
    from tests.system.test_distributed_faults import distributed_env, running_worker

    api_disk, worker_disk = tmp_path / "api-machine", tmp_path / "worker-machine"
    with private_redis(tmp_path / "redis") as broker:
        env = distributed_env(postgres_conninfo, broker.url, **s3_env(s3_endpoint, s3_bucket))
        with running_worker(worker_disk, env), served(api_disk, **env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                created = await ingest(http, speech_clip, "shared", auto_process="true")
                assert created.status_code == 201, created.text

                async def completed() -> bool:
                    progress = (await http.get("/lectures/shared/progress")).json()
                    assert progress["overallStatus"] != "failed", progress
                    return bool(progress["overallStatus"] == "completed")

                await wait_until(completed, "the worker did not process the lecture")
                transcript = (await http.get("/lectures/shared/transcript")).json()
                assert transcript["segments"]
                download = await http.get("/exports/shared/json")
                assert download.status_code == 200 and download.json()
                deleted = await http.delete("/lectures/shared")
                assert deleted.status_code == 200, deleted.text
    for disk in (api_disk, worker_disk):
        assert [p for p in disk.rglob("*") if p.is_file()] == []
    assert await object_keys(s3_admin, s3_bucket, f"{PREFIX}/lectures/") == []
    assert await pending_uploads(s3_admin, s3_bucket) == []
