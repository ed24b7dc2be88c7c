"""The client's plan methods against a real `coalition serve` (docs/plans.md): a network reads its plan; the operator
lists the networks, sets a plan with a trial, suspends (the till is refused) and resumes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coalition_client import Client, Forbidden
from coalition_client.models import Purchase

from .conftest import Demo

OPERATOR_TOKEN = "client-operator-token"


@pytest.fixture(autouse=True)
def _operator_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COALITION_OPERATOR_TOKEN", OPERATOR_TOKEN)  # before the demo's server starts
    yield


def test_plans_through_the_client(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin, Client(demo.url, OPERATOR_TOKEN) as operator:
        own = admin.plan()
        assert (own.code, own.plan, own.max_members, own.suspended_at) == ("demo", "custom", None, None)
        page = operator.networks(limit=1)
        assert [n.code for n in page.networks] == ["demo"] and page.next_cursor is None
        trial = datetime(2099, 3, 6, tzinfo=UTC)
        changed = operator.set_plan(own.network_id, "free", trial_ends_at=trial, change_trial=True)
        assert (changed.plan, changed.trial_ends_at, changed.in_trial, changed.max_members) == (
            "free",
            trial,
            True,
            50_000,
        )
        kept = operator.set_plan(own.network_id, "start")
        assert (kept.plan, kept.trial_ends_at) == ("start", trial)
        assert operator.suspend_network(own.network_id).suspended_at is not None
        with Client(demo.url, demo.till_key) as till, pytest.raises(Forbidden) as refused:
            till.purchase(Purchase(customer="1000-0001", amount=Decimal("100.00"), receipt="PLAN-1"))
        assert refused.value.status == 403
        assert operator.resume_network(own.network_id).suspended_at is None
