"""Points lots: the points of one accrual with an optional expiry, spent soonest-expiring first.

Invariant kept by every operation here: the remaining points of a member's lots sum to the member's balance
when it is positive, and to zero when the balance is negative (a debt, paid off by the next accruals).

A lot knows who granted its points: the partner whose outlet granted them (and owes the settlement node their
value), or nobody — the node itself, for the bonuses a job grants (birthdays). What happens to that obligation when
the points expire unused is the network's breakage policy (domain.breakage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.errors import InsufficientPoints
from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    remaining: int
    expires_at: datetime | None
    granting_partner_id: int | None = None  # None: the node granted them (a birthday bonus)


@dataclass(frozen=True, slots=True)
class GrantedPoints:
    """Points of one grantor: a partner, or the node (None)."""

    granting_partner_id: int | None
    points: int


@fast_init
@dataclass(frozen=True, slots=True)
class LotTake:
    lot_id: int
    points: int


def spend_order(lots: list[Lot]) -> list[Lot]:
    """Soonest-expiring first; lots without expiry last; older lots (lower id) first among equals."""
    return sorted(lots, key=lambda lot: (lot.expires_at is None, lot.expires_at or datetime.min, lot.id))


def is_expired(lot: Lot, now: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= now


def spendable_points(lots: list[Lot], now: datetime) -> int:
    return sum(lot.remaining for lot in lots if not is_expired(lot, now))


def expired_points(lots: list[Lot], now: datetime) -> int:
    """Points in expired lots that no expiry transaction has swept yet."""
    return sum(lot.remaining for lot in lots if is_expired(lot, now))


def by_grantor(lots: list[Lot]) -> list[GrantedPoints]:
    """The remaining points of these lots summed per grantor, in order of the grantor's first lot."""
    totals: dict[int | None, int] = {}
    for lot in lots:
        if lot.remaining:
            totals[lot.granting_partner_id] = totals.get(lot.granting_partner_id, 0) + lot.remaining
    return [GrantedPoints(grantor, points) for grantor, points in totals.items()]


def take_from_lots(
    lots: list[Lot], points: int, now: datetime, *, partner_first: int | None = None
) -> tuple[list[LotTake], int]:
    """Take up to `points` from unexpired lots in spend order — those `partner_first` granted before the others,
    when given; return the takes and the shortfall."""
    if points == 0:  # most purchases spend none: no lots to sort
        return [], 0
    takes: list[LotTake] = []
    left = points
    open_lots = spend_order([lot for lot in lots if not is_expired(lot, now) and lot.remaining > 0])
    if partner_first is not None:
        open_lots.sort(key=lambda lot: lot.granting_partner_id != partner_first)  # stable: spend order within
    for lot in open_lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        takes.append(LotTake(lot.id, take))
        left -= take
    return takes, left


def spend_from_lots(lots: list[Lot], points: int, now: datetime) -> list[LotTake]:
    takes, shortfall = take_from_lots(lots, points, now)
    if shortfall:
        raise InsufficientPoints(f"{points} points asked, {points - shortfall} available", field="redeem_points")
    return takes


def new_lot_points(balance_before: int, accrued: int) -> int:
    """Points of a new accrual left in its lot after paying off any debt (a negative balance)."""
    debt = max(0, -balance_before)
    return max(0, accrued - debt)


def of_at_most_grantors(lots: list[Lot], most: int) -> list[Lot]:
    """The lots granted by the node or by the first `most` granting partners (in the lots' order): an expiry writes a
    release posting per partner, and a transaction holds at most so many; the other lots wait for the next one."""
    partners: set[int] = set()
    chosen = []
    for lot in lots:
        partner = lot.granting_partner_id
        if partner is not None and partner not in partners:
            if len(partners) >= most:
                continue
            partners.add(partner)
        chosen.append(lot)
    return chosen
