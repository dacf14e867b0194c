from __future__ import annotations

import pytest

from pegasus_core.errors import ValidationError
from pegasus_core.pagination import Page, PageRequest


@pytest.mark.parametrize(
    ("limit", "offset"), [(0, 0), (-1, 0), (501, 0), (50, -1), (50, 2_147_483_648)]
)
def test_out_of_range_windows_are_refused(limit: int, offset: int) -> None:
    with pytest.raises(ValidationError):
        PageRequest(limit=limit, offset=offset)


def test_the_edges_of_the_ranges_are_accepted() -> None:
    assert PageRequest(limit=1, offset=0).limit == 1
    assert PageRequest(limit=500, offset=2_147_483_647).offset == 2_147_483_647


def pagination(total: int, count: int, limit: int, offset: int) -> dict[str, object]:
    page = Page(
        items=list(range(count)), total=total, request=PageRequest(limit=limit, offset=offset)
    )
    p = page.pagination
    return {"count": p.count, "hasMore": p.has_more, "next": p.next_offset, "prev": p.prev_offset}


def test_first_middle_last_and_past_the_end_pages() -> None:
    assert pagination(120, 50, 50, 0) == {"count": 50, "hasMore": True, "next": 50, "prev": None}
    assert pagination(120, 50, 50, 50) == {"count": 50, "hasMore": True, "next": 100, "prev": 0}
    assert pagination(120, 20, 50, 100) == {"count": 20, "hasMore": False, "next": None, "prev": 50}
    assert pagination(120, 0, 50, 500) == {"count": 0, "hasMore": False, "next": None, "prev": 450}
    assert pagination(0, 0, 50, 0) == {"count": 0, "hasMore": False, "next": None, "prev": None}


def test_prev_offset_never_goes_below_zero() -> None:
    assert pagination(100, 10, 50, 10)["prev"] == 0
