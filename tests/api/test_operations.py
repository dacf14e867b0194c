"""Readiness, metrics, access logs and the OpenAPI document."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.json_logging import JsonFormatter
from pegasus_core.errors import UnavailableError
from pegasus_http.app import create_app
from tests.conftest import memory_settings

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_readiness_reports_each_check(client: Client) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["time"].endswith("Z")
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latencyMs"] >= 0
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["queue"] == {"status": "skipped", "reason": "inline job runner"}


class BrokenStore:
    """A storage adapter whose health probe fails (its other methods are never reached)."""

    async def check(self) -> None:
        raise UnavailableError("Storage is not writable.")

    async def list(self, prefix: str) -> list[str]:
        return []


async def test_a_failing_check_makes_readiness_503_with_a_sanitized_reason(
    tmp_path: Path,
) -> None:
    async with (
        open_pegasus(memory_settings(tmp_path), blobs=BrokenStore()) as pegasus,  # type: ignore[arg-type]
        AsyncTestClient(app=create_app(pegasus=pegasus)) as client,
    ):
        response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["storage"]["status"] == "error"
    assert body["checks"]["storage"]["reason"] == "Storage is not writable."
    assert str(tmp_path) not in response.text


async def test_metrics_count_requests_by_route_template_and_jobs_by_status(
    client: Client,
) -> None:
    await client.get("/lectures/some-id")
    await client.get("/lectures/other-id")
    text = (await client.get("/metrics")).text
    assert (
        'pegasus_http_requests_total{method="GET",route="/lectures/{lecture_id}",'
        'status="404"}' in text
    )
    assert "some-id" not in text
    assert "pegasus_http_request_duration_seconds_bucket" in text
    assert "pegasus_queue_depth" in text


async def test_every_request_logs_one_json_access_line_with_its_request_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pegasus.access")
    found = await client.get("/health", headers={"x-request-id": "probe-1"})
    missing = await client.get("/lectures/nope")
    client.app.state.requests.flush()  # else logged within request_log.FLUSH_INTERVAL_SEC
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "pegasus.access"
    ]
    assert [(line["request_id"], line["route"], line["status"]) for line in lines] == [
        ("probe-1", "/health", 200),
        (missing.headers["x-request-id"], "/lectures/{lecture_id}", 404),
    ]
    assert found.headers["x-request-id"] == "probe-1"
    assert all(line["method"] == "GET" and line["duration_ms"] >= 0 for line in lines)
    assert lines[1]["message"] == "GET /lectures/{lecture_id} 404"


async def test_openapi_documents_every_route(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    for path in (
        "/lectures/ingest",
        "/lectures/{lecture_id}/transcribe",
        "/health/ready",
        "/exports/{lecture_id}/{export_type}",
        "/jobs/{job_id}/replay",
    ):
        assert path in paths, path


async def test_openapi_documents_problem_statuses_and_the_ingest_form(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    ingest = schema["paths"]["/lectures/ingest"]["post"]
    form = ingest["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["course_id", "preset_id", "title", "audio"]
    assert form["properties"]["audio"]["format"] == "binary"
    assert {"201", "400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(
        ingest["responses"]
    )
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith(("/health", "/metrics")):
                continue
            expected = {"401", "403", "422"} | ({"429"} if method != "get" else set())
            assert expected <= set(operation["responses"]), (method, path)
