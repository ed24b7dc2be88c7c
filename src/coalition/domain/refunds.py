"""Refunds planned as ledger transactions: a refund reverses its prorated share of each line of the purchase's
transaction and references it; the points the purchase spent go back to the partners that had granted them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.bonus import BonusProgram
from coalition.domain.errors import InvalidInput, RefundNotAllowed
from coalition.domain.ledger import Posting, Transaction, TransactionKind, require_valid
from coalition.domain.lots import (
    GrantedPoints,
    LotTake,
    take_from_lots,
)
from coalition.domain.money import format_minor, prorate_floor
from coalition.domain.purchase import MemberPoints, NewLot, PointsAccounts, lot_expiry, new_lot, points_postings


@dataclass(frozen=True, slots=True)
class PurchaseTotals:
    """What a stored purchase recorded, and how much of its check has been refunded so far."""

    check_minor: int
    amount_due_minor: int
    points_earned: int
    points_redeemed: int
    refunded_before_minor: int
    # the points it spent, by the partner that had granted them, in the order it took them from the lots
    spent: tuple[GrantedPoints, ...] = ()
    # of the points it earned, those already gone other than by being spent: expired (their value went to breakage)
    # or clawed back by earlier refunds; a refund claws back no more than the rest
    earned_gone: int = 0


@dataclass(frozen=True, slots=True)
class RefundPlan:
    refund_minor: int  # measured on the check total before points
    money_back_minor: int  # what the customer gets back in money
    points_clawed_back: int
    points_returned: int
    transaction: Transaction | None
    lot_takes: tuple[LotTake, ...]
    new_lots: tuple[NewLot, ...]  # the points returned, one lot per partner that had granted them
    balance_after: int
    lifetime_spend_after_minor: int


def cumulative_share(total: int, before_minor: int, refund_minor: int, check_minor: int) -> int:
    """This refund's share of `total`: the cumulative share after it minus the share before it.

    Each share rounds down, but because shares are cumulative a refund of the whole check returns `total` exactly.
    """
    return prorate_floor(total, before_minor + refund_minor, check_minor) - prorate_floor(
        total, before_minor, check_minor
    )


def plan_refund(
    program: BonusProgram,
    accounts: PointsAccounts,
    state: MemberPoints,
    purchase: PurchaseTotals,
    refund_minor: int,
    now: datetime,
) -> RefundPlan:
    """Claw back the refund's share of earned points (a debt if already spent; never more than is left of the earn
    once what expired is counted: an expiry already took those); return its share of redeemed ones.

    The points clawed back come first from lots the refunding partner granted (it gets their value back). The points
    returned keep the grantor of the points the purchase spent, so their breakage still releases the right partner."""
    left_minor = purchase.check_minor - purchase.refunded_before_minor
    if refund_minor <= 0:
        raise InvalidInput("a refund must be greater than zero", field="amount")
    if refund_minor > left_minor:
        left = format_minor(left_minor, program.currency)
        raise RefundNotAllowed(f"at most {left} {program.currency} of this check are left to refund", field="amount")
    share = _RefundShares(purchase, refund_minor)
    clawed = min(share.of(purchase.points_earned), max(0, purchase.points_earned - purchase.earned_gone))
    returned = share.of(purchase.points_redeemed)
    takes, shortfall = take_from_lots(list(state.lots), clawed, now, partner_first=accounts.partner_id)
    existing_debt = max(0, -state.balance)
    restored = max(0, returned - shortfall - existing_debt)
    returned_before = prorate_floor(purchase.points_redeemed, purchase.refunded_before_minor, purchase.check_minor)
    restored_by_grantor = points_at(purchase.spent, returned_before, restored, accounts.partner_id)
    expires_at = lot_expiry(program, now)
    postings = tuple(
        Posting(p.account_id, p.asset, -p.amount)
        for p in points_postings(program, accounts, earned=clawed, redeemed=returned)
    )
    return RefundPlan(
        refund_minor=refund_minor,
        money_back_minor=share.of(purchase.amount_due_minor),
        points_clawed_back=clawed,
        points_returned=returned,
        transaction=require_valid(Transaction(TransactionKind.REFUND, postings)) if postings else None,
        lot_takes=tuple(takes),
        new_lots=tuple(
            lot
            for granted in restored_by_grantor
            if (lot := new_lot(granted.points, expires_at, state.lots, granted.granting_partner_id)) is not None
        ),
        balance_after=state.balance - clawed + returned,
        lifetime_spend_after_minor=max(0, state.lifetime_spend_minor - refund_minor),
    )


def points_at(spent: tuple[GrantedPoints, ...], first: int, count: int, otherwise: int | None) -> list[GrantedPoints]:
    """The points at positions first … first + count − 1 of what a purchase spent, in its spend order, summed per
    grantor. Refunds return a purchase's spent points in that order (each refund starts where the earlier ones
    stopped), so together they return each grantor's points exactly; positions beyond what was recorded count as
    granted by `otherwise`."""
    totals: dict[int | None, int] = {}
    start, end = first, first + count
    position = 0
    for piece in spent:
        overlap = min(end, position + piece.points) - max(start, position)
        if overlap > 0:
            totals[piece.granting_partner_id] = totals.get(piece.granting_partner_id, 0) + overlap
        position += piece.points
    beyond = end - max(start, position)
    if beyond > 0:
        totals[otherwise] = totals.get(otherwise, 0) + beyond
    return [GrantedPoints(grantor, points) for grantor, points in totals.items()]


@dataclass(frozen=True, slots=True)
class _RefundShares:
    purchase: PurchaseTotals
    refund_minor: int

    def of(self, total: int) -> int:
        return cumulative_share(
            total, self.purchase.refunded_before_minor, self.refund_minor, self.purchase.check_minor
        )
