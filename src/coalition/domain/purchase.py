"""Purchases and refunds planned as ledger transactions, before anything is written.

A purchase at an outlet of partner P that grants E points and accepts R points as payment posts:
- points: issued → member E; member → redeemed R;
- money (the points' settlement value V per point): P owes the node E·V (P -E·V, node +E·V), and the node owes P
  R·V (node -R·V, P +R·V).
A refund reverses its prorated share of each of these lines and references the purchase's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from coalition.domain.bonus import BonusProgram, Quote, quote
from coalition.domain.errors import InvalidInput, RefundNotAllowed
from coalition.domain.ledger import Posting, Transaction, TransactionKind, require_valid, transfer
from coalition.domain.lots import (
    Lot,
    LotTake,
    expired_points,
    is_expired,
    new_lot_points,
    spend_from_lots,
    take_from_lots,
)
from coalition.domain.money import format_minor, line_total_minor, prorate_floor

MAX_BASKET_LINES = 500


@dataclass(frozen=True, slots=True)
class BasketLine:
    sku: str
    category: str | None
    quantity_milli: int
    unit_price_minor: int
    tags: frozenset[str] = frozenset()  # for rules' line selectors; not stored

    @property
    def total_minor(self) -> int:
        return line_total_minor(self.quantity_milli, self.unit_price_minor)


def basket_total_minor(lines: tuple[BasketLine, ...]) -> int:
    if not lines:
        raise InvalidInput("a basket needs at least one line", field="items")
    if len(lines) > MAX_BASKET_LINES:
        raise InvalidInput(f"a basket has at most {MAX_BASKET_LINES} lines", field="items")
    return sum(line.total_minor for line in lines)


@dataclass(frozen=True, slots=True)
class PointsAccounts:
    """Ledger accounts a purchase or refund at one outlet touches."""

    member_points: int
    points_issued: int
    points_redeemed: int
    partner_obligations: int
    node_obligations: int


@dataclass(frozen=True, slots=True)
class MemberPoints:
    """A member's points state, read under the member's lock."""

    balance: int
    lifetime_spend_minor: int
    lots: tuple[Lot, ...]


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    transaction: Transaction
    takes: tuple[LotTake, ...]
    points: int


def plan_expiry(
    breakage_account: int, member_account: int, asset: str, lots: tuple[Lot, ...], now: datetime
) -> ExpiryPlan | None:
    """Post the remaining points of expired lots to breakage; None when nothing expired."""
    takes = tuple(LotTake(lot.id, lot.remaining) for lot in lots if is_expired(lot, now) and lot.remaining > 0)
    points = sum(take.points for take in takes)
    if not points:
        return None
    postings = transfer(member_account, breakage_account, asset, points)
    return ExpiryPlan(
        require_valid(Transaction(TransactionKind.EXPIRY, postings, memo="points expired")), takes, points
    )


def has_expired_lots(state: MemberPoints, now: datetime) -> bool:
    return any(is_expired(lot, now) and lot.remaining > 0 for lot in state.lots)


def after_expiry(state: MemberPoints, expiry: ExpiryPlan | None) -> MemberPoints:
    if expiry is None:
        return state
    expired = {take.lot_id for take in expiry.takes}
    lots = tuple(Lot(lot.id, 0, lot.expires_at) if lot.id in expired else lot for lot in state.lots)
    return MemberPoints(state.balance - expiry.points, state.lifetime_spend_minor, lots)


@dataclass(frozen=True, slots=True)
class NewLot:
    """Points to add to a member's lots: a new lot, or — for points that never expire — the open lot that already
    holds never-expiring points (`top_up_lot_id`), so a member who never spends does not gather a lot per purchase."""

    points: int
    expires_at: datetime | None
    top_up_lot_id: int | None = None


def new_lot(points: int, expires_at: datetime | None, lots: tuple[Lot, ...]) -> NewLot | None:
    if not points:
        return None
    if expires_at is None:
        open_forever = [lot.id for lot in lots if lot.expires_at is None and lot.remaining > 0]
        if open_forever:
            return NewLot(points, None, top_up_lot_id=min(open_forever))
    return NewLot(points, expires_at)


@dataclass(frozen=True, slots=True)
class PurchasePlan:
    quote: Quote
    transaction: Transaction | None  # None when the purchase moves no points
    lot_takes: tuple[LotTake, ...]
    new_lot: NewLot | None
    balance_after: int
    lifetime_spend_after_minor: int


def lot_expiry(program: BonusProgram, now: datetime) -> datetime | None:
    return None if program.points_expire_days is None else now + timedelta(days=program.points_expire_days)


def points_balance(state: MemberPoints, now: datetime) -> int:
    """The balance a member sees: the ledger balance less expired points not yet swept; negative = a debt."""
    return state.balance - expired_points(list(state.lots), now)


def quote_for(program: BonusProgram, state: MemberPoints, check_minor: int, redeem: int | None, now: datetime) -> Quote:
    return quote(
        program,
        lifetime_spend_minor=state.lifetime_spend_minor,
        spendable_points=points_balance(state, now),
        check_minor=check_minor,
        redeem_points=redeem,
    )


def plan_purchase(
    program: BonusProgram,
    accounts: PointsAccounts,
    state: MemberPoints,
    check_minor: int,
    redeem_points: int | None,
    now: datetime,
    *,
    priced: Quote | None = None,
) -> PurchasePlan:
    """The purchase's quote, transaction and lot changes; `state` must have no expired lots left. `priced` is a
    quote a published rule set made (domain.rules.pricing); without one, the bonus program prices the check."""
    q = priced or quote_for(program, state, check_minor, redeem_points, now)
    takes = spend_from_lots(list(state.lots), q.redeem_points, now)
    postings = _points_postings(program, accounts, earned=q.points_to_earn, redeemed=q.redeem_points)
    balance_after_spend = state.balance - q.redeem_points
    lot_points = new_lot_points(balance_after_spend, q.points_to_earn)
    return PurchasePlan(
        quote=q,
        transaction=require_valid(Transaction(TransactionKind.PURCHASE, postings)) if postings else None,
        lot_takes=tuple(takes),
        new_lot=new_lot(lot_points, lot_expiry(program, now), state.lots),
        balance_after=balance_after_spend + q.points_to_earn,
        lifetime_spend_after_minor=state.lifetime_spend_minor + check_minor,
    )


@dataclass(frozen=True, slots=True)
class BonusPlan:
    transaction: Transaction
    new_lot: NewLot | None
    balance_after: int


def plan_bonus(
    program: BonusProgram, accounts: PointsAccounts, state: MemberPoints, points: int, now: datetime, memo: str
) -> BonusPlan:
    """Points a rule grants outside a purchase: issued to the member like an accrual, so the granting outlet's
    partner owes the settlement node their value; a debt the member carries is paid off first."""
    if points <= 0:
        raise ValueError(f"a bonus grants a positive number of points, not {points}")
    postings = _points_postings(program, accounts, earned=points, redeemed=0)
    transaction = require_valid(Transaction(TransactionKind.BONUS, postings, memo=memo))
    lot_points = new_lot_points(state.balance, points)
    return BonusPlan(transaction, new_lot(lot_points, lot_expiry(program, now), state.lots), state.balance + points)


def plan_node_bonus(
    program: BonusProgram,
    points_issued: int,
    member_points: int,
    state: MemberPoints,
    points: int,
    now: datetime,
    memo: str,
) -> BonusPlan:
    """Points the network itself grants (a birthday bonus sent by a job, no outlet involved): no partner owes for
    them, so the node carries their value; a debt the member carries is paid off first."""
    if points <= 0:
        raise ValueError(f"a bonus grants a positive number of points, not {points}")
    postings = transfer(points_issued, member_points, program.points_asset, points)
    transaction = require_valid(Transaction(TransactionKind.BONUS, postings, memo=memo))
    lot_points = new_lot_points(state.balance, points)
    return BonusPlan(transaction, new_lot(lot_points, lot_expiry(program, now), state.lots), state.balance + points)


def _points_postings(
    program: BonusProgram, accounts: PointsAccounts, *, earned: int, redeemed: int
) -> tuple[Posting, ...]:
    """Gross postings of a purchase (earned, redeemed positive) or of a refund (both negative)."""
    pts, money = program.points_asset, program.money_asset
    return (
        *transfer(accounts.points_issued, accounts.member_points, pts, earned),
        *transfer(accounts.member_points, accounts.points_redeemed, pts, redeemed),
        *transfer(accounts.partner_obligations, accounts.node_obligations, money, program.points_value_minor(earned)),
        *transfer(
            accounts.node_obligations,
            accounts.partner_obligations,
            money,
            program.points_value_minor(redeemed),
        ),
    )


@dataclass(frozen=True, slots=True)
class PurchaseTotals:
    """What a stored purchase recorded, and how much of its check has been refunded so far."""

    check_minor: int
    amount_due_minor: int
    points_earned: int
    points_redeemed: int
    refunded_before_minor: int


@dataclass(frozen=True, slots=True)
class RefundPlan:
    refund_minor: int  # measured on the check total before points
    money_back_minor: int  # what the customer gets back in money
    points_clawed_back: int
    points_returned: int
    transaction: Transaction | None
    lot_takes: tuple[LotTake, ...]
    new_lot: NewLot | None
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
    """Claw back the refund's share of earned points (a debt if already spent); return its share of redeemed ones."""
    left_minor = purchase.check_minor - purchase.refunded_before_minor
    if refund_minor <= 0:
        raise InvalidInput("a refund must be greater than zero", field="amount")
    if refund_minor > left_minor:
        left = format_minor(left_minor, program.currency)
        raise RefundNotAllowed(f"at most {left} {program.currency} of this check are left to refund", field="amount")
    share = _RefundShares(purchase, refund_minor)
    clawed, returned = share.of(purchase.points_earned), share.of(purchase.points_redeemed)
    takes, shortfall = take_from_lots(list(state.lots), clawed, now)
    existing_debt = max(0, -state.balance)
    restored = max(0, returned - shortfall - existing_debt)
    postings = tuple(
        Posting(p.account_id, p.asset, -p.amount)
        for p in _points_postings(program, accounts, earned=clawed, redeemed=returned)
    )
    return RefundPlan(
        refund_minor=refund_minor,
        money_back_minor=share.of(purchase.amount_due_minor),
        points_clawed_back=clawed,
        points_returned=returned,
        transaction=require_valid(Transaction(TransactionKind.REFUND, postings)) if postings else None,
        lot_takes=tuple(takes),
        new_lot=new_lot(restored, lot_expiry(program, now), state.lots),
        balance_after=state.balance - clawed + returned,
        lifetime_spend_after_minor=max(0, state.lifetime_spend_minor - refund_minor),
    )


@dataclass(frozen=True, slots=True)
class _RefundShares:
    purchase: PurchaseTotals
    refund_minor: int

    def of(self, total: int) -> int:
        return cumulative_share(
            total, self.purchase.refunded_before_minor, self.refund_minor, self.purchase.check_minor
        )
