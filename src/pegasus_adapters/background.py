"""The periodic sweep every API and worker process runs (DESIGN.md section 3).

Its two halves run as two tasks, so a long upkeep pass (re-dispatching a deep backlog)
never delays the recovery of a dead worker's jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from pegasus_core.pegasus import Pegasus
from pegasus_core.use_cases.sweep import SweepReport

log = logging.getLogger("pegasus.sweep")

# A pass aimed at the moment a job turns stale runs this much after it (clock skew between
# this process and the database, the heartbeat's own commit), and at least this long after
# the previous pass ended, so a job that stays stale (a row another sweep holds) cannot
# make the loop spin.
STALE_MARGIN_SEC = 0.05
MIN_GAP_SEC = 0.2
_EARLY_WAKE_SEC = 1e-3  # a timer may fire this much before its time


async def _every(interval: float, run_pass: Callable[[], Awaitable[SweepReport]]) -> None:
    """Run passes at a fixed rate, and also just when a running job would turn stale.

    Fixed rate: a pass starts every interval, however long the previous one took. And when
    a pass reports that a running job turns stale before the next one (its heartbeat is the
    oldest, and may be its last), a pass runs just then: a dead worker's jobs resume
    stale_sec after its last heartbeat, not up to a whole interval later.
    """
    loop = asyncio.get_running_loop()
    next_pass = loop.time()  # when the next pass of the fixed rhythm is due
    while True:
        started = loop.time()
        if started >= next_pass - _EARLY_WAKE_SEC:  # a pass of the rhythm, not an extra one
            next_pass += interval
        stale_at = None
        try:
            report = await run_pass()
            if report.taken_back or report.purged_objects:
                log.info("sweep: %s", report)
            if report.next_stale_in is not None:
                stale_at = started + max(0.0, report.next_stale_in) + STALE_MARGIN_SEC
        except Exception:
            # A database hiccup must not end the loop: the next pass tries again.
            log.exception("sweep failed")
        now = loop.time()
        # After a pass longer than interval, start the next at once, then keep the rhythm.
        next_pass = max(next_pass, now)
        wake = next_pass
        if stale_at is not None and stale_at < next_pass:
            wake = max(stale_at, min(now + MIN_GAP_SEC, next_pass))
            if wake >= next_pass - _EARLY_WAKE_SEC:
                wake = next_pass
        await asyncio.sleep(wake - now)


@asynccontextmanager
async def periodic_sweep(pegasus: Pegasus) -> AsyncIterator[None]:
    """Run both halves of the sweep now and then every sweep_sec until the block ends."""
    interval = pegasus.ports.policy.sweep_sec
    tasks = [
        asyncio.create_task(_every(interval, pegasus.recover), name="pegasus-sweep-recover"),
        asyncio.create_task(_every(interval, pegasus.keep_up), name="pegasus-sweep-upkeep"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
