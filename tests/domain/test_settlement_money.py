"""Settlement of prepaid money (issue 14) beside points and gifts, without a database.

The water park's month of money: a guest tops up 100.00 at the ticket office and spends 30.00 of it at the café and
20.00 at the arcade; the shop sells a 50.00 gift card, 35.00 of it is redeemed at the café, and the 15.00 left
expires, shared 50/50 between the node and the shop that sold it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.ledger import TransactionKind
from coalition.domain.settlement import (
    NODE,
    FeeSchedule,
    Flows,
    MoneyFlows,
    NodeHoldings,
    Party,
    fewest_transfers,
    statement_of,
    through_node,
)

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
TICKETS, CAFE, ARCADE, SHOP = (Party(name, n) for n, name in enumerate(("Tickets", "Cafe", "Arcade", "Shop"), 1))
K = TransactionKind


def _flows(*postings: tuple[TransactionKind, int, int]) -> MoneyFlows:
    """Prepaid postings on one partner's account: (kind, amount, of which gift-card money)."""
    flows = MoneyFlows()
    for kind, amount, card in postings:
        flows = flows.plus(kind, amount, card) + MoneyFlows(transactions=1)
    return flows


def _park_money() -> dict[Party, MoneyFlows]:
    return {
        TICKETS: _flows((K.TOP_UP, -10_000, 0)),  # took 100.00 cash for the wallet
        CAFE: _flows((K.PURCHASE, 3_000, 0), (K.PURCHASE, 3_500, 3_500)),  # 30.00 from the wallet, 35.00 card
        ARCADE: _flows((K.PURCHASE, 2_000, 0)),  # 20.00 from the wallet
        SHOP: _flows((K.GIFT_CARD_SALE, -5_000, 5_000), (K.GIFT_CARD_EXPIRY, 750, 0)),  # sold 50.00; half of 15.00
    }


# the node holds 50.00 still in the wallet, nothing on the card (spent or expired), and kept 7.50 of breakage
PARK_HOLDINGS = NodeHoldings(wallets_minor=5_000, gift_cards_minor=0, breakage_kept_minor=750)


def _park_statement(flows: dict[Party, Flows] | None = None, fees: FeeSchedule = FeeSchedule()):
    points = flows if flows is not None else {party: Flows() for party in (TICKETS, CAFE, ARCADE, SHOP)}
    return statement_of(1, START, END, "RUB", points, END, 1, fees, _park_money(), PARK_HOLDINGS)


def test_each_flow_of_prepaid_money_is_sorted_by_what_it_was():
    assert _park_money()[TICKETS] == MoneyFlows(top_ups_minor=10_000, transactions=1)
    assert _park_money()[CAFE] == MoneyFlows(
        wallet_accepted_minor=3_000, gift_cards_accepted_minor=3_500, transactions=2
    )
    assert _park_money()[SHOP] == MoneyFlows(gift_cards_sold_minor=5_000, breakage_minor=750, transactions=2)
    refunds = _flows(
        (K.REFUND, -1_000, 0),  # 10.00 back into a wallet
        (K.REFUND, -400, 400),  # 4.00 back onto a gift card
        (K.REFUND, -900, 300),  # a refund to both tenders: 3.00 to the card, 6.00 to the wallet
        (K.REVERSAL, 2_500, 0),  # a top-up undone: the cash given back
        (K.REVERSAL, 1_500, 1_500),  # a gift-card sale undone
        (K.PURCHASE, -2_000, 2_000),  # a gift card sold as a purchase line
        (K.TOP_UP, -700, 700),  # a top-up moves wallet money whatever the counterparts say
    )
    assert refunds == MoneyFlows(
        top_ups_minor=700,
        top_ups_refunded_minor=2_500,
        gift_cards_sold_minor=2_000,
        gift_cards_sold_refunded_minor=1_500,
        wallet_refunded_minor=1_600,
        gift_cards_refunded_minor=700,
        transactions=7,
    )
    assert refunds.net_minor == -1_600 - 700 - 700 + 2_500 - 2_000 + 1_500 == -1_000


def test_the_water_park_month_of_money_settles_to_zero_with_exact_figures():
    statement = _park_statement()
    assert {party.name: net for party, net in statement.positions.items()} == {
        "Tickets": -10_000,  # pays the node the 100.00 it took
        "Cafe": 6_500,  # is paid 30.00 of wallet money and 35.00 of gift-card money
        "Arcade": 2_000,
        "Shop": -4_250,  # pays the 50.00 it took less its half of the breakage, 7.50
        NODE.name: 5_750,  # holds 50.00 for the wallet and keeps 7.50 of breakage
    }
    assert sum(statement.positions.values()) == 0
    assert (statement.node_money_net_minor, statement.node_points_net_minor) == (5_750, 0)
    assert statement.holdings.net_minor == 5_750 and statement.has_money
    assert [(t.payer.name, t.payee.name, t.amount_minor) for t in through_node(statement.positions)] == [
        ("settlement node", "Arcade", 2_000),
        ("settlement node", "Cafe", 6_500),
        ("Shop", "settlement node", 4_250),
        ("Tickets", "settlement node", 10_000),
    ]
    assert [(t.payer.name, t.payee.name, t.amount_minor) for t in fewest_transfers(statement.positions)] == [
        ("Tickets", "Cafe", 6_500),
        ("Shop", "settlement node", 4_250),
        ("Tickets", "Arcade", 2_000),
        ("Tickets", "settlement node", 1_500),
    ]


def test_points_and_money_are_two_parts_of_one_net_and_only_points_pay_fees():
    points = {
        TICKETS: Flows(granted_minor=2_000, transactions=1),  # the ticket's points
        CAFE: Flows(honoured_minor=500, transactions=1),
        ARCADE: Flows(),
        SHOP: Flows(),
    }
    fees = FeeSchedule(per_transaction_minor=10, granted_bp=100)  # 0.10 per points transaction + 1 % of granted
    statement = _park_statement(points, fees)
    lines = {line.party.name: line for line in statement.lines}
    assert (lines["Tickets"].fees_minor, lines["Cafe"].fees_minor, lines["Shop"].fees_minor) == (30, 10, 0)
    assert (lines["Tickets"].points_net_minor, lines["Tickets"].money.net_minor) == (-2_030, -10_000)
    assert lines["Tickets"].net_minor == -12_030
    assert lines["Cafe"].net_minor == 490 + 6_500
    assert statement.node_points_net_minor == 2_030 - 490 == 1_540
    assert statement.node_net_minor == 1_540 + 5_750
    assert sum(statement.positions.values()) == 0


def test_holdings_that_are_not_minus_the_partners_money_are_refused():
    with pytest.raises(ValueError, match="prepaid holdings"):
        statement_of(1, START, END, "RUB", {}, END, 1, FeeSchedule(), _park_money(), NodeHoldings(wallets_minor=5_000))


def test_a_statement_without_money_is_as_before():
    statement = statement_of(1, START, END, "RUB", {TICKETS: Flows(granted_minor=100)}, END)
    assert not statement.has_money
    assert statement.node_net_minor == statement.node_points_net_minor == 100


_KINDS = st.sampled_from([K.PURCHASE, K.REFUND, K.REVERSAL, K.TOP_UP, K.GIFT_CARD_SALE])


@given(st.lists(st.tuples(_KINDS, st.integers(-(10**6), 10**6).filter(bool), st.integers(0, 10**6)), max_size=30))
def test_the_money_net_is_the_sum_of_the_postings_whatever_their_kind(postings):
    flows = _flows(*postings)
    assert flows.net_minor == sum(amount for _, amount, _ in postings)
    assert all(getattr(flows, name) >= 0 for name in MoneyFlows.__dataclass_fields__)
