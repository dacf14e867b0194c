"""Export downloads and artifact links when storage cannot sign URLs (local and memory)."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from tests.api.test_read_endpoints import problem
from tests.helpers import ingest

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_without_signed_urls_an_export_streams_whatever_accept_says(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip, auto_process=True)
    plain = await client.get("/exports/lec-1/markdown")
    wants_json = await client.get("/exports/lec-1/markdown", headers={"Accept": "application/json"})
    assert wants_json.status_code == 200
    assert wants_json.headers["content-type"] == "text/markdown; charset=utf-8"
    assert wants_json.content == plain.content
    problem(
        await client.get("/exports/lec-1/poems", headers={"Accept": "application/json"}),
        404,
        "Export not found.",
    )

    listing = (await client.get("/lectures/lec-1/artifacts")).json()
    urls = listing["artifactDownloadUrls"]
    assert urls["summary"] == "/lectures/lec-1/artifacts/summary"
    assert (await client.get(urls["summary"])).json() == listing["artifacts"]["summary"]
