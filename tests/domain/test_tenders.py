"""Tenders and wallets without a database: applied in order after discounts and points, never below a floor,
postings that balance, refusals naming the field (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.checkout import CheckoutContext, Sale, Till, decide
from coalition.domain.errors import Forbidden, InsufficientFunds, InsufficientPoints, InvalidInput, RedeemNotAllowed
from coalition.domain.ledger import TransactionKind, money_asset, sums_per_asset
from coalition.domain.permissions import Matrix, Operation, Permission
from coalition.domain.purchase import MemberPoints, PointsAccounts
from coalition.domain.tenders import Funds, TenderKind, TenderRequest, apply_tenders, refunded_tenders
from coalition.domain.wallets import Wallet, WalletStatus, checked_credit_limit, plan_top_up, top_up_amount

ASSET = money_asset("EUR")
PREPAID = 900
WALLET = 10
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
PROGRAM = BonusProgram(
    id=1, code="p", currency="EUR", tiers=(Tier(0, 300, 0, 5000),), min_check_for_redeem_minor=0,
    point_value_minor=100, points_expire_days=None,
)  # fmt: skip
ACCOUNTS = PointsAccounts(1, 2, 3, 4, 5, partner_id=7)


def wallet_funds(balance: int, credit: int = 0, daily_left: int | None = None) -> Funds:
    return Funds(TenderKind.WALLET, WALLET, "EUR", balance, -credit, "wallet EUR", daily_left)


def context(funds: tuple[Funds, ...], matrix: Matrix | None = None, points: int = 0) -> CheckoutContext:
    return CheckoutContext(
        till=Till(1, "Cafe till", 7, "Cafe", UTC),
        program=PROGRAM,
        accounts=ACCOUNTS,
        member_id=1,
        points=MemberPoints(points, 0, ()),
        funds=funds,
        prepaid_account=PREPAID,
        **({"matrix": matrix} if matrix is not None else {}),
    )


def test_a_wallet_pays_what_is_left_after_points_and_the_rest_is_to_collect():
    sale = Sale(10_000, (), None, NOW, (TenderRequest(TenderKind.WALLET),))
    decision = decide(context((wallet_funds(3_000),)), sale)
    assert decision.quote.amount_due_minor == 10_000
    assert [t.amount_minor for t in decision.tenders] == [3_000]
    assert decision.to_collect_minor == 7_000
    assert decision.wallet_debits == ((WALLET, 3_000),)
    assert decision.transaction is not None and decision.transaction.kind is TransactionKind.PURCHASE
    assert sums_per_asset(decision.transaction.postings) == {ASSET: 0, "points:p": 0}
    # points are earned on the whole check: the wallet's money is payment, not discount
    without = decide(context((wallet_funds(3_000),)), Sale(10_000, (), None, NOW))
    assert decision.quote.points_to_earn == without.quote.points_to_earn == 3
    assert without.to_collect_minor == 10_000 and without.tenders == ()


def test_an_explicit_amount_beyond_the_wallet_is_refused_naming_it():
    sale = Sale(10_000, (), None, NOW, (TenderRequest(TenderKind.WALLET, 3_001),))
    with pytest.raises(InsufficientFunds) as refused:
        decide(context((wallet_funds(3_000),)), sale)
    assert refused.value.field == "tenders[0].amount"


def test_no_wallet_an_empty_one_or_a_closed_one_is_refused_naming_the_tender():
    sale = Sale(10_000, (), None, NOW, (TenderRequest(TenderKind.WALLET),))
    for funds in ((), (wallet_funds(0),), (Funds(TenderKind.WALLET, WALLET, "EUR", 500, refusal="closed"),)):
        with pytest.raises(InsufficientFunds) as refused:
            decide(context(funds), sale)
        assert refused.value.field == "tenders[0]"


def test_credit_and_the_daily_limit_bound_what_a_wallet_pays():
    assert wallet_funds(1_000, credit=500).available_minor == 1_500
    assert wallet_funds(-200, credit=500).available_minor == 300
    assert wallet_funds(1_000, credit=500, daily_left=700).available_minor == 700
    assert wallet_funds(-600, credit=500).available_minor == 0


def test_a_wallet_needs_spend_on_its_counter_where_a_matrix_is_set():
    matrix = Matrix(frozenset({Permission(1, "points", Operation.ACCRUE)}))
    sale = Sale(10_000, (), None, NOW, (TenderRequest(TenderKind.WALLET),))
    with pytest.raises(Forbidden):
        decide(context((wallet_funds(3_000),), matrix), sale)
    allowed = Matrix(matrix.allowed | {Permission(1, "wallet:EUR", Operation.SPEND)})
    assert decide(context((wallet_funds(3_000),), allowed), sale).to_collect_minor == 7_000


def test_more_than_is_left_to_pay_is_refused_and_more_than_eight_tenders_too():
    with pytest.raises(InvalidInput) as refused:
        apply_tenders([TenderRequest(TenderKind.WALLET, 600)], [wallet_funds(5_000)], 500, PREPAID, ASSET)
    assert refused.value.field == "tenders[0].amount"
    with pytest.raises(InvalidInput) as many:
        apply_tenders([TenderRequest(TenderKind.WALLET, 1)] * 9, [wallet_funds(5_000)], 500, PREPAID, ASSET)
    assert many.value.field == "tenders"


def test_top_up_posts_from_the_partner_prepaid_to_the_wallet():
    wallet = Wallet(WALLET, 1, "EUR", 0)
    tx = plan_top_up(wallet, PREPAID, 5_000)
    assert tx.kind is TransactionKind.TOP_UP
    assert {(p.account_id, p.amount) for p in tx.postings} == {(PREPAID, -5_000), (WALLET, 5_000)}
    for bad in (0, -1, 10**10 + 1):
        with pytest.raises(InvalidInput):
            top_up_amount(bad, 10**10, "EUR")
    with pytest.raises(InvalidInput) as owes:
        checked_credit_limit(100, 10**10, -500, "EUR")
    assert owes.value.field == "credit_limit"
    from coalition.domain.errors import Conflict

    with pytest.raises(Conflict):
        plan_top_up(Wallet(WALLET, 1, "EUR", 0, status=WalletStatus.CLOSED), PREPAID, 5_000)


def test_a_refund_returns_to_the_last_tender_first():
    paid = apply_tenders(
        [TenderRequest(TenderKind.WALLET, 300), TenderRequest(TenderKind.GIFT_CARD, 200, "G1")],
        [wallet_funds(5_000), Funds(TenderKind.GIFT_CARD, 11, "EUR", 1_000, gift_card_number="G1")],
        1_000,
        PREPAID,
        ASSET,
    )
    back = refunded_tenders(paid.applied, 350)
    assert [(t.account_id, t.amount_minor) for t in back] == [(11, 200), (WALLET, 150)]


@settings(max_examples=200, deadline=None)
@given(
    check=st.integers(1, 10**7),
    points=st.integers(0, 10**4),
    redeem=st.none() | st.integers(0, 10**4),
    balance=st.integers(-(10**6), 10**7),
    credit=st.integers(0, 10**6),
    daily=st.none() | st.integers(0, 10**7),
    amounts=st.lists(st.none() | st.integers(1, 10**7), min_size=1, max_size=3),
)
def test_tenders_balance_stay_above_the_floor_and_leave_exactly_the_rest_to_collect(
    check, points, redeem, balance, credit, daily, amounts
):
    funds = wallet_funds(balance, credit, daily)
    sale = Sale(check, (), redeem, NOW, tuple(TenderRequest(TenderKind.WALLET, a) for a in amounts))
    try:
        decision = decide(context((funds,), points=points), sale)
    except (InsufficientFunds, InvalidInput, InsufficientPoints, RedeemNotAllowed):
        return
    q = decision.quote
    paid = sum(t.amount_minor for t in decision.tenders)
    assert decision.to_collect_minor == check - q.discount_minor - PROGRAM.points_value_minor(q.redeem_points) - paid
    assert decision.to_collect_minor >= 0
    assert balance - paid >= -credit
    if daily is not None:
        assert paid <= daily
    if decision.transaction is not None:
        assert all(total == 0 for total in sums_per_asset(decision.transaction.postings).values())
