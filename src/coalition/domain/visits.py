"""Visits: a member's stay in a closed venue (a water park), from the entry turnstile to the exit.

At the exit the rules may reset what the visit left unused (`reset_balances`): the visitor cannot take it away. Only
what the visit itself added is reset — the points it added net of those spent or expired during it, and the gifts
granted during it that were not handed over. Points the member came with are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from coalition.domain.bonus import BonusProgram
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.errors import Conflict
from coalition.domain.ledger import require_valid
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import ExpiryAccounts, ExpiryPlan, MemberPoints, plan_expiry


@dataclass(frozen=True, slots=True)
class Visit:
    id: str
    member_id: int
    entry_outlet_id: int
    started_at: datetime
    ended_at: datetime | None = None
    exit_outlet_id: int | None = None
    points_reset: int = 0
    gifts_reset: int = 0

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


def require_open(visit: Visit) -> None:
    if visit.ended_at is not None:
        raise Conflict(f"visit {visit.id} ended at {visit.ended_at.isoformat()}", field="visit_id")


def points_left_from_visit(balance: int, added_during_visit: int) -> int:
    """What a reset takes: the visit's net addition to the member's points, at most the balance, never below zero."""
    return max(0, min(balance, added_during_visit))


def reset_takes(lots: tuple[Lot, ...], points: int) -> tuple[LotTake, ...]:
    """The newest lots first: they hold what the visit added (older lots hold what the member came with)."""
    takes: list[LotTake] = []
    left = points
    for lot in sorted(lots, key=lambda lot: lot.id, reverse=True):
        if left == 0:
            break
        take = min(left, lot.remaining)
        if take > 0:
            takes.append(LotTake(lot.id, take))
            left -= take
    if left:
        raise ValueError(f"the lots hold {points - left} points, {points} asked")  # lots sum to the balance
    return tuple(takes)


def lots_to_reset(state: MemberPoints, points: int, now: datetime) -> tuple[Lot, ...]:
    """The points a reset takes, as lots that expire `now` (with their grantors): a reset is an expiry of the visit's
    points, so its breakage follows the network's points breakage policy like any other."""
    by_id = {lot.id: lot for lot in state.lots}
    return tuple(
        replace(by_id[take.lot_id], remaining=take.points, expires_at=now) for take in reset_takes(state.lots, points)
    )


def lots_ending_with_visit(state: MemberPoints, lot_ids: set[int], now: datetime) -> tuple[Lot, ...]:
    """The lots of end_of_visit accruals granted during the visit, as lots that expire `now`: the visit's end is
    their expiry, swept like any other under the network's points breakage policy."""
    return tuple(replace(lot, expires_at=now) for lot in state.lots if lot.id in lot_ids and lot.remaining > 0)


def plan_reset(
    program: BonusProgram,
    accounts: ExpiryAccounts,
    due: tuple[Lot, ...],
    now: datetime,
    policy: BreakagePolicy,
    visit_id: str,
    what: str = "unused points reset",
) -> ExpiryPlan | None:
    """Post the lots `lots_to_reset` (or `lots_ending_with_visit`) chose to breakage; None when there are none."""
    plan = plan_expiry(program, accounts, due, now, policy)
    if plan is None:
        return None
    memo = f"visit {visit_id} ended: {what} ({plan.transaction.memo})"
    return replace(plan, transaction=require_valid(replace(plan.transaction, memo=memo)))


def after_reset(state: MemberPoints, plan: ExpiryPlan | None) -> MemberPoints:
    if plan is None:
        return state
    taken = {take.lot_id: take.points for take in plan.takes}
    lots = tuple(
        replace(lot, remaining=lot.remaining - taken[lot.id]) if lot.id in taken else lot for lot in state.lots
    )
    return MemberPoints(state.balance - plan.points, state.lifetime_spend_minor, lots)
