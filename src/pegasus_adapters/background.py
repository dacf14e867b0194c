"""The periodic sweep every API and worker process runs (DESIGN.md section 3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pegasus_core.pegasus import Pegasus

log = logging.getLogger("pegasus.sweep")


async def _sweep_forever(pegasus: Pegasus, interval: float) -> None:
    # Fixed rate: a pass starts every interval, however long the previous one took, so a
    # stale job waits at most stale_sec + interval (plus the pass itself) to be taken back.
    loop = asyncio.get_running_loop()
    next_pass = loop.time()
    while True:
        next_pass += interval
        try:
            report = await pegasus.sweep()
            if report.taken_back or report.purged_objects:
                log.info("sweep: %s", report)
        except Exception:
            # A database hiccup must not end the loop: the next pass tries again.
            log.exception("sweep failed")
        # After a pass longer than interval, start the next at once, then keep the rhythm.
        next_pass = max(next_pass, loop.time())
        await asyncio.sleep(next_pass - loop.time())


@asynccontextmanager
async def periodic_sweep(pegasus: Pegasus) -> AsyncIterator[None]:
    """Run the sweep now and then every sweep_sec until the block ends."""
    task = asyncio.create_task(
        _sweep_forever(pegasus, pegasus.ports.policy.sweep_sec), name="pegasus-sweep"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
