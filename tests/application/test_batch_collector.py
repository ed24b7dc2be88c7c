"""A batch pauses the cycle collector while it is planned and written, and only then (application/purchases/batch)."""

from __future__ import annotations

import gc

from coalition.application.purchases.batch import _collector_paused


def test_the_collector_is_paused_while_batches_run_and_resumes_after_the_last():
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
        with _collector_paused():  # batches of one process may overlap
            assert not gc.isenabled()
        assert not gc.isenabled()  # the other batch still runs
    assert gc.isenabled()


def test_a_failing_batch_resumes_the_collector():
    try:
        with _collector_paused():
            raise RuntimeError("an invariant broke")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_collector_paused_elsewhere_stays_paused():
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
