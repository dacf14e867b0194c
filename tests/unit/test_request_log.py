"""Answered requests are counted and logged in batches, off their path, in the usual shape."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Mapping, Sequence

import pytest

from pegasus_adapters.json_logging import JsonFormatter, JsonLineWriter
from pegasus_http.metrics import REQUESTS
from pegasus_http.request_log import RequestLog

Line = tuple[float, str, Mapping[str, object]]


def served(route: str, status: int = 200) -> float:
    return REQUESTS.labels("GET", route, str(status))._value.get()


async def test_requests_are_counted_and_logged_together_once_the_interval_passes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pegasus.access")
    batches: list[Sequence[Line]] = []
    log = RequestLog(batches.append, interval=0.05)
    before = served("/unit/a")
    answered = time.time()
    log.record("GET", "/unit/a", 200, 0.0012345, "rid-1")
    log.record("GET", "/unit/a", 200, 0.002, "rid-2")
    assert batches == [] and served("/unit/a") == before  # nothing on the request's path

    deadline = time.monotonic() + 5
    while not batches and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert served("/unit/a") == before + 2
    [batch] = batches
    assert [(message, dict(fields)) for _, message, fields in batch] == [
        (
            "GET /unit/a 200",
            {
                "method": "GET",
                "route": "/unit/a",
                "status": 200,
                "duration_ms": 1.23,
                "request_id": "rid-1",
            },
        ),
        (
            "GET /unit/a 200",
            {
                "method": "GET",
                "route": "/unit/a",
                "status": 200,
                "duration_ms": 2.0,
                "request_id": "rid-2",
            },
        ),
    ]
    assert all(answered <= at <= time.time() for at, _, _ in batch)  # when answered


async def test_a_full_queue_is_written_at_once_and_flush_writes_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batches: list[Sequence[Line]] = []
    caplog.set_level(logging.INFO, logger="pegasus.access")
    log = RequestLog(batches.append, interval=3600, max_pending=3)
    for n in range(4):
        log.record("GET", "/unit/b", 404, 0.001, f"rid-{n}")
    assert [len(batch) for batch in batches] == [3]
    log.flush()
    log.flush()  # nothing left: no empty batch
    assert [len(batch) for batch in batches] == [3, 1]


async def test_without_a_writer_lines_go_through_logging_dated_when_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pegasus.access")
    log = RequestLog(interval=3600)
    log.record("POST", "/unit/c", 201, 0.5, "rid-c")
    answered = time.time()
    await asyncio.sleep(0.02)
    assert [r for r in caplog.records if r.name == "pegasus.access"] == []
    log.flush()
    [record] = [r for r in caplog.records if r.name == "pegasus.access"]
    assert record.created <= answered
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "POST /unit/c 201" and line["request_id"] == "rid-c"


async def test_a_silenced_access_logger_still_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pegasus.access")
    batches: list[Sequence[Line]] = []
    log = RequestLog(batches.append, interval=3600)
    before = served("/unit/d")
    log.record("GET", "/unit/d", 200, 0.001, "rid-d")
    log.flush()
    assert batches == [] and served("/unit/d") == before + 1


def test_batched_lines_read_as_lines_logged_one_at_a_time() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    fields = {"method": "GET", "route": "/x", "status": 200, "duration_ms": 1.5, "request_id": "r"}
    at = 1_767_225_600.25
    JsonLineWriter(handler, "pegasus.access")([(at, "GET /x 200", fields), (at + 1, "b", {})])
    record = logging.getLogger("pegasus.access").makeRecord(
        "pegasus.access", logging.INFO, __file__, 0, "GET /x 200", (), None, extra=fields
    )
    record.created = at
    first, second, end = stream.getvalue().split("\n")
    assert first == JsonFormatter().format(record)
    assert json.loads(first)["time"] == "2026-01-01T00:00:00.250Z"
    assert json.loads(second)["time"] == "2026-01-01T00:00:01.250Z" and end == ""
