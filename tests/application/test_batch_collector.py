"""A batch spaces out the cycle collector while it is planned and written, and only then
(application/purchases/batch): never switched off, so overlapping batches without pause still collect cycles."""

from __future__ import annotations

import gc

from coalition.application.purchases.batch import BATCH_YOUNG_THRESHOLD, _collector_spaced_out


def test_the_collector_is_spaced_out_while_batches_run_and_restored_after_the_last():
    before = gc.get_threshold()
    with _collector_spaced_out():
        assert gc.get_threshold()[0] == BATCH_YOUNG_THRESHOLD and gc.isenabled()
        with _collector_spaced_out():  # batches of one process may overlap
            assert gc.get_threshold()[0] == BATCH_YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == BATCH_YOUNG_THRESHOLD  # the other batch still runs
    assert gc.get_threshold() == before


def test_a_failing_batch_restores_the_collector():
    before = gc.get_threshold()
    try:
        with _collector_spaced_out():
            raise RuntimeError("an invariant broke")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_a_collector_switched_off_elsewhere_stays_off():
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with _collector_spaced_out():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
