"""Two versions of `pegasus serve` on one seeded database, measured in alternating wrk runs.

    .venv/bin/python bench/api_bench.py --upload-mib 0 --rounds 1 --duration 1 --keep
    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/serve_ab.py --database pegasus_bench_<pid> \\
        --a-src /tmp/before/src --b-src src --path '/lectures?limit=50'

A change worth a few percent is lost in this machine's drift (its speed moves by 1.5x within
minutes), so the two servers run side by side and take turns: pair after pair of wrk runs
(A then B, then B then A), each pair judged by its own B/A ratios. It prints every pair, then
the median B/A of req/s and of CPU per request (the server and our database's backends), and
both servers' p99s. A server's Python path puts its --x-src first, so one venv serves both.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from psycopg.conninfo import make_conninfo

from api_bench import ADMIN_URL, Server, Throughput, run_wrk, start_server, stop_server
from benchkit import step

DESCRIPTION = "Two versions of pegasus serve on one seeded database, in alternating wrk runs."


def loaded_from(python_path: str) -> str:
    """Return where a server with python_path first would import pegasus_http from."""
    env = {**os.environ, "PYTHONPATH": python_path}
    code = "import pegasus_http; print(pegasus_http.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def cpu_ms(run: Throughput) -> float:
    return run.cpu_ms("server") + run.cpu_ms("postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--database", required=True, help="a database api_bench.py --keep left")
    parser.add_argument("--a-src", required=True, help="put first on server A's Python path")
    parser.add_argument("--b-src", required=True, help="put first on server B's Python path")
    parser.add_argument("--path", required=True, help="the request, e.g. /lectures?limit=50")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--server-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()

    url = make_conninfo(args.admin_url, dbname=args.database)
    sources = {"A": str(Path(args.a_src).resolve()), "B": str(Path(args.b_src).resolve())}
    for name, source in sources.items():
        step(f"server {name} imports pegasus_http from {loaded_from(source)}")
    with tempfile.TemporaryDirectory(prefix="pegasus-serve-ab-") as workdir:
        servers: dict[str, Server] = {}
        try:
            for name, source in sources.items():
                servers[name] = start_server(
                    url,
                    Path(workdir) / "storage",
                    Path(workdir),
                    args.server_workers,
                    python_path=source,
                    name=f"server-{name}",
                )
            runs: dict[str, list[Throughput]] = {"A": [], "B": []}
            for server in servers.values():  # warm both up
                run_wrk(server.base_url + args.path, 2, server)
            for pair in range(args.pairs):
                order = ("A", "B") if pair % 2 == 0 else ("B", "A")
                for name in order:
                    server = servers[name]
                    runs[name].append(run_wrk(server.base_url + args.path, args.duration, server))
                a, b = runs["A"][-1], runs["B"][-1]
                print(
                    f"pair {pair + 1:2}: A {a.rps:7,.0f} req/s {cpu_ms(a):.3f} ms CPU/req"
                    f" | B {b.rps:7,.0f} req/s {cpu_ms(b):.3f} ms CPU/req"
                    f" | B/A req/s {b.rps / a.rps:.3f}, CPU/req {cpu_ms(b) / cpu_ms(a):.3f}",
                    flush=True,
                )
        finally:
            for server in servers.values():
                with contextlib.suppress(Exception):
                    stop_server(server)
    errors = sum(run.errors for name in runs for run in runs[name])
    pairs = list(zip(runs["A"], runs["B"], strict=True))
    rps = statistics.median(b.rps / a.rps for a, b in pairs)
    cpu = statistics.median(cpu_ms(b) / cpu_ms(a) for a, b in pairs)
    print(f"median B/A over {len(pairs)} pairs: req/s {rps:.3f}, CPU per request {cpu:.3f}")
    for name in runs:
        p99s = ", ".join(f"{run.p99_ms:.1f}" for run in sorted(runs[name], key=lambda r: r.p99_ms))
        print(f"p99 ms {name}: {p99s}")
    if errors:
        print(f"errors (non-2xx answers, socket errors): {errors}")
        sys.exit(1)


if __name__ == "__main__":
    main()
