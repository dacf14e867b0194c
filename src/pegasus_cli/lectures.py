"""Lecture commands: ingest, status, wait, lectures list, export."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import click
import msgspec

from pegasus_cli.display import follow
from pegasus_cli.main import CliState, run_async
from pegasus_core.errors import PegasusError
from pegasus_core.pagination import PageRequest
from pegasus_core.pegasus import Pegasus
from pegasus_core.use_cases.ingest import IngestRequest
from pegasus_core.use_cases.reports import LectureProgress

_READ = 1024 * 1024
pass_state = click.make_pass_decorator(CliState)


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_READ):
            yield chunk


def _title_from(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip()[:300] or "Lecture"


async def _finish(state: CliState, pegasus: Pegasus, progress: LectureProgress) -> None:
    lecture_id = progress.lecture.id
    if progress.snapshot.overall_status == "failed":
        failed = [
            f"{name}: {stage.error}"
            for name, stage in progress.snapshot.stages.items()
            if stage.status == "failed"
        ]
        raise PegasusError(f"Lecture {lecture_id} failed ({'; '.join(failed)}).")
    _, exports = await pegasus.artifact_inventory(lecture_id)
    click.echo(f"Lecture {lecture_id} is ready. Exports:")
    root = state.settings.storage_path.resolve()
    for export in exports:
        location = (
            (root / export.storage_path)
            if state.settings.storage_mode == "local"
            else export.storage_path
        )
        click.echo(f"  {export.export_type.value:<9} {location}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "course_id", default="default", show_default=True)
@click.option("--course-title", default=None, help="Title of a new course.")
@click.option("--preset", "preset_id", default="exam-mode", show_default=True)
@click.option("--title", default=None, help="Lecture title (default: from the file name).")
@click.option("--lecture-id", default=None, help="Lecture id (default: generated).")
@click.option("--wait", is_flag=True, help="Run transcription, generation and export now.")
@pass_state
@run_async
async def ingest(
    state: CliState,
    file: Path,
    course_id: str,
    course_title: str | None,
    preset_id: str,
    title: str | None,
    lecture_id: str | None,
    wait: bool,
) -> None:
    """Ingest an audio FILE as a lecture and queue its processing."""
    request = IngestRequest(
        course_id=course_id,
        preset_id=preset_id,
        title=title or _title_from(file),
        lecture_id=lecture_id,
        course_title=course_title,
        original_filename=file.name,
        auto_process=True,
    )
    async with state.pegasus(run_jobs=wait) as pegasus:
        result = await pegasus.ingest_lecture(request, _read_file(file))
        lecture = result.lecture
        click.echo(
            f"Ingested lecture {lecture.id} ({lecture.duration_sec or 0:.1f} s of audio)"
            f" into course {lecture.course_id}."
        )
        if not wait:
            click.echo(f"Queued. Run `pegasus wait {lecture.id}` to process it now.")
            return
        await _finish(state, pegasus, await follow(pegasus, lecture.id))


@click.command()
@click.argument("lecture_id")
@pass_state
@run_async
async def wait(state: CliState, lecture_id: str) -> None:
    """Process a lecture's queued or interrupted jobs here and show progress until done."""
    async with state.pegasus(run_jobs=True) as pegasus:
        await pegasus.get_lecture(lecture_id)
        await pegasus.sweep()
        await _finish(state, pegasus, await follow(pegasus, lecture_id))


@click.command()
@click.argument("lecture_id")
@click.option("--json", "as_json", is_flag=True, help="Print the progress document as JSON.")
@pass_state
@run_async
async def status(state: CliState, lecture_id: str, as_json: bool) -> None:
    """Show a lecture's status and the state of each stage."""
    async with state.pegasus() as pegasus:
        progress = await pegasus.lecture_progress(lecture_id)
    if as_json:
        click.echo(msgspec.json.encode(progress).decode())
        return
    lecture, snap = progress.lecture, progress.snapshot
    click.echo(f"{lecture.id}  {lecture.title}")
    click.echo(
        f"  status {lecture.status.value}, {snap.progress_percent}% "
        f"(current stage: {snap.current_stage})"
    )
    for name, stage in snap.stages.items():
        error = f"  error: {stage.error}" if stage.error else ""
        click.echo(f"  {name:<14} {stage.status:<12} {round(stage.progress * 100):3d}%{error}")


@click.group("lectures")
def lectures_group() -> None:
    """List lectures."""


@lectures_group.command("list")
@click.option("--course", "course_id", default=None)
@click.option("--status", "status_filter", default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@pass_state
@run_async
async def list_lectures(
    state: CliState, course_id: str | None, status_filter: str | None, limit: int, offset: int
) -> None:
    """List lectures, newest first."""
    async with state.pegasus() as pegasus:
        page = await pegasus.list_lectures(
            PageRequest(limit=limit, offset=offset), course_id=course_id, status=status_filter
        )
    for lecture in page.items:
        click.echo(f"{lecture.id}  {lecture.status.value:<11} {lecture.course_id}  {lecture.title}")
    click.echo(f"({page.pagination.count} of {page.total})")


@click.command()
@click.argument("lecture_id")
@click.option("--type", "export_type", default="markdown", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: stdout).",
)
@pass_state
@run_async
async def export(state: CliState, lecture_id: str, export_type: str, output: Path | None) -> None:
    """Write a rendered export of a lecture to a file."""
    async with state.pegasus() as pegasus:
        opened = await pegasus.open_export(lecture_id, export_type)
        if output is None:
            async for chunk in opened.chunks:
                sys.stdout.buffer.write(chunk)
            return
        partial = output.with_name(f".{output.name}.part")
        try:
            with partial.open("wb") as handle:
                async for chunk in opened.chunks:
                    handle.write(chunk)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(f"Wrote {output}")


COMMANDS = (ingest, wait, status, lectures_group, export)
