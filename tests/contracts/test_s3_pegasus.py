"""Pegasus opened by bootstrap with STORAGE_MODE=s3: retention and integrity read the bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.s3.blob_store import S3BlobStore
from pegasus_core.errors import ConfigError
from pegasus_core.ports.blob_store import put_bytes, read_all
from tests.conftest import StepClock, memory_settings
from tests.helpers import ingest
from tests.s3_server import S3_REGION, object_keys


def s3_settings(tmp_path: Path, endpoint: str, bucket: str) -> Any:
    return memory_settings(
        tmp_path,
        blob_store=None,
        storage_mode="s3",
        s3_bucket=bucket,
        s3_prefix="in-process",
        s3_endpoint_url=endpoint,
        s3_region=S3_REGION,
    )


async def test_retention_and_integrity_work_on_the_bucket(
    tmp_path: Path,
    speech_clip: Path,
    scripted_transcriber: ScriptedTranscriber,
    s3_endpoint: str,
    s3_bucket: str,
    s3_admin: Any,
) -> None:
    clock = StepClock()
    async with open_pegasus(
        s3_settings(tmp_path, s3_endpoint, s3_bucket),
        transcriber=scripted_transcriber,
        clock=clock,
    ) as app:
        assert isinstance(app.ports.blobs, S3BlobStore)
        await ingest(app, speech_clip, auto_process=True)
        audio = (await app.get_lecture("lec-1")).audio.path
        assert f"in-process/{audio}" in await object_keys(s3_admin, s3_bucket, "in-process/")
        report = await app.check_integrity("lec-1", verify_checksum=True)
        assert (report.status, report.missing_count) == ("ok", 0)

        transcript = "lectures/lec-1/transcript.json"
        data = await read_all(app.ports.blobs, transcript)
        await put_bytes(app.ports.blobs, audio, b"not the audio")
        report = await app.check_integrity("lec-1", verify_checksum=True)
        assert {c.kind: c.state for c in report.checks}["audio"] == "checksum_mismatch"

        clock.advance(31 * 86400)
        done = await app.enforce_retention(audio_days=30, transcript_days=60, artifact_days=90)
        assert [a.kind for a in done.actions] == ["audio"]
        assert f"in-process/{audio}" not in await object_keys(s3_admin, s3_bucket, "in-process/")
        report = await app.check_integrity("lec-1")
        checks = {c.kind: c.state for c in report.checks}
        assert (checks["audio"], checks["transcript"], report.status) == ("purged", "ok", "ok")
        assert await read_all(app.ports.blobs, transcript) == data


async def test_s3_mode_needs_a_bucket_and_a_prefix(tmp_path: Path, s3_endpoint: str) -> None:
    settings = s3_settings(tmp_path, s3_endpoint, "b")
    with pytest.raises(ConfigError):
        async with open_pegasus(msgspec.structs.replace(settings, s3_prefix=None)):
            pass
