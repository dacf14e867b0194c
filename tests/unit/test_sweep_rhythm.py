"""The sweep's rhythm: every interval, and also just when a running job would turn stale."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

from pegasus_adapters.background import periodic_sweep
from pegasus_core.pegasus import Pegasus
from pegasus_core.use_cases.sweep import SweepReport

LONG_INTERVAL = 60.0  # no pass of the fixed rhythm can come during these tests


class _CountingPegasus:
    """Stands in for Pegasus: counts recovery passes, each answering the next stale time given."""

    def __init__(self, *next_stale_in: float | None) -> None:
        self.ports = SimpleNamespace(policy=SimpleNamespace(sweep_sec=LONG_INTERVAL))
        self._answers = list(next_stale_in)
        self.passes = 0
        self.second_pass = asyncio.Event()

    async def keep_up(self) -> SweepReport:
        return SweepReport()  # on the fixed rhythm only: never a pass before LONG_INTERVAL

    async def recover(self) -> SweepReport:
        self.passes += 1
        if self.passes == 2:
            self.second_pass.set()
        answer = self._answers[min(self.passes, len(self._answers)) - 1]
        return SweepReport(next_stale_in=answer)


async def test_a_pass_runs_when_the_oldest_heartbeat_turns_stale_not_an_interval_later() -> None:
    pegasus = _CountingPegasus(0.3, None)
    async with periodic_sweep(cast(Pegasus, pegasus)):
        # Far sooner than the interval: the second pass came for the job turning stale.
        await asyncio.wait_for(pegasus.second_pass.wait(), timeout=LONG_INTERVAL / 4)
        await asyncio.sleep(0.5)
    assert pegasus.passes == 2  # then back to the rhythm (nothing more runs)


async def test_no_pass_is_aimed_at_a_stale_time_beyond_the_next_regular_pass() -> None:
    pegasus = _CountingPegasus(LONG_INTERVAL + 5)
    async with periodic_sweep(cast(Pegasus, pegasus)):
        await asyncio.sleep(0.5)
    assert pegasus.passes == 1


async def test_a_job_that_stays_stale_does_not_make_the_loop_spin() -> None:
    # A stale row another sweep holds is skipped, so it still looks stale the next time.
    pegasus = _CountingPegasus(-5.0)
    async with periodic_sweep(cast(Pegasus, pegasus)):
        await asyncio.sleep(1.0)
    # At most one pass per MIN_GAP_SEC (0.2 s), and at least one early pass.
    assert 2 <= pegasus.passes <= 6, pegasus.passes
