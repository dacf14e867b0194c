"""`pegasus serve`: the HTTP API on uvicorn."""

from __future__ import annotations

import os
import tempfile

import click

from pegasus_cli.main import CliState, configure_logging, fail
from pegasus_core.errors import PegasusError

pass_state = click.make_pass_decorator(CliState)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each runs the sweep; metrics are aggregated).",
)
@pass_state
def serve(state: CliState, host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (settings are validated before the server starts)."""
    import uvicorn

    try:
        state.settings  # noqa: B018 - validate before the server starts its workers
    except PegasusError as exc:
        fail(exc)
    configure_logging(json=True)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its samples here; /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pegasus-metrics-")
    uvicorn.run(
        "pegasus_http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is judged by PLC_TRUSTED_PROXIES, not uvicorn
        timeout_graceful_shutdown=10,
    )


COMMANDS = (serve,)
