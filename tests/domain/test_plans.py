"""The hosted service's plans (domain/plans.py, docs/plans.md): limits at their edges, the trial, the refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalition.domain.errors import InvalidInput, NetworkSuspended, PlanLimitReached
from coalition.domain.plans import (
    PlanState,
    next_plan,
    plan_named,
    require_room,
    trial_end,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _state(code: str, trial: datetime | None = None, suspended: datetime | None = None) -> PlanState:
    return PlanState(plan_named(code), trial, suspended)


def test_the_brief_s_tariffs_in_order() -> None:
    limits = [
        (p.code, p.max_members) for p in (plan_named(c) for c in ("free", "start", "business", "large", "custom"))
    ]
    assert limits == [("free", 500), ("start", 2_000), ("business", 10_000), ("large", 50_000), ("custom", None)]
    assert next_plan(plan_named("free")) == plan_named("start")
    assert next_plan(plan_named("custom")) is None
    with pytest.raises(InvalidInput) as refused:
        plan_named("gold")
    assert refused.value.field == "plan"


@pytest.mark.parametrize(
    ("signed_up", "ends"),
    [
        (datetime(2026, 12, 6, 9, 30, tzinfo=UTC), datetime(2027, 3, 6, 9, 30, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC)),  # no 30 February: its last day
        (datetime(2027, 11, 30, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),  # a leap year
        (datetime(2026, 10, 31, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC)),
    ],
)
def test_a_trial_lasts_three_calendar_months(signed_up: datetime, ends: datetime) -> None:
    assert trial_end(signed_up) == ends


def test_the_free_plan_takes_its_500th_customer_and_refuses_the_501st() -> None:
    free = _state("free")
    require_room(free, NOW, members=499)
    with pytest.raises(PlanLimitReached) as refused:
        require_room(free, NOW, members=500)
    assert refused.value.detail == (
        "the Free plan allows up to 500 customers and this network has 500; the Start plan allows up to 2,000; "
        "existing customers keep earning and spending"
    )
    with pytest.raises(PlanLimitReached):  # a file of two when one place is left: refused whole
        require_room(free, NOW, members=499, adding=2)


def test_a_trial_allows_the_largest_listed_plan_until_it_ends() -> None:
    trial = _state("free", trial=datetime(2027, 3, 6, tzinfo=UTC))
    require_room(trial, NOW, members=49_999)
    with pytest.raises(PlanLimitReached) as refused:
        require_room(trial, NOW, members=50_000)
    assert refused.value.detail == (
        "the trial allows up to 50,000 customers and this network has 50,000; ask the server's operator for a plan; "
        "existing customers keep earning and spending"
    )
    ended = datetime(2027, 3, 6, tzinfo=UTC)
    with pytest.raises(PlanLimitReached):
        require_room(trial, ended, members=500)  # the trial's last instant is past: the Free plan again


def test_custom_has_no_limit_and_a_suspended_network_takes_nobody() -> None:
    require_room(_state("custom"), NOW, members=10**9)
    with pytest.raises(NetworkSuspended):
        require_room(_state("custom", suspended=NOW), NOW, members=0)
    assert _state("large").max_members(NOW) == 50_000
