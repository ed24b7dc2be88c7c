"""Settlement positions and transfer plans, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind
from coalition.domain.settlement import (
    NODE,
    Flows,
    Party,
    Transfer,
    fewest_transfers,
    parties_not_at_zero,
    statement_of,
    through_node,
)

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC)
TICKETS, CAFE, PHOTO, ARCADE = (Party(name, n) for n, name in enumerate(("Tickets", "Cafe", "Photo", "Arcade"), 1))


def test_flows_sort_postings_by_what_they_were():
    flows = Flows()
    for kind, amount in (
        (TransactionKind.PURCHASE, -30_000),  # granted 300.00 of points
        (TransactionKind.PURCHASE, 12_000),  # accepted 120.00 of points as payment
        (TransactionKind.BONUS, -5_000),  # a welcome bonus granted
        (TransactionKind.REFUND, 10_000),  # a refund took back 100.00 of what was granted
        (TransactionKind.REFUND, -2_000),  # ... and gave back 20.00 of points spent
    ):
        flows = flows.plus(kind, amount)
    assert (flows.granted_minor, flows.granted_refunded_minor) == (35_000, 10_000)
    assert (flows.honoured_minor, flows.honoured_refunded_minor) == (12_000, 2_000)
    assert flows.net_minor == 12_000 - 2_000 - 35_000 + 10_000 == -15_000


def _water_park_statement():
    flows = {
        TICKETS: Flows(granted_minor=50_000),
        CAFE: Flows(granted_minor=20_000, honoured_minor=30_000),
        PHOTO: Flows(granted_minor=10_000, honoured_minor=15_000),
        ARCADE: Flows(honoured_minor=25_000),
    }
    return statement_of(1, START, END, "RUB", flows, END)


def test_the_water_park_day_settles_through_the_node_and_directly():
    statement = _water_park_statement()
    assert {party.name: net for party, net in statement.positions.items()} == {
        "Tickets": -50_000,
        "Cafe": 10_000,
        "Photo": 5_000,
        "Arcade": 25_000,
        NODE.name: 10_000,  # points worth 100.00 granted today and not yet spent: the node holds their value
    }
    assert sum(statement.positions.values()) == 0
    assert through_node(statement.positions) == (
        Transfer(NODE, ARCADE, 25_000),
        Transfer(NODE, CAFE, 10_000),
        Transfer(NODE, PHOTO, 5_000),
        Transfer(TICKETS, NODE, 50_000),
    )
    assert fewest_transfers(statement.positions) == (
        Transfer(TICKETS, ARCADE, 25_000),
        Transfer(TICKETS, CAFE, 10_000),
        Transfer(TICKETS, NODE, 10_000),
        Transfer(TICKETS, PHOTO, 5_000),
    )


def test_equal_debts_and_claims_pair_up_first():
    positions = {CAFE: -7_000, PHOTO: -3_000, ARCADE: 3_000, NODE: 7_000}
    assert fewest_transfers(positions) == (Transfer(CAFE, NODE, 7_000), Transfer(PHOTO, ARCADE, 3_000))


def test_a_period_must_end_after_it_starts_and_the_node_is_not_given():
    with pytest.raises(InvalidInput) as refused:
        statement_of(1, END, START, "RUB", {}, END)
    assert refused.value.field == "end"
    with pytest.raises(ValueError, match="node"):
        statement_of(1, START, END, "RUB", {NODE: Flows()}, END)


def test_plans_refuse_positions_that_do_not_sum_to_zero():
    with pytest.raises(ValueError, match="sum to"):
        fewest_transfers({CAFE: 5, ARCADE: -4})


@given(st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=60))
def test_any_positions_are_settled_exactly_in_at_most_n_minus_one_transfers(amounts):
    parties = [Party(f"p{n:02d}", n) for n in range(len(amounts))]
    positions = dict(zip(parties, amounts, strict=True))
    positions[NODE] = -sum(amounts)
    for plan in (fewest_transfers(positions), through_node(positions)):
        assert all(transfer.amount_minor > 0 for transfer in plan)  # and settles every position: checked inside
    assert len(fewest_transfers(positions)) <= max(parties_not_at_zero(positions) - 1, 0)


def test_fees_round_down_once_per_partner_and_keep_positions_balanced():
    from coalition.domain.settlement import FeeSchedule

    fees = FeeSchedule(per_transaction_minor=50, granted_bp=150)
    flows = Flows(granted_minor=12_300, granted_refunded_minor=1_000, honoured_minor=500, transactions=3)
    # 3 × 0.50 + 1.5 % of (123.00 − 10.00) = 1.50 + 1.695 → 1.50 + 1.69
    assert fees.fee_minor(flows) == 150 + 169
    statement = statement_of(1, START, END, "RUB", {CAFE: flows, ARCADE: Flows(honoured_minor=700)}, END, fees=fees)
    assert statement.positions[CAFE] == 500 - 12_300 + 1_000 - 319
    assert sum(statement.positions.values()) == 0
    with pytest.raises(InvalidInput) as refused:
        FeeSchedule(granted_bp=10_001)
    assert refused.value.field == "percent_of_granted"
