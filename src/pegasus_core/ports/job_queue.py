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

    async def dispatch(self, job_id: str) -> None:
        """Hand job_id to a runner. Raises UnavailableError when it cannot be handed over."""
        ...

    async def check(self) -> None:
        """Raise UnavailableError when the queue cannot accept dispatches."""
        ...
