"""The batch pauses Python's cycle collector while it plans and writes, and always leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from coalition.application.purchases.batch import no_cycle_collection


def test_the_collector_is_paused_inside_and_resumed_after_even_on_an_error() -> None:
    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), no_cycle_collection():
        raise RuntimeError("a batch failed")
    assert gc.isenabled()


def test_overlapping_batches_leave_the_collector_running_once_all_have_ended() -> None:
    first, second = no_cycle_collection(), no_cycle_collection()
    first.__enter__()
    second.__enter__()  # found it paused: leaves resuming to the first
    first.__exit__(None, None, None)
    assert gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        with no_cycle_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
