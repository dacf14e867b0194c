"""Readiness: can this process reach its database, queue and storage right now?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from pegasus_core.context import Ports
from pegasus_core.errors import PegasusError
from pegasus_core.records import Record

CHECK_TIMEOUT_SEC = 2.0
# Queues that live inside this process have nothing to reach.
_LOCAL_QUEUES = {"inline", "in_process", "deferred"}


class Check(Record, frozen=True, kw_only=True, omit_defaults=True):
    """One dependency's state; reasons are short and never carry hosts or credentials."""

    status: str
    reason: str | None = None
    latency_ms: float | None = None


class Readiness(Record, frozen=True, kw_only=True):
    """All checks; `degraded` when any failed."""

    status: str
    checks: Mapping[str, Check]


async def _timed(probe: Callable[[], Awaitable[None]]) -> Check:
    started = time.perf_counter()
    reason: str | None = None
    try:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_SEC)
    except TimeoutError:
        reason = f"no answer within {CHECK_TIMEOUT_SEC:g} s"
    except PegasusError as exc:
        reason = str(exc)
    except Exception as exc:  # a driver error: name its kind only, never its message
        reason = f"unavailable ({type(exc).__name__})"
    latency = round((time.perf_counter() - started) * 1000, 2)
    return Check(status="error" if reason else "ok", reason=reason, latency_ms=latency)


async def check_readiness(ports: Ports) -> Readiness:
    """Check database, queue and storage concurrently, each within a short timeout."""

    async def database() -> None:
        async with ports.uow(read_only=True) as uow:
            await uow.courses.get("readiness-probe")

    names = ["database", "storage"]
    probes = [_timed(database), _timed(ports.blobs.check)]
    if ports.queue.kind not in _LOCAL_QUEUES:
        names.append("queue")
        probes.append(_timed(ports.queue.check))
    results = dict(zip(names, await asyncio.gather(*probes), strict=True))
    if "queue" not in results:
        results["queue"] = Check(status="skipped", reason=f"{ports.queue.kind} job runner")
    ok = all(check.status != "error" for check in results.values())
    return Readiness(
        status="ok" if ok else "degraded",
        checks={name: results[name] for name in ("database", "queue", "storage")},
    )
