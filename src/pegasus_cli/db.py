"""Maintenance commands: migrate and retention."""

from __future__ import annotations

import click
import msgspec

from pegasus_cli.main import CliState, run_async

pass_state = click.make_pass_decorator(CliState)


@click.command()
@pass_state
@run_async
async def migrate(state: CliState) -> None:
    """Apply pending database migrations (every command also does this at start)."""
    async with state.pegasus():
        pass
    click.echo("Database is up to date.")


@click.command()
@click.option("--storage-dir", default=None, help="Local storage directory (local mode only).")
@click.option("--audio-days", type=click.IntRange(min=0), default=None)
@click.option("--transcript-days", type=click.IntRange(min=0), default=None)
@click.option("--artifact-days", type=click.IntRange(min=0), default=None)
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; change nothing.")
@click.pass_context
@run_async
async def retention(
    ctx: click.Context,
    storage_dir: str | None,
    audio_days: int | None,
    transcript_days: int | None,
    artifact_days: int | None,
    dry_run: bool,
) -> None:
    """Delete stored files older than their retention period (0 days keeps them)."""
    state = ctx.find_object(CliState)
    assert state is not None
    settings = state.settings
    if storage_dir is not None and settings.storage_mode == "local":
        state._settings = msgspec.structs.replace(settings, storage_dir=storage_dir)
    settings = state.settings
    async with state.pegasus() as pegasus:
        report = await pegasus.enforce_retention(
            audio_days=settings.retention_audio_days if audio_days is None else audio_days,
            transcript_days=(
                settings.retention_transcript_days if transcript_days is None else transcript_days
            ),
            artifact_days=(
                settings.retention_artifact_days if artifact_days is None else artifact_days
            ),
            dry_run=dry_run,
        )
    verb = "Would delete" if dry_run else "Deleted"
    for action in report.actions:
        click.echo(f"{verb} {action.kind:<24} {action.path}")
    for lecture_id in report.skipped_active_lectures:
        click.echo(f"Skipped lecture {lecture_id}: it has an active job")
    click.echo(f"{verb} {len(report.actions)} file(s).")


COMMANDS = (migrate, retention)
