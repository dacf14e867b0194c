"""The pooled renderer: same bytes as in process, niced, and a dead process is survivable."""

from __future__ import annotations

import asyncio
import os

import pytest

from pegasus_adapters.pdf_export import render_pdf
from pegasus_adapters.render_pool import NICENESS, PooledRenderer
from pegasus_core.errors import UnavailableError
from pegasus_core.ports.renderer import ExportBundle
from tests.study_material import bundle, long_artifacts


def report_process(data: ExportBundle) -> bytes:
    """A renderer that tells which process ran it, at which niceness."""
    return f"{os.getpid()} {os.nice(0)} {data.lecture.id}".encode()


def die(data: ExportBundle) -> bytes:
    os._exit(1)


async def test_the_pool_renders_the_same_pdf_in_another_process_at_lower_priority() -> None:
    small = bundle(long_artifacts(sections=1, bullets=2, cards=2))
    pdf = PooledRenderer("pegasus_adapters.pdf_export:render_pdf")
    probe = PooledRenderer("tests.unit.test_render_pool:report_process")
    try:
        assert await asyncio.to_thread(pdf, small) == render_pdf(small)
        pid, niceness, lecture = (await asyncio.to_thread(probe, small)).decode().split()
        assert int(pid) != os.getpid() and lecture == "lec-long"
        assert int(niceness) == min(19, os.nice(0) + NICENESS)
    finally:
        await pdf.aclose()
        await probe.aclose()


async def test_a_dead_pool_process_is_unavailable_once_then_replaced() -> None:
    small = bundle(long_artifacts(sections=1, bullets=1, cards=1))
    dying = PooledRenderer("tests.unit.test_render_pool:die")
    try:
        with pytest.raises(UnavailableError, match="process died"):
            await asyncio.to_thread(dying, small)
        dying.target = "tests.unit.test_render_pool:report_process"
        assert (await asyncio.to_thread(dying, small)).endswith(b"lec-long")
    finally:
        await dying.aclose()
    with pytest.raises(UnavailableError, match="shutting down"):
        await asyncio.to_thread(dying, small)
