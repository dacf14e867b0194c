"""A listening socket per server process, so the kernel spreads connections over them.

uvicorn's supervisor binds one socket and hands it to every worker process it spawns. On
that shared socket the worker that wakes first accepts every connection waiting, and
connections that are kept alive stay where they landed: wrk's 16, or a proxy's keep-alive
pool, often end up 13 to 3 or all on one worker, which then serves them on one core while
the others idle (measured on `GET /lectures/{id}/progress`, 2 workers: 1,840 req/s when
one worker held all 16 connections, 2,700 to 3,100 when they were split evenly).

With SO_REUSEPORT each worker listens on a socket of its own bound to the same address,
and the kernel hashes each new connection to one of them: the split follows the binomial
law (16 connections on one of 2 workers: 2 chances in 65,536).
"""

from __future__ import annotations

import socket
from typing import Any

REUSE_PORT = getattr(socket, "SO_REUSEPORT", None)  # Linux, the BSDs, macOS


class PerProcessListener(socket.socket):
    """The server's address, held by the supervisor and never listened on.

    uvicorn passes its socket to each worker by pickling it (multiprocessing's spawn): this
    one arrives as a new socket of the worker's own, bound to the same address with
    SO_REUSEPORT, on which the worker then listens. The supervisor's socket keeps the port
    (`--port 0` included) while the workers come and go; not listening, it is given no
    connection.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return bind_reusable, (self.family, self.getsockname())


def bind_reusable(
    family: socket.AddressFamily, address: Any, *, kind: type[socket.socket] = socket.socket
) -> socket.socket:
    """Return a TCP socket of class kind bound to address with SO_REUSEADDR and SO_REUSEPORT."""
    assert REUSE_PORT is not None, "SO_REUSEPORT is not available on this platform"
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, REUSE_PORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def per_process_listener(host: str, port: int) -> PerProcessListener:
    """Bind host:port for a supervisor whose workers each listen on their own socket.

    Raises OSError when the address cannot be bound (not local, or in use: by any socket,
    including another server's SO_REUSEPORT ones, which a second `pegasus serve` on the same
    port would otherwise join and share the connections with).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    sock = bind_reusable(family, (host, port), kind=PerProcessListener)
    assert isinstance(sock, PerProcessListener)
    return sock
