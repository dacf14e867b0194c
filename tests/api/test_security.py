"""Bearer tokens and the write rate limit, decided before any handler or body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_core.ports.rate_limiter import RateLimiter
from pegasus_http.app import create_app
from pegasus_http.security import client_key, parse_networks
from tests.api.test_read_endpoints import problem
from tests.conftest import memory_settings

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def secured(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    limit = getattr(request, "param", 100)
    settings = memory_settings(
        tmp_path,
        write_api_token="w-secret",
        read_api_token="r-secret",
        write_rate_limit_max_requests=limit,
    )
    async with (
        open_pegasus(settings) as pegasus,
        AsyncTestClient(app=create_app(pegasus=pegasus, settings=settings)) as client,
    ):
        yield client


async def test_writes_need_the_write_token(secured: Client) -> None:
    missing = await secured.post("/lectures/x/transcribe")
    problem(missing, 401, "Missing or invalid Authorization header.")
    assert missing.headers["www-authenticate"] == "Bearer"
    problem(await secured.post("/lectures/x/transcribe", headers={"Authorization": "Basic w"}), 401)
    problem(await secured.post("/lectures/x/transcribe", headers={"Authorization": "Bearer "}), 401)
    problem(
        await secured.post("/lectures/x/transcribe", headers={"Authorization": "Bearer r-secret"}),
        403,
        "Invalid API token.",
    )
    problem(await secured.delete("/lectures/x", headers={"Authorization": "Bearer nope"}), 403)
    ok = await secured.post("/lectures/x/transcribe", headers={"Authorization": "Bearer w-secret"})
    problem(ok, 404, "Lecture not found.")  # past auth


async def test_reads_need_a_read_or_write_token_except_public_paths(secured: Client) -> None:
    problem(await secured.get("/lectures"), 401)
    problem(await secured.get("/lectures", headers={"Authorization": "Bearer zzz"}), 403)
    for token in ("r-secret", "w-secret"):
        response = await secured.get("/lectures", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    for public in ("/health", "/schema/openapi.json"):
        assert (await secured.get(public)).status_code == 200, public


@pytest.mark.parametrize("secured", [5], indirect=True)
async def test_the_write_limit_answers_429_with_retry_after(secured: Client) -> None:
    headers = {"Authorization": "Bearer w-secret"}
    statuses = [
        (await secured.post("/lectures/x/export", headers=headers)).status_code for _ in range(7)
    ]
    assert statuses == [404] * 5 + [429] * 2
    limited = await secured.post("/lectures/x/export", headers=headers)
    body = problem(limited, 429, "Too many write requests. Please retry shortly.")
    assert int(limited.headers["retry-after"]) >= 1 and body["title"]
    assert (await secured.get("/health")).status_code == 200  # reads are not limited


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["127.0.0.2", "10.0.0.0/8"])

    def scope(peer: str, forwarded: str | None) -> dict[str, object]:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1234), "headers": headers}

    assert client_key(scope("127.0.0.1", "1.2.3.4"), trusted) == "127.0.0.1"  # type: ignore[arg-type]
    assert client_key(scope("127.0.0.2", "1.2.3.4, 5.6.7.8"), trusted) == "1.2.3.4"  # type: ignore[arg-type]
    assert client_key(scope("10.1.2.3", "not-an-ip"), trusted) == "10.1.2.3"  # type: ignore[arg-type]
    assert client_key(scope("127.0.0.2", None), trusted) == "127.0.0.2"  # type: ignore[arg-type]
    assert client_key(scope("127.0.0.1", "9.9.9.9"), parse_networks([""])) == "127.0.0.1"  # type: ignore[arg-type]


async def test_the_in_process_limiter_slides(monkeypatch: pytest.MonkeyPatch) -> None:
    from pegasus_adapters.memory.rate_limiter import InProcessRateLimiter

    now = [100.0]
    limiter: RateLimiter = InProcessRateLimiter(clock=lambda: now[0])
    results = []
    for step in range(6):
        now[0] = 100.0 + step * 10
        results.append((await limiter.hit("k", limit=3, window_sec=35)).allowed)
    assert results == [True, True, True, False, True, True]
    refused = await limiter.hit("k", limit=3, window_sec=35)
    assert not refused.allowed and refused.retry_after_sec == 5
    assert (await limiter.hit("other", limit=3, window_sec=30)).allowed


async def test_every_route_in_the_openapi_document_is_guarded(secured: Client) -> None:
    schema = (await secured.get("/schema/openapi.json")).json()
    checked = 0
    for template, operations in schema["paths"].items():
        path = template
        for name in (
            "lecture_id",
            "course_id",
            "job_id",
            "preset_id",
            "artifact_type",
            "export_type",
        ):
            path = path.replace("{" + name + "}", "x")
        assert "{" not in path, template
        for method in operations:
            public = method == "get" and (path.startswith(("/health", "/metrics", "/schema")))
            if public:
                continue
            send = getattr(secured, method)
            missing = await send(path)
            wrong = await send(path, headers={"Authorization": "Bearer wrong"})
            assert missing.status_code == 401, (method, template, missing.status_code)
            assert missing.headers["www-authenticate"] == "Bearer"
            assert wrong.status_code == 403, (method, template, wrong.status_code)
            checked += 1
    assert checked >= 25  # every operation but the public health, metrics and schema
