"""What a running stage gets: its lease, lease-fenced progress and tracked storage writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pegasus_core.context import Ports
from pegasus_core.errors import LeaseLostError
from pegasus_core.jobs import Lease
from pegasus_core.lectures import Lecture
from pegasus_core.ports.blob_store import BlobInfo, put_bytes
from pegasus_core.ports.repository import UnitOfWork
from pegasus_core.use_cases.common import refresh_status


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A finished stage: its job result and the records to write when it completes.

    apply() runs in the completing transaction, fenced together with the job's own completion.
    """

    result: Mapping[str, Any]
    apply: Callable[[UnitOfWork], Awaitable[None]]


@dataclass(kw_only=True)
class JobContext:
    """The running attempt of a job, as its stage sees it."""

    ports: Ports
    lease: Lease
    lecture: Lecture
    written: list[str] = field(default_factory=list)

    async def beat(self, progress: float | None = None) -> None:
        """Write a heartbeat (and progress). Raises LeaseLostError if the attempt lost its job."""
        async with self.ports.uow() as uow:
            alive = await uow.jobs.heartbeat(self.lease, now=await uow.now(), progress=progress)
            if alive and progress is not None:
                await refresh_status(self.ports, uow, self.lecture.id)
            await uow.commit()
        if not alive:
            raise LeaseLostError("The job was taken back, cancelled or deleted.")

    async def put(self, key: str, data: bytes) -> BlobInfo:
        """Store an object this attempt produced, remembering it for cleanup."""
        self.written.append(key)
        return await put_bytes(self.ports.blobs, key, data)
