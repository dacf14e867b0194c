"""Job commands: the dead-letter list and replay."""

from __future__ import annotations

import click
import msgspec

from pegasus_cli.main import CliState, run_async
from pegasus_core.pagination import PageRequest

pass_state = click.make_pass_decorator(CliState)


@click.group("jobs")
def jobs_group() -> None:
    """Inspect and replay jobs."""


@jobs_group.command("failed")
@click.option("--lecture", "lecture_id", default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@pass_state
@run_async
async def failed(state: CliState, lecture_id: str | None, limit: int, offset: int) -> None:
    """List failed jobs, newest first."""
    async with state.pegasus() as pegasus:
        page = await pegasus.list_failed_jobs(
            PageRequest(limit=limit, offset=offset), lecture_id=lecture_id
        )
    for job in page.items:
        click.echo(f"{job.id}  {job.job_type.value:<13} {job.lecture_id}  {job.error}")
    click.echo(f"({page.pagination.count} of {page.total})")


@jobs_group.command("show")
@click.argument("job_id")
@pass_state
@run_async
async def show(state: CliState, job_id: str) -> None:
    """Print a job as JSON."""
    async with state.pegasus() as pegasus:
        job = await pegasus.get_job(job_id)
    click.echo(msgspec.json.format(msgspec.json.encode(job)).decode())


@jobs_group.command("replay")
@click.argument("job_id")
@pass_state
@run_async
async def replay(state: CliState, job_id: str) -> None:
    """Queue a failed job again (run `pegasus wait LECTURE_ID` to process it)."""
    async with state.pegasus() as pegasus:
        submitted = await pegasus.replay_job(job_id)
    job = submitted.job
    verb = "Already queued as" if submitted.deduplicated else "Queued"
    click.echo(f"{verb} job {job.id} ({job.job_type.value}) for lecture {job.lecture_id}.")


COMMANDS = (jobs_group,)
