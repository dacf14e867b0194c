"""Live progress of a lecture's stages on the terminal."""

from __future__ import annotations

import asyncio
import sys

import click

from pegasus_core.jobs import STAGES
from pegasus_core.pegasus import Pegasus
from pegasus_core.use_cases.reports import LectureProgress

_BAR = 24


def _line(name: str, status: str, fraction: float) -> str:
    filled = round(_BAR * fraction)
    bar = "#" * filled + "-" * (_BAR - filled)
    return f"  {name:<14} [{bar}] {round(100 * fraction):3d}%  {status}"


def _lines(progress: LectureProgress) -> list[str]:
    stages = progress.snapshot.stages
    return [
        _line(stage.value, stages[stage.value].status, stages[stage.value].progress)
        for stage in STAGES
    ]


async def follow(pegasus: Pegasus, lecture_id: str, *, interval: float = 0.25) -> LectureProgress:
    """Show each stage's progress until the lecture completes or a stage fails.

    On a terminal the three lines are redrawn in place; otherwise a line is printed whenever a
    stage's status or tenth of progress changes.
    """
    tty = sys.stdout.isatty()
    shown: list[str] = []
    last_keys: dict[str, tuple[str, int]] = {}
    while True:
        progress = await pegasus.lecture_progress(lecture_id)
        lines = _lines(progress)
        if tty:
            if shown:
                click.echo(f"\x1b[{len(shown)}F", nl=False)
            for line in lines:
                click.echo(f"{line}\x1b[K")
            shown = lines
        else:
            for stage in STAGES:
                state = progress.snapshot.stages[stage.value]
                key = (state.status, int(state.progress * 10))
                if last_keys.get(stage.value) != key and state.status != "not_started":
                    last_keys[stage.value] = key
                    click.echo(_line(stage.value, state.status, state.progress).strip())
        overall = progress.snapshot.overall_status
        if overall in ("completed", "failed"):
            return progress
        await asyncio.sleep(interval)
