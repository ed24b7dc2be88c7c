"""The pure rules of a device's offline uses: the moment window, what a wallet pays of a price, the offline limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.device_offline import over_offline_limit, payment, plan_offline_charge, use_moment
from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=60)


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=-(10**12), max_value=10**12))
def test_a_payment_never_takes_more_than_the_price_or_the_wallet(price: int, payable: int) -> None:
    paid = payment(price, payable)
    assert paid.paid_minor + paid.unpaid_minor == price
    assert 0 <= paid.paid_minor <= max(0, payable)
    assert paid.short == (paid.paid_minor < price)


def test_the_moment_window() -> None:
    assert use_moment(NOW - timedelta(days=29), NOW, CREATED) == NOW - timedelta(days=29)
    assert use_moment(NOW + timedelta(minutes=5), NOW, CREATED) == NOW + timedelta(minutes=5)
    for wrong, words in (
        (NOW + timedelta(minutes=5, seconds=1), "5 minutes"),
        (NOW - timedelta(days=30, seconds=1), "30 days"),
        (datetime(2026, 7, 1, 12, 0), "offset"),
    ):
        with pytest.raises(InvalidInput, match=words) as refused:
            use_moment(wrong, NOW, CREATED)
        assert refused.value.field == "occurred_at"
    with pytest.raises(InvalidInput, match="before the device existed"):
        use_moment(NOW - timedelta(days=1), NOW, NOW - timedelta(hours=1))


def test_the_offline_limit_is_exceeded_only_above_it() -> None:
    assert not over_offline_limit(500, 500)
    assert over_offline_limit(501, 500)
    assert over_offline_limit(1, 0)  # a device with no offline limit may sell nothing offline


def test_an_offline_charge_goes_straight_from_the_wallet_to_the_partner() -> None:
    tx = plan_offline_charge(1, 2, "RUB", 250)
    assert tx.kind is TransactionKind.DEVICE_CHARGE
    assert [(p.account_id, p.amount) for p in tx.postings] == [(1, -250), (2, 250)]
