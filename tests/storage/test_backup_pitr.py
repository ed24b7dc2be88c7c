"""Point-in-time recovery on a private throwaway cluster (the drill of docs/backups.md, ~20 s on 2 cores).

A base backup, purchases, a recovery target time, more purchases: the recovered cluster holds exactly the purchases
committed before the target, `coalition verify` passes and balances and statements equal those seen at the target.
"""

from __future__ import annotations

import pytest

from tests.storage.backup_drill import PURCHASES_PER_ROUND, cannot_run, run_drill

REASON = cannot_run()


@pytest.mark.skipif(REASON is not None, reason=f"the PITR drill cannot run here: {REASON}")
def test_point_in_time_recovery_keeps_exactly_the_purchases_before_the_target_time():
    result = run_drill(say=lambda _line: None)
    assert result["rounds"] == {"A": PURCHASES_PER_ROUND, "B": PURCHASES_PER_ROUND, "C": 0}, result["recovery_log"]
    assert result["violations"] == []
    assert result["figures"] == result["expected"]
    assert "recovery stopping before commit" in result["recovery_log"]
