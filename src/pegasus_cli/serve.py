"""`pegasus serve`: the HTTP API on uvicorn."""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
from typing import TYPE_CHECKING

import click

from pegasus_cli.listeners import REUSE_PORT, per_process_listener
from pegasus_cli.main import CliState, configure_logging, fail
from pegasus_core.errors import PegasusError, UnavailableError
from pegasus_http.supervised import SUPERVISOR_ENV

if TYPE_CHECKING:
    from uvicorn import Config

pass_state = click.make_pass_decorator(CliState)
log = logging.getLogger("pegasus.serve")


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
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    try:
        state.settings  # noqa: B018 - validate before the server starts its workers
    except PegasusError as exc:
        fail(exc)
    configure_logging(json=True)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its samples here; /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pegasus-metrics-")
    config = uvicorn.Config(
        "pegasus_http.app:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is judged by PLC_TRUSTED_PROXIES, not uvicorn
        server_header=False,  # no "server: uvicorn" on every answer: it only tells what we run
        timeout_graceful_shutdown=10,
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # uvicorn's supervisor (health checks, restarts, signals), with a listening socket per
    # worker where the platform allows: see pegasus_cli.listeners.
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    Multiprocess(config, sockets=[_listener(config)]).run()


def _listener(config: Config) -> socket.socket:
    if REUSE_PORT is None:
        return config.bind_socket()  # one socket, shared by the workers
    try:
        listener = per_process_listener(config.host, config.port)
    except OSError as exc:
        fail(
            UnavailableError(
                f"Cannot listen on {config.host}:{config.port}: {exc.strerror or exc}."
            )
        )
    host, port = listener.getsockname()[:2]
    log.info("serving on http://%s:%s, a listening socket per worker", host, port)
    return listener


COMMANDS = (serve,)
