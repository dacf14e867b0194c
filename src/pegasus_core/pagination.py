"""Pagination: the request window, its validation and the response block of every list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from pegasus_core.errors import ValidationError
from pegasus_core.records import Record

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 2_147_483_647


class PageRequest(Record, frozen=True, kw_only=True):
    """A window over a list ordered newest first (createdAt desc, id desc)."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise ValidationError(f"offset must be between 0 and {MAX_OFFSET}.", field="offset")


class Pagination(Record, frozen=True, kw_only=True):
    """The `pagination` block of CONTRACT.md section 1."""

    limit: int
    offset: int
    count: int
    total: int
    has_more: bool
    next_offset: int | None
    prev_offset: int | None


class Page(Record, Generic[T], frozen=True, kw_only=True):
    """One page of items and the total number of items in the list."""

    items: Sequence[T]
    total: int
    request: PageRequest

    @property
    def pagination(self) -> Pagination:
        """Compute the contract's pagination block from the window, the count and the total."""
        limit, offset, count = self.request.limit, self.request.offset, len(self.items)
        has_more = offset + count < self.total
        return Pagination(
            limit=limit,
            offset=offset,
            count=count,
            total=self.total,
            has_more=has_more,
            next_offset=offset + count if has_more else None,
            prev_offset=max(0, offset - limit) if offset > 0 else None,
        )
