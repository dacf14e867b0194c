"""Benchmark the export renderers on a long lecture, and how the PDF scales with its length.

Renders the long multilingual lecture of tests/study_material.py (36 summary sections of 12
bullets: about 45 PDF pages) and the same lecture twice as long with every renderer, and
reports CPU seconds (process time, so other processes on the machine do not inflate it), output
size, PDF pages, the ratio of each renderer to the Markdown renderer measured in the same run,
and the ratio of the doubled lecture's PDF time to the single one's (linear scaling is 2.0).

Run: .venv/bin/python bench/export_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pypdf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.study_material import bundle, long_artifacts

from pegasus_adapters.bootstrap import renderers
from pegasus_core.artifacts import ExportType
from pegasus_core.ports.renderer import ExportBundle


def cpu_seconds(render: Callable[[ExportBundle], bytes], data: ExportBundle, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        render(data)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per figure")
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    table = renderers()
    times: dict[int, float] = {}
    for scale in (1, 2):
        data = bundle(long_artifacts(sections=36 * scale, bullets=12, cards=40 * scale))
        baseline = cpu_seconds(table[ExportType.MARKDOWN], data, args.repeat)
        print(f"\nlecture x{scale}: {36 * scale * 12} summary bullets, {40 * scale} cards")
        for export_type, render in table.items():
            if export_type in (ExportType.SRT, ExportType.VTT):
                continue  # the bundle has no transcript segments
            seconds = (
                baseline
                if export_type is ExportType.MARKDOWN
                else cpu_seconds(render, data, args.repeat)
            )
            output = render(data)
            pages = ""
            if export_type is ExportType.PDF:
                times[scale] = seconds
                count = len(pypdf.PdfReader(io.BytesIO(output)).pages)
                pages = f", {count} pages, {1000 * seconds / count:.0f} ms CPU per page"
            print(
                f"  {export_type.value:<8} {1000 * seconds:9.1f} ms CPU  "
                f"x{seconds / baseline:8.1f} markdown  {len(output):>9,} bytes{pages}"
            )
    print(f"\nPDF CPU time, doubled lecture / single: {times[2] / times[1]:.2f} (linear: 2.00)")


if __name__ == "__main__":
    main()
