"""Dispatching job ids to whatever runs them; the jobs table stays the source of truth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

JobHandler = Callable[[str], Awaitable[None]]


class JobQueue(Protocol):
    """Carries job ids to a runner. Duplicate dispatches are allowed: claims are conditional."""

    @property
    def kind(self) -> str:
        """Name the queue for readiness and logs (`inline`, `in_process`, `dramatiq`)."""
        ...

    async def dispatch(self, job_id: str, *, urgent: bool = False) -> None:
        """Hand job_id to a runner. Raises UnavailableError when it cannot be handed over.

        urgent (the sweep's recoveries: taken-back, retried and lost jobs) asks the queue to
        run the job ahead of work that has not waited yet, where the queue can.
        """
        ...

    async def check(self) -> None:
        """Raise UnavailableError when the queue cannot accept dispatches."""
        ...
