"""Random sequences of purchases, redemptions, refunds and expiries, checked after every step.

After each step: every transaction balances per asset, the member's ledger balance equals the sum of the
member's postings, the lots hold exactly max(balance, 0), a balance turns negative only through a refund's
clawback, and the obligations between partner and node equal the net value of points granted and accepted, plus
what the network's breakage policy returned to the partner for its expired points.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.domain.breakage import KEEP_BREAKAGE, BreakagePolicy, PointsBreakage
from coalition.domain.ledger import Transaction, validate
from coalition.domain.purchase import MemberPoints, after_expiry, plan_expiry, plan_purchase, points_balance
from coalition.domain.refunds import PurchaseTotals, plan_refund
from tests.domain.support import (
    ACCOUNTS,
    BREAKAGE_ACCOUNT,
    EXPIRY_ACCOUNTS,
    MONEY,
    NOW,
    POINTS,
    apply_lots,
    lot_total,
    small_shop,
)

PROGRAM = small_shop(points_expire_days=30)
MEMBER, ISSUED, REDEEMED, PARTNER, NODE = 1, 2, 3, 4, 5

buy = st.tuples(st.just("buy"), st.integers(1, 5_000_000), st.integers(0, 100))  # check, % of max to redeem
refund = st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 100))  # which purchase, % of what is left
wait = st.tuples(st.just("wait"), st.integers(1, 40), st.just(0))  # days
operations = st.lists(st.one_of(buy, refund, wait), min_size=1, max_size=25)


@dataclass
class World:
    now: datetime = NOW
    state: MemberPoints = field(default_factory=lambda: MemberPoints(0, 0, ()))
    ledger: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    purchases: list[PurchaseTotals] = field(default_factory=list)
    next_lot_id: int = 1
    checks_minor: int = 0
    refunds_minor: int = 0
    policy: BreakagePolicy = KEEP_BREAKAGE
    returned_minor: int = 0  # breakage value posted back to the partner

    def post(self, tx: Transaction | None) -> None:
        if tx is None:
            return
        assert validate(tx) == []
        for p in tx.postings:
            self.ledger[(p.account_id, p.asset)] += p.amount

    def new_id(self) -> int:
        self.next_lot_id += 1
        return self.next_lot_id

    def sweep(self) -> None:
        expiry = plan_expiry(PROGRAM, EXPIRY_ACCOUNTS, self.state.lots, self.now, self.policy)
        if expiry is not None:
            self.post(expiry.transaction)
            self.returned_minor += expiry.returned_minor
        balance_seen = points_balance(self.state, self.now)
        self.state = after_expiry(self.state, expiry)
        assert self.state.balance == balance_seen


def check_invariants(world: World) -> None:
    ledger = world.ledger
    assert ledger[(MEMBER, POINTS)] == world.state.balance
    assert lot_total(world.state.lots) == max(world.state.balance, 0)
    assert all(lot.remaining >= 0 for lot in world.state.lots)
    granted = -ledger[(ISSUED, POINTS)]
    accepted = ledger[(REDEEMED, POINTS)]
    assert granted >= 0
    assert accepted >= 0
    assert granted == world.state.balance + accepted + ledger[(BREAKAGE_ACCOUNT, POINTS)]
    assert ledger[(PARTNER, MONEY)] == (accepted - granted) * PROGRAM.point_value_minor + world.returned_minor
    assert ledger[(NODE, MONEY)] == -ledger[(PARTNER, MONEY)]
    assert world.state.lifetime_spend_minor == world.checks_minor - world.refunds_minor


policies = st.one_of(
    st.just(KEEP_BREAKAGE),
    st.just(BreakagePolicy(PointsBreakage.RETURNED)),
    st.integers(0, 10_000).map(lambda bp: BreakagePolicy(PointsBreakage.SHARED, bp)),
)


@settings(max_examples=200, deadline=None)
@given(operations, policies)
def test_random_sequences_keep_every_invariant(ops: list[tuple[str, int, int]], policy: BreakagePolicy) -> None:
    world = World(policy=policy)
    for op, a, b in ops:
        if op == "wait":
            world.now += timedelta(days=a)
            continue
        world.sweep()
        balance_before = world.state.balance
        if op == "buy":
            preview = plan_purchase(PROGRAM, ACCOUNTS, world.state, a, None, world.now).quote
            redeem = preview.max_redeemable_points * b // 100
            plan = plan_purchase(PROGRAM, ACCOUNTS, world.state, a, redeem, world.now)
            world.post(plan.transaction)
            lots = apply_lots(world.state.lots, plan.lot_takes, plan.new_lots, world.new_id())
            world.state = MemberPoints(plan.balance_after, plan.lifetime_spend_after_minor, lots)
            q = plan.quote
            world.purchases.append(PurchaseTotals(a, q.amount_due_minor, q.points_to_earn, q.redeem_points, 0))
            world.checks_minor += a
            assert world.state.balance >= min(balance_before, 0)
        elif world.purchases:
            index = a % len(world.purchases)
            totals = world.purchases[index]
            left = totals.check_minor - totals.refunded_before_minor
            if left == 0:
                continue
            amount = max(1, left * b // 100)
            back = plan_refund(PROGRAM, ACCOUNTS, world.state, totals, amount, world.now)
            world.post(back.transaction)
            lots = apply_lots(world.state.lots, back.lot_takes, back.new_lots, world.new_id())
            world.state = MemberPoints(back.balance_after, back.lifetime_spend_after_minor, lots)
            world.purchases[index] = PurchaseTotals(
                totals.check_minor,
                totals.amount_due_minor,
                totals.points_earned,
                totals.points_redeemed,
                totals.refunded_before_minor + amount,
            )
            world.refunds_minor += amount
        check_invariants(world)
