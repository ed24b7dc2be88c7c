"""Device charges in the domain (issue 15): every hold, capture and release balances per asset and moves exactly the
held amount out of HELD_MONEY; a session's minutes are rounded up and capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.device_charges import (
    HeldMoney,
    HoldNotOpen,
    HoldStatus,
    capture_amount,
    plan_capture,
    plan_hold,
    plan_release,
    require_held,
    session_minutes,
)
from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind, sums_per_asset

WALLET, HELD, PREPAID = 1, 2, 3
ACCOUNTS = HeldMoney("RUB", WALLET, HELD, PREPAID)
START = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def _by_account(tx) -> dict[int, int]:
    return {p.account_id: p.amount for p in tx.postings}


@given(held=st.integers(1, 10**12), data=st.data())
def test_a_hold_then_its_capture_balance_and_empty_the_held_money(held: int, data: st.DataObject) -> None:
    captured = data.draw(st.integers(0, held))
    hold = plan_hold(ACCOUNTS, held)
    close = plan_capture(ACCOUNTS, held, captured)
    assert all(total == 0 for total in sums_per_asset(hold.postings).values())
    assert all(total == 0 for total in sums_per_asset(close.postings).values())
    net: dict[int, int] = {}
    for tx in (hold, close):
        for account, amount in _by_account(tx).items():
            net[account] = net.get(account, 0) + amount
    assert net.get(HELD, 0) == 0
    assert net.get(PREPAID, 0) == captured
    assert net.get(WALLET, 0) == -captured
    assert close.kind is (TransactionKind.DEVICE_CHARGE if captured else TransactionKind.DEVICE_RELEASE)


def test_the_ledger_of_a_partial_capture_in_exact_figures() -> None:
    assert _by_account(plan_hold(ACCOUNTS, 3000)) == {WALLET: -3000, HELD: 3000}
    assert _by_account(plan_capture(ACCOUNTS, 3000, 1240)) == {HELD: -3000, PREPAID: 1240, WALLET: 1760}
    assert _by_account(plan_capture(ACCOUNTS, 3000, 3000)) == {HELD: -3000, PREPAID: 3000}
    assert _by_account(plan_release(ACCOUNTS, 3000)) == {HELD: -3000, WALLET: 3000}


def test_a_capture_takes_at_most_what_is_held() -> None:
    assert capture_amount(None, 500, "RUB") == 500
    assert capture_amount(200, 500, "RUB") == 200
    with pytest.raises(InvalidInput) as refused:
        capture_amount(501, 500, "RUB")
    assert refused.value.field == "amount"
    with pytest.raises(InvalidInput):
        plan_capture(ACCOUNTS, 500, 501)


@pytest.mark.parametrize(
    ("elapsed", "most", "minutes"),
    [
        (timedelta(0), 120, 0),
        (timedelta(seconds=1), 120, 1),
        (timedelta(minutes=7, seconds=10), 120, 8),
        (timedelta(minutes=8), 120, 8),
        (timedelta(hours=5), 120, 120),
        (timedelta(seconds=-30), 120, 0),  # a clock that went back pays nothing
    ],
)
def test_a_sessions_minutes_are_rounded_up_and_capped(elapsed: timedelta, most: int, minutes: int) -> None:
    assert session_minutes(START, START + elapsed, most) == minutes


def test_only_a_held_hold_before_its_expiry_may_close() -> None:
    require_held(HoldStatus.HELD, START + timedelta(seconds=1), START)
    for status in (HoldStatus.CAPTURED, HoldStatus.VOIDED, HoldStatus.EXPIRED):
        with pytest.raises(HoldNotOpen):
            require_held(status, START + timedelta(hours=1), START)
    with pytest.raises(HoldNotOpen) as late:
        require_held(HoldStatus.HELD, START, START)
    assert late.value.field == "hold" and "expired" in late.value.detail
