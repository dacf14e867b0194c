"""The `pegasus` command: settings once, one facade call per command, one error table."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from pegasus_adapters.bootstrap import (
    IO_BOUND_WORKER_THREADS,
    OFFLINE_WORKER_THREADS,
    configure_logging,
    open_pegasus,
    run_worker_supervisor,
)
from pegasus_adapters.settings import Settings, load_settings
from pegasus_core.errors import (
    ConfigError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PegasusError,
    TooLargeError,
    UnavailableError,
    UnsupportedAudioError,
    ValidationError,
)
from pegasus_core.pegasus import Pegasus

__all__ = [
    "EXIT_CODES",
    "IO_BOUND_WORKER_THREADS",
    "OFFLINE_WORKER_THREADS",
    "CliState",
    "cli",
    "configure_logging",
    "fail",
    "run_async",
    "run_worker_supervisor",
]

P = ParamSpec("P")
R = TypeVar("R")

# One table: error kind -> (exit code, slug). The slug matches the HTTP problem type.
EXIT_CODES: dict[type[PegasusError], tuple[int, str]] = {
    InvalidRequestError: (2, "invalid-request"),
    ValidationError: (2, "validation-error"),
    NotFoundError: (3, "not-found"),
    ConflictError: (4, "conflict"),
    TooLargeError: (5, "too-large"),
    UnsupportedAudioError: (6, "unsupported-audio"),
    UnavailableError: (7, "unavailable"),
    ConfigError: (8, "configuration"),
    PegasusError: (1, "error"),
}


def exit_code(exc: PegasusError) -> tuple[int, str]:
    """Return the exit code and slug of the most specific entry for this error."""
    for kind in type(exc).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_CODES[PegasusError]


class CliState:
    """What every command gets: the settings and the --debug flag."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """Load settings once, on first use."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @asynccontextmanager
    async def pegasus(self, *, run_jobs: bool = False) -> AsyncIterator[Pegasus]:
        """Open the facade; jobs run in this process only when run_jobs (else they wait)."""
        settings = self.settings
        if not run_jobs and settings.job_queue is None:
            import msgspec

            settings = msgspec.structs.replace(settings, job_queue="deferred")
        async with open_pegasus(settings, sweep=run_jobs) as pegasus:
            yield pegasus


def fail(exc: PegasusError) -> NoReturn:
    """Print one line for a core error and exit with its code."""
    code, slug = exit_code(exc)
    message = str(exc) if isinstance(exc, ConfigError) else " ".join(str(exc).split())
    click.echo(f"pegasus: {slug}: {message}", err=True)
    sys.exit(code)


def run_async(
    func: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, R]:
    """Run an async Click command on its own event loop, mapping errors to one line."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        state = click.get_current_context().find_object(CliState)
        debug = state.debug if state else False
        try:
            return asyncio.run(func(*args, **kwargs))
        except PegasusError as exc:
            if debug:
                raise
            fail(exc)
        except KeyboardInterrupt:
            click.echo("pegasus: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if debug:
                raise
            # A bug, not bad input: still one line, with the way to see more.
            click.echo(
                f"pegasus: internal-error: {type(exc).__name__}: {exc} "
                "(run with --debug for the traceback)",
                err=True,
            )
            sys.exit(70)

    return wrapper


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Pegasus: turn recorded lectures into study material."""
    configure_logging(level=logging.DEBUG if debug else logging.WARNING, json=False)
    ctx.obj = CliState(debug)


def _register() -> None:
    from pegasus_cli import db, jobs, lectures, serve, worker

    groups = (lectures, jobs, db, serve, worker)
    for command in (command for group in groups for command in group.COMMANDS):
        cli.add_command(command)


_register()
