"""Purchases and refunds planned as ledger transactions, before anything is written.

A purchase at an outlet of partner P that grants E points and accepts R points as payment posts:
- points: issued → member E; member → redeemed R;
- money (the points' settlement value V per point): P owes the node E·V (P -E·V, node +E·V), and the node owes P
  R·V (node -R·V, P +R·V).
A refund reverses its prorated share of each of these lines and references the purchase's transaction.

The points of a new lot remember who granted them (P; nobody — the node — for a birthday bonus), so that the
network's breakage policy (domain.breakage) can release P's obligation for the points that expire unused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

from coalition.domain.bonus import BonusProgram, Quote, quote
from coalition.domain.breakage import KEEP_BREAKAGE, BreakagePolicy
from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import (
    MAX_POSTINGS_PER_TRANSACTION,
    Posting,
    Transaction,
    TransactionKind,
    require_valid,
    transfer,
)
from coalition.domain.lots import (
    GrantedPoints,
    Lot,
    LotTake,
    by_grantor,
    expired_points,
    is_expired,
    new_lot_points,
    of_at_most_grantors,
    spend_from_lots,
)
from coalition.domain.money import line_total_minor
from coalition.domain.records import fast_init
from coalition.domain.rules.model import ExpiryKind, PointsExpiry

MAX_BASKET_LINES = 500


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class PointsAccounts:
    """Ledger accounts a purchase or refund at one outlet touches."""

    member_points: int
    points_issued: int
    points_redeemed: int
    partner_obligations: int
    node_obligations: int
    partner_id: int  # the outlet's partner: it grants the points earned there and owes the node for them


@fast_init
@dataclass(frozen=True, slots=True)
class MemberPoints:
    """A member's points state, read under the member's lock."""

    balance: int
    lifetime_spend_minor: int
    lots: tuple[Lot, ...]


@dataclass(frozen=True, slots=True)
class ExpiryAccounts:
    """Ledger accounts a member's expiry sweep touches. `partner_obligations` maps each partner that granted
    expired points to its obligations account; only a policy that returns value to partners needs it."""

    member_points: int
    points_breakage: int
    node_obligations: int
    partner_obligations: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReturnedValue:
    """Breakage value posted back to the partner that granted the expired points (minor units, > 0)."""

    partner_id: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    transaction: Transaction
    takes: tuple[LotTake, ...]
    points: int
    returned: tuple[ReturnedValue, ...] = ()

    @property
    def returned_minor(self) -> int:
        return sum(value.amount_minor for value in self.returned)


def expired_lots(lots: tuple[Lot, ...], now: datetime) -> list[Lot]:
    """Expired lots with points no expiry transaction has swept yet."""
    return [lot for lot in lots if is_expired(lot, now) and lot.remaining > 0]


def expired_grantors(lots: tuple[Lot, ...], now: datetime) -> list[int]:
    """The partners that granted points of the expired lots, by id (the node's own points left out)."""
    return sorted({lot.granting_partner_id for lot in expired_lots(lots, now) if lot.granting_partner_id is not None})


def plan_expiry(
    program: BonusProgram,
    accounts: ExpiryAccounts,
    lots: tuple[Lot, ...],
    now: datetime,
    policy: BreakagePolicy = KEEP_BREAKAGE,
) -> ExpiryPlan | None:
    """Post the remaining points of expired lots to breakage, and — as the network's policy says — part or all of
    their settlement value back to the partners that granted them, in one transaction; None when nothing expired."""
    # at most what one transaction holds beside the member's, breakage's and the node's postings; the rest next time
    expired = of_at_most_grantors(expired_lots(lots, now), MAX_POSTINGS_PER_TRANSACTION - 3)
    points = sum(lot.remaining for lot in expired)
    if not points:
        return None
    returned = returned_values(program, policy, by_grantor(expired))
    postings = (
        *transfer(accounts.member_points, accounts.points_breakage, program.points_asset, points),
        *_release_postings(accounts, program.money_asset, returned),
    )
    transaction = Transaction(TransactionKind.EXPIRY, postings, memo=_expiry_memo(policy, returned))
    takes = tuple(LotTake(lot.id, lot.remaining) for lot in expired)
    return ExpiryPlan(require_valid(transaction), takes, points, returned)


def returned_values(
    program: BonusProgram, policy: BreakagePolicy, expired: list[GrantedPoints]
) -> tuple[ReturnedValue, ...]:
    """Per granting partner, the value of its expired points the policy returns to it (rounded once per partner)."""
    returned = []
    for granted in expired:
        if granted.granting_partner_id is None:
            continue  # the node granted these itself: nobody owes for them
        amount_minor = policy.returned_minor(program.points_value_minor(granted.points))
        if amount_minor:
            returned.append(ReturnedValue(granted.granting_partner_id, amount_minor))
    return tuple(returned)


def _release_postings(accounts: ExpiryAccounts, asset: str, returned: tuple[ReturnedValue, ...]) -> tuple[Posting, ...]:
    """The node's obligations account pays each partner its returned value (one node posting for all of them)."""
    if not returned:
        return ()
    total_minor = sum(value.amount_minor for value in returned)
    partner_postings = []
    for value in returned:
        account = accounts.partner_obligations.get(value.partner_id)
        if account is None:
            raise ValueError(f"no obligations account given for partner {value.partner_id}")
        partner_postings.append(Posting(account, asset, value.amount_minor))
    return (Posting(accounts.node_obligations, asset, -total_minor), *partner_postings)


def _expiry_memo(policy: BreakagePolicy, returned: tuple[ReturnedValue, ...]) -> str:
    if not returned:
        return "points expired"
    return f"points expired: breakage {policy.kind.value}" + (
        f" ({policy.share_bp} bp to the granting partner)" if policy.share_bp is not None else ""
    )


def has_expired_lots(state: MemberPoints, now: datetime) -> bool:
    return bool(expired_lots(state.lots, now))


def after_expiry(state: MemberPoints, expiry: ExpiryPlan | None) -> MemberPoints:
    if expiry is None:
        return state
    expired = {take.lot_id for take in expiry.takes}
    lots = tuple(replace(lot, remaining=0) if lot.id in expired else lot for lot in state.lots)
    return MemberPoints(state.balance - expiry.points, state.lifetime_spend_minor, lots)


@fast_init
@dataclass(frozen=True, slots=True)
class NewLot:
    """Points to add to a member's lots: a new lot, or — for points that never expire — the open lot that already
    holds never-expiring points (`top_up_lot_id`), so a member who never spends does not gather a lot per purchase."""

    points: int
    expires_at: datetime | None
    top_up_lot_id: int | None = None
    granting_partner_id: int | None = None  # None: the node granted them
    ends_with_visit_id: str | None = None  # the open visit whose end sweeps these points (end_of_visit accruals)


def new_lot(
    points: int,
    expires_at: datetime | None,
    lots: tuple[Lot, ...],
    granting_partner_id: int | None,
    ends_with_visit_id: str | None = None,
) -> NewLot | None:
    """A lot for `points` granted by this partner (None: the node). Never-expiring points top up the open
    never-expiring lot of the same grantor, so a lot always knows who granted every point in it."""
    if not points:
        return None
    if ends_with_visit_id is not None:
        return NewLot(points, expires_at, None, granting_partner_id, ends_with_visit_id)
    if expires_at is None:
        open_forever = [
            lot.id
            for lot in lots
            if lot.expires_at is None and lot.remaining > 0 and lot.granting_partner_id == granting_partner_id
        ]
        if open_forever:
            return NewLot(points, None, min(open_forever), granting_partner_id)
    return NewLot(points, expires_at, None, granting_partner_id)


@fast_init
@dataclass(frozen=True, slots=True)
class PurchasePlan:
    quote: Quote
    transaction: Transaction | None  # None when the purchase moves no points
    lot_takes: tuple[LotTake, ...]
    new_lots: tuple[NewLot, ...]  # one per expiry of the points earned
    balance_after: int
    lifetime_spend_after_minor: int


def lot_expiry(program: BonusProgram, now: datetime) -> datetime | None:
    return None if program.points_expire_days is None else now + timedelta(days=program.points_expire_days)


@fast_init
@dataclass(frozen=True, slots=True)
class AccrualPlace:
    """Where points accrue, as their expiry needs it: the outlet's time zone (a month or a day ends at its
    midnight) and the member's open visit there, if any (its end sweeps `end_of_visit` points)."""

    zone: tzinfo = UTC
    open_visit_id: str | None = None


AT_UTC = AccrualPlace()


@dataclass(frozen=True, slots=True)
class AccruedPoints:
    """Points of one accrual expiry, resolved to a moment (UTC; None: never) and, for end_of_visit points granted
    during a visit, the visit whose end sweeps them."""

    points: int
    expires_at: datetime | None
    ends_with_visit_id: str | None = None


def next_local_midnight(now: datetime, zone: tzinfo) -> datetime:
    """The end of the local day `now` falls in, in UTC."""
    local = now.astimezone(zone)
    tomorrow = local.date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)


def end_of_local_month(now: datetime, zone: tzinfo) -> datetime:
    """The end of the calendar month `now` falls in at the local time of `zone` (the next month's first
    midnight), in UTC."""
    local = now.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


def resolve_expiry(
    program: BonusProgram, expiry: PointsExpiry, points: int, now: datetime, place: AccrualPlace
) -> AccruedPoints:
    """When points of an accrual with this expiry expire. `never` leaves them to the program's own expiry;
    `end_of_visit` points end with the open visit, and at the latest — or without a visit — at the local midnight."""
    if expiry.kind is ExpiryKind.DAYS and expiry.days is not None:
        return AccruedPoints(points, now + timedelta(days=expiry.days))
    if expiry.kind is ExpiryKind.END_OF_MONTH:
        return AccruedPoints(points, end_of_local_month(now, place.zone))
    if expiry.kind is ExpiryKind.END_OF_VISIT:
        return AccruedPoints(points, next_local_midnight(now, place.zone), place.open_visit_id)
    return AccruedPoints(points, lot_expiry(program, now))


def accrued_points(
    program: BonusProgram,
    earned_by_expiry: tuple[tuple[PointsExpiry, int], ...],
    points_to_earn: int,
    now: datetime,
    place: AccrualPlace,
) -> list[AccruedPoints]:
    """Points to earn by when they expire: points of the same moment (and visit) together, in the order the rules
    granted them; points no grant accounts for live as the program says."""
    merged: dict[tuple[datetime | None, str | None], int] = {}
    for expiry, points in earned_by_expiry:
        resolved = resolve_expiry(program, expiry, points, now, place)
        key = (resolved.expires_at, resolved.ends_with_visit_id)
        merged[key] = merged.get(key, 0) + points
    unaccounted = points_to_earn - sum(merged.values())
    if unaccounted > 0:
        key = (lot_expiry(program, now), None)
        merged[key] = merged.get(key, 0) + unaccounted
    return [AccruedPoints(points, expires_at, visit_id) for (expires_at, visit_id), points in merged.items()]


def after_debt(accrued: list[AccruedPoints], debt: int) -> list[AccruedPoints]:
    """The accruals left after paying off a debt with the soonest-expiring points first (the member keeps those
    that live longest); an accrual paid off entirely is left out."""
    left = max(0, debt)
    kept: dict[int, int] = {}
    order = sorted(
        range(len(accrued)), key=lambda i: (accrued[i].expires_at is None, accrued[i].expires_at or datetime.min, i)
    )
    for index in order:
        kept[index] = new_lot_points(-left, accrued[index].points)
        left = max(0, left - accrued[index].points)
    return [replace(part, points=kept[index]) for index, part in enumerate(accrued) if kept[index] > 0]


def accrual_lots(
    program: BonusProgram,
    q: Quote,
    balance_before: int,
    lots: tuple[Lot, ...],
    granting_partner_id: int | None,
    now: datetime,
    place: AccrualPlace,
) -> tuple[NewLot, ...]:
    """The lots a quote's points go to: one per expiry (never-expiring points top up the grantor's open lot),
    after any debt the balance carries (`balance_before`, after the points the purchase spends) is paid off."""
    return lots_for(
        program, q.earned_by_expiry, q.points_to_earn, balance_before, lots, granting_partner_id, now, place
    )


def lots_for(
    program: BonusProgram,
    earned_by_expiry: tuple[tuple[PointsExpiry, int], ...],
    points_to_earn: int,
    balance_before: int,
    lots: tuple[Lot, ...],
    granting_partner_id: int | None,
    now: datetime,
    place: AccrualPlace,
) -> tuple[NewLot, ...]:
    """The lots points earned by expiry go to, after any debt `balance_before` carries is paid off."""
    if not earned_by_expiry:  # all of them live as the program says (the common case: no rule's own expiry)
        lot = new_lot(
            new_lot_points(balance_before, points_to_earn), lot_expiry(program, now), lots, granting_partner_id
        )
        return () if lot is None else (lot,)
    debt = -balance_before if balance_before < 0 else 0
    parts = after_debt(accrued_points(program, earned_by_expiry, points_to_earn, now, place), debt)
    return tuple(
        lot
        for part in parts
        if (lot := new_lot(part.points, part.expires_at, lots, granting_partner_id, part.ends_with_visit_id))
        is not None
    )


def expiring_lots(new_lots: tuple[NewLot, ...]) -> tuple[NewLot, ...]:
    """The new lots whose points expire, soonest first: what the cashier tells the member."""
    expiring = [lot for lot in new_lots if lot.expires_at is not None]
    return tuple(sorted(expiring, key=lambda lot: lot.expires_at or datetime.min))


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
    place: AccrualPlace = AT_UTC,
) -> PurchasePlan:
    """The purchase's quote, transaction and lot changes; `state` must have no expired lots left. `priced` is a
    quote a published rule set made (domain.rules.pricing); without one, the bonus program prices the check.
    Each accrual's points go to a lot of their expiry, measured at `place`."""
    q = priced or quote_for(program, state, check_minor, redeem_points, now)
    takes = spend_from_lots(list(state.lots), q.redeem_points, now)
    postings = points_postings(program, accounts, earned=q.points_to_earn, redeemed=q.redeem_points)
    balance_after_spend = state.balance - q.redeem_points
    return PurchasePlan(
        quote=q,
        transaction=require_valid(Transaction(TransactionKind.PURCHASE, postings)) if postings else None,
        lot_takes=tuple(takes),
        new_lots=accrual_lots(program, q, balance_after_spend, state.lots, accounts.partner_id, now, place),
        balance_after=balance_after_spend + q.points_to_earn,
        lifetime_spend_after_minor=state.lifetime_spend_minor + check_minor,
    )


@dataclass(frozen=True, slots=True)
class BonusPlan:
    transaction: Transaction
    new_lots: tuple[NewLot, ...]
    balance_after: int


def plan_bonus(
    program: BonusProgram,
    accounts: PointsAccounts,
    state: MemberPoints,
    points: int,
    now: datetime,
    memo: str,
    *,
    by_expiry: tuple[tuple[PointsExpiry, int], ...] = (),
    place: AccrualPlace = AT_UTC,
) -> BonusPlan:
    """Points a rule grants outside a purchase: issued to the member like an accrual, so the granting outlet's
    partner owes the settlement node their value; a debt the member carries is paid off first. Each rule's points go
    to a lot of its expiry (`by_expiry`), measured at `place`."""
    if points <= 0:
        raise ValueError(f"a bonus grants a positive number of points, not {points}")
    postings = points_postings(program, accounts, earned=points, redeemed=0)
    transaction = require_valid(Transaction(TransactionKind.BONUS, postings, memo=memo))
    lots = lots_for(program, by_expiry, points, state.balance, state.lots, accounts.partner_id, now, place)
    return BonusPlan(transaction, lots, state.balance + points)


def plan_node_bonus(
    program: BonusProgram,
    points_issued: int,
    member_points: int,
    state: MemberPoints,
    points: int,
    now: datetime,
    memo: str,
    *,
    by_expiry: tuple[tuple[PointsExpiry, int], ...] = (),
) -> BonusPlan:
    """Points the network itself grants (a birthday bonus sent by a job, no outlet involved): no partner owes for
    them, so the node carries their value; a debt the member carries is paid off first."""
    if points <= 0:
        raise ValueError(f"a bonus grants a positive number of points, not {points}")
    postings = transfer(points_issued, member_points, program.points_asset, points)
    transaction = require_valid(Transaction(TransactionKind.BONUS, postings, memo=memo))
    lots = lots_for(program, by_expiry, points, state.balance, state.lots, None, now, AT_UTC)  # the node's own
    return BonusPlan(transaction, lots, state.balance + points)


def points_postings(
    program: BonusProgram, accounts: PointsAccounts, *, earned: int, redeemed: int
) -> tuple[Posting, ...]:
    """Gross postings of a purchase (earned, redeemed positive) or of a refund (both negative): the points earned,
    the points redeemed, then their values in money, each pair left out when it moves nothing (as `transfer`).
    Built in one list: every purchase and batch item makes these."""
    pts, money = program.points_asset, program.money_asset
    member, node = accounts.member_points, accounts.node_obligations
    postings: list[Posting] = []
    if earned:
        postings += (Posting(accounts.points_issued, pts, -earned), Posting(member, pts, earned))
    if redeemed:
        postings += (Posting(member, pts, -redeemed), Posting(accounts.points_redeemed, pts, redeemed))
    earned_value, redeemed_value = program.points_value_minor(earned), program.points_value_minor(redeemed)
    if earned_value:
        postings += (Posting(accounts.partner_obligations, money, -earned_value), Posting(node, money, earned_value))
    if redeemed_value:
        postings += (
            Posting(node, money, -redeemed_value),
            Posting(accounts.partner_obligations, money, redeemed_value),
        )
    return tuple(postings)
