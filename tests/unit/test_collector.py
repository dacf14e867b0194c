"""The garbage collector's settings for serving."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pegasus_http.collector import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_startup_left_and_collects_young_objects_less_often() -> None:
    gc.unfreeze()
    survivor = [object()]  # a container alive at startup, as the app's are

    tune_collector()

    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0
    assert not any(obj is survivor for obj in gc.get_objects())  # out of the collector's sight
    later = [object()]
    assert any(obj is later for obj in gc.get_objects())
