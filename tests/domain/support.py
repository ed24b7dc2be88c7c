"""Shared test data for the domain tests: the seed's small-shop program, ledger accounts and a lot model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.bonus import BonusProgram
from coalition.domain.ledger import Transaction
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import ExpiryAccounts, MemberPoints, NewLot, PointsAccounts

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
RUB = "RUB"


def small_shop(**overrides: Any) -> BonusProgram:
    """The demo network's program (the seed's small-shop service) as the domain sees it."""
    program = BonusProgram(
        id=1,
        code=SMALL_SHOP_PROGRAM.code,
        currency=RUB,
        tiers=SMALL_SHOP_PROGRAM.tiers,
        min_check_for_redeem_minor=SMALL_SHOP_PROGRAM.min_check_for_redeem_minor,
        point_value_minor=SMALL_SHOP_PROGRAM.point_value_minor,
        points_expire_days=SMALL_SHOP_PROGRAM.points_expire_days,
    )
    return replace(program, **overrides) if overrides else program


GRANTOR = 40  # the partner of the outlet in ACCOUNTS: it grants the points earned there
OTHER_GRANTOR = 41  # another partner of the network
ACCOUNTS = PointsAccounts(
    member_points=1,
    points_issued=2,
    points_redeemed=3,
    partner_obligations=4,
    node_obligations=5,
    partner_id=GRANTOR,
)
BREAKAGE_ACCOUNT = 6
OTHER_PARTNER_ACCOUNT = 7  # OTHER_GRANTOR's obligations account
EXPIRY_ACCOUNTS = ExpiryAccounts(
    member_points=1,
    points_breakage=BREAKAGE_ACCOUNT,
    node_obligations=5,
    partner_obligations={GRANTOR: 4, OTHER_GRANTOR: OTHER_PARTNER_ACCOUNT},
)
POINTS = "points:bonus"
MONEY = "money:RUB"


def posting_set(tx: Transaction | None) -> list[tuple[int, str, int]]:
    """A transaction's postings as sorted (account, asset, amount) triples, for exact comparison."""
    if tx is None:
        return []
    return sorted((p.account_id, p.asset, p.amount) for p in tx.postings)


def account_totals(transactions: Iterable[Transaction | None]) -> dict[tuple[int, str], int]:
    """What the ledger balances of every (account, asset) would be after posting these transactions."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for tx in transactions:
        if tx is None:
            continue
        for p in tx.postings:
            totals[(p.account_id, p.asset)] += p.amount
    return dict(totals)


def apply_lots(
    lots: tuple[Lot, ...],
    takes: Iterable[LotTake],
    new_lots: NewLot | tuple[NewLot, ...] | None,
    next_id: int,
) -> tuple[Lot, ...]:
    """Apply a plan's lot takes and new lots the way storage would (new lots get ids from `next_id` up); a take
    beyond a lot's remaining, or a top-up of another grantor's lot, is an error."""
    added = () if new_lots is None else (new_lots,) if isinstance(new_lots, NewLot) else new_lots
    remaining = {lot.id: lot.remaining for lot in lots}
    grantors = {lot.id: lot.granting_partner_id for lot in lots}
    for take in takes:
        assert take.points > 0, f"a take of {take.points} points"
        assert remaining[take.lot_id] >= take.points, f"lot {take.lot_id} overdrawn"
        remaining[take.lot_id] -= take.points
    for new_lot in added:
        if new_lot.top_up_lot_id is not None:
            assert new_lot.expires_at is None, "only never-expiring points top up an open lot"
            assert grantors[new_lot.top_up_lot_id] == new_lot.granting_partner_id, "a top-up of another grantor's lot"
            remaining[new_lot.top_up_lot_id] += new_lot.points
    updated = tuple(replace(lot, remaining=remaining[lot.id]) for lot in lots)
    fresh = [new_lot for new_lot in added if new_lot.top_up_lot_id is None]
    for offset, new_lot in enumerate(fresh):
        assert new_lot.points > 0
        updated = (*updated, Lot(next_id + offset, new_lot.points, new_lot.expires_at, new_lot.granting_partner_id))
    return updated


def lot_total(lots: Iterable[Lot]) -> int:
    return sum(lot.remaining for lot in lots)


@st.composite
def member_states(draw: st.DrawFn) -> MemberPoints:
    """A member's points as storage keeps them: lots sum to the balance, or to zero under a debt; none expired."""
    lifetime = draw(st.integers(0, 10**8))
    if draw(st.booleans()):
        return MemberPoints(-draw(st.integers(1, 5_000)), lifetime, (Lot(1, 0, None, GRANTOR),))
    sizes = draw(st.lists(st.integers(0, 3_000), max_size=5))
    lots = tuple(
        Lot(
            i,
            size,
            draw(st.one_of(st.none(), st.integers(1, 400).map(lambda d: NOW + d * timedelta(days=1)))),
            draw(st.sampled_from([GRANTOR, OTHER_GRANTOR, None])),  # None: a birthday bonus, the node's
        )
        for i, size in enumerate(sizes, 1)
    )
    return MemberPoints(lot_total(lots), lifetime, lots)
