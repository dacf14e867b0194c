"""Every export type downloads with its content type and file name, PDF and Anki included."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdf
from litestar.testing import AsyncTestClient

from pegasus_core.pegasus import Pegasus
from tests.helpers import ingest

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_pdf_and_apkg_download_with_their_types_and_names(
    client: Client, pegasus: Pegasus, speech_clip: Path
) -> None:
    await ingest(pegasus, speech_clip, auto_process=True)
    summary = (await client.get("/lectures/lec-1/summary")).json()
    assert summary["links"]["exports"]["pdf"] == "/exports/lec-1/pdf"

    pdf = await client.get("/exports/lec-1/pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="lec-1.pdf"'
    assert int(pdf.headers["content-length"]) == len(pdf.content)
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    assert "The water cycle" in reader.pages[0].extract_text()
    assert len(reader.pages) >= 3  # a title page, then the parts

    apkg = await client.get("/exports/lec-1/apkg")
    assert apkg.status_code == 200, apkg.text
    assert apkg.headers["content-type"] == "application/apkg"
    assert apkg.headers["content-disposition"] == 'attachment; filename="lec-1.apkg"'
    with zipfile.ZipFile(io.BytesIO(apkg.content)) as archive:
        assert archive.read("collection.anki2").startswith(b"SQLite format 3\x00")
