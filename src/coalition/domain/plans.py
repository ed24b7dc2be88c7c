"""Plans of the hosted service (issue 18, point 6; docs/plans.md): a network pays by the number of its customers.

The brief's tariffs: up to 500 customers free; 500–2,000; 2,000–10,000; 10,000–50,000; above on request. A shop that
signs itself up gets a three-month trial from its sign-up, during which it may grow to the largest listed plan's
size whatever its plan. Over its plan a network enrols no new customer (the refusal names the plan and the next one);
its existing customers keep earning and spending, and nothing is ever deleted. Networks the operator creates are on
`custom` (no limit) until the operator sets a plan.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime

from coalition.domain.errors import InvalidInput, NetworkSuspended, PlanLimitReached

TRIAL_MONTHS = 3


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    name: str
    max_members: int | None  # None: no limit (agreed with the operator)


PLANS: tuple[Plan, ...] = (
    Plan("free", "Free", 500),
    Plan("start", "Start", 2_000),
    Plan("business", "Business", 10_000),
    Plan("large", "Large", 50_000),
    Plan("custom", "Custom", None),
)
TRIAL_PLAN = PLANS[3]  # what a trial allows: the largest listed plan
DEFAULT_PLAN_CODE = "custom"  # operator-created networks; self-registered shops start on `free` with a trial
SIGN_UP_PLAN_CODE = "free"


def plan_named(code: str, *, field: str = "plan") -> Plan:
    for plan in PLANS:
        if plan.code == code:
            return plan
    raise InvalidInput(f"a plan is one of {', '.join(p.code for p in PLANS)}", field=field)


def next_plan(plan: Plan) -> Plan | None:
    """The next larger plan, None after the last."""
    index = PLANS.index(plan)
    return PLANS[index + 1] if index + 1 < len(PLANS) else None


def trial_end(signed_up_at: datetime, months: int = TRIAL_MONTHS) -> datetime:
    """Three calendar months after sign-up; a day the month lacks becomes its last day (30 Nov → 28 or 29 Feb)."""
    month_index = signed_up_at.month - 1 + months
    year, month = signed_up_at.year + month_index // 12, month_index % 12 + 1
    return signed_up_at.replace(year=year, month=month, day=min(signed_up_at.day, monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class PlanState:
    plan: Plan
    trial_ends_at: datetime | None
    suspended_at: datetime | None

    def in_trial(self, now: datetime) -> bool:
        return self.trial_ends_at is not None and now < self.trial_ends_at

    def plan_in_effect(self, now: datetime) -> Plan:
        """The plan whose limit applies at `now`: the network's, or the trial's while that is larger."""
        own, trial = self.plan.max_members, TRIAL_PLAN.max_members
        if self.in_trial(now) and own is not None and trial is not None and trial > own:
            return TRIAL_PLAN
        return self.plan

    def max_members(self, now: datetime) -> int | None:
        return self.plan_in_effect(now).max_members


def require_room(state: PlanState, now: datetime, members: int, adding: int = 1) -> None:
    """Refuses enrolling `adding` more customers to a network that has `members` when its plan does not allow it."""
    if state.suspended_at is not None:
        raise NetworkSuspended("the server's operator has suspended this network: no new customers can join")
    in_effect = state.plan_in_effect(now)
    limit = in_effect.max_members
    if limit is None or members + adding <= limit:
        return
    after = next_plan(in_effect)
    name, limit_text, members_text = in_effect.name, f"{limit:,}", f"{members:,}"
    if in_effect is not state.plan:
        raise PlanLimitReached(
            f"the trial allows up to {limit_text} customers and this network has {members_text}; ask the server's "
            "operator for a plan; existing customers keep earning and spending"
        )
    if after is None or after.max_members is None:
        raise PlanLimitReached(
            f"the {name} plan allows up to {limit_text} customers and this network has {members_text}; ask the "
            "server's operator for a larger plan; existing customers keep earning and spending"
        )
    raise PlanLimitReached(
        f"the {name} plan allows up to {limit_text} customers and this network has {members_text}; the "
        f"{after.name} plan allows up to {after.max_members:,}; existing customers keep earning and spending"
    )
