"""`pegasus worker`: supervised Dramatiq worker processes."""

from __future__ import annotations

import click

from pegasus_cli.main import (
    IO_BOUND_WORKER_THREADS,
    OFFLINE_WORKER_THREADS,
    CliState,
    configure_logging,
    fail,
    run_worker_supervisor,
)
from pegasus_core.errors import PegasusError

pass_state = click.make_pass_decorator(CliState)


@click.command()
@click.option(
    "--processes",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes; one that dies is replaced.",
)
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 64),
    help=(
        f"Jobs each process runs at once  [default: {IO_BOUND_WORKER_THREADS}; "
        f"{OFFLINE_WORKER_THREADS} with the CPU-bound offline engine]"
    ),
)
@pass_state
def worker(state: CliState, processes: int, threads: int | None) -> None:
    """Run jobs from the Redis queue (needs DATABASE_URL and REDIS_URL)."""
    try:
        settings = state.settings
        configure_logging(json=True)
        run_worker_supervisor(settings, processes=processes, threads=threads)
    except PegasusError as exc:
        fail(exc)


COMMANDS = (worker,)
