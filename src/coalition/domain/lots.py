"""Points lots: the points of one accrual with an optional expiry, spent soonest-expiring first.

Invariant kept by every operation here: the remaining points of a member's lots sum to the member's balance
when it is positive, and to zero when the balance is negative (a debt, paid off by the next accruals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.errors import InsufficientPoints


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    remaining: int
    expires_at: datetime | None


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


def take_from_lots(lots: list[Lot], points: int, now: datetime) -> tuple[list[LotTake], int]:
    """Take up to `points` from unexpired lots in spend order; return the takes and the shortfall."""
    takes: list[LotTake] = []
    left = points
    for lot in spend_order([lot for lot in lots if not is_expired(lot, now) and lot.remaining > 0]):
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
