"""The client's named methods for cards, cashiers, coupons, permissions and scheduled jobs against a real server,
with typed answers (the drift check holds their fields against /openapi.json)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from coalition_client import AsyncClient, Client, Conflict, routes
from coalition_client.admin_models import (
    Cashier,
    Coupons,
    MatrixEntry,
    Outlet,
    Partner,
    Permissions,
    ScheduleChange,
)
from coalition_client.models import CardIssue, Enrol, Purchase

from .conftest import Demo


def test_a_till_issues_blocks_unblocks_reports_lost_and_replaces_a_card(demo: Demo) -> None:
    with Client(demo.url, demo.till_key) as till:
        member = till.enrol(Enrol(kind="anonymous", card_number="4000-0001"))
        issued = till.issue_card(CardIssue(number="4000-0002", member="40000001"))
        assert (issued.number, issued.state, issued.member_id) == ("40000002", "active", member.member.id)
        assert till.block_card("40000002").state == "blocked"
        with pytest.raises(Conflict) as blocked:
            till.purchase(Purchase(customer="40000002", amount=Decimal("100.00"), receipt="C-1"))
        assert blocked.value.status == 409
        assert till.unblock_card("40000002").state == "active"
        assert till.report_card_lost("40000002").state == "lost"
        replaced = till.replace_card("40000001", "4000-0003")
        assert (replaced.number, replaced.state) == ("40000001", "replaced")
        assert replaced.replaced_by is not None and replaced.replaced_by.number == "40000003"
        sale = till.purchase(Purchase(customer="40000003", amount=Decimal("1000.00"), receipt="C-2"))
        assert sale.points_balance == 30  # the member's, on the new card


def test_an_administrator_manages_cashiers_coupons_permissions_and_schedules(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        partner = admin.create_partner(Partner(name="Bakery"))
        outlet = admin.create_outlet(Outlet(partner_id=partner["id"], name="Bakery counter"))
        cashier = admin.create_cashier(
            Cashier(outlet_id=outlet["id"], login="olga", name="Olga", password="olga-pass-1")
        )
        assert (cashier.outlet_id, cashier.login, cashier.name) == (outlet["id"], "olga", "Olga")
        assert admin.set_cashier_password(cashier.id, "olga-pass-2").password_changed is True
        assert admin.set_cashier_active(cashier.id, False).active is False

        until = datetime(2030, 1, 1, tzinfo=UTC)
        made = admin.create_coupons(Coupons(campaign="spring", valid_until=until, codes=["SPRING-1", "SPRING-2"]))
        assert (made.codes, made.uses, made.valid_until, made.member_id) == (["SPRING-1", "SPRING-2"], 1, until, None)
        listed = admin.coupons(campaign="spring", limit=10)
        assert sorted((c.code, c.uses, c.max_uses) for c in listed.coupons) == [("SPRING-1", 0, 1), ("SPRING-2", 0, 1)]
        assert admin.coupons(campaign="spring", member_id=999_999_999).coupons == []  # no such member: empty

        entry = MatrixEntry(outlet="Bakery counter", counter="points", operations=["accrue"])
        matrix = admin.set_permissions(Permissions(entries=[entry]))
        assert matrix.defined and [(e.outlet, e.counter, e.operations) for e in matrix.entries] == [
            ("Bakery counter", "points", ["accrue"])
        ]
        assert admin.permissions() == matrix
        assert admin.set_permissions(Permissions(entries=[])).defined is False

        schedules = admin.schedules()
        assert {"daily_reports", "expire", "birthdays", "period_close"} <= {s.job for s in schedules.schedules}
        expire = admin.set_schedule("expire", ScheduleChange(every_minutes=30))
        assert (expire.job, expire.cadence, expire.every_minutes, expire.default) == ("expire", "interval", 30, False)
        ran = admin.run_expiry()
        assert isinstance(ran, dict)
        runs = admin.job_runs(job="expire", limit=5)
        assert runs.runs and runs.runs[0].job == "expire" and runs.runs[0].trigger == "api"
        assert runs.runs[0].started_at > datetime.now(UTC) - timedelta(minutes=5)
        recent = admin.job_runs(job="expire", since=(datetime.now(UTC) - timedelta(minutes=5)).isoformat())
        assert [run.id for run in recent.runs] == [run.id for run in runs.runs[: len(recent.runs)]] and recent.runs
        assert admin.job_runs(since="2100-01-01T00:00:00Z").runs == []


@pytest.mark.anyio
async def test_the_async_client_reads_the_same_typed_schedules(demo: Demo) -> None:
    async with AsyncClient(demo.url, demo.admin_key) as admin:
        schedules = await admin.schedules()
        assert schedules.timezone and all(s.cadence in ("daily", "interval", "monthly") for s in schedules.schedules)
        assert (await admin.job_runs(until="2000-01-01T00:00:00Z")).runs == []
        assert (await admin.campaigns(since="2100-01-01T00:00:00Z")).campaigns == []
        assert await admin.devices(outlet_id=999_999_999) == {"devices": [], "next_cursor": None}


def test_an_administrator_pages_the_members_and_a_members_statement(demo: Demo) -> None:
    with Client(demo.url, demo.till_key) as till:
        till.enrol(Enrol(kind="anonymous", card_number="4100-0001"))
        for receipt in ("M-1", "M-2", "M-3"):
            till.purchase(Purchase(customer="41000001", amount=Decimal("100.00"), receipt=receipt))
    with Client(demo.url, demo.admin_key) as admin:
        found = admin.members(q="4100-0001")
        assert [card.number for member in found.members for card in member.cards] == ["41000001"]
        assert found.next_cursor is None
        everyone = [member.id for page in admin.pages(routes.MEMBERS, "members", limit=2) for member in page]
        assert len(everyone) == len(set(everyone)) and found.members[0].id == everyone[0]  # newest first
        first = admin.member_statement("41000001", limit=2)
        rest = admin.member_statement("41000001", limit=2, cursor=first["next_cursor"])
        assert [line["tx_id"] for line in rest["transactions"] + first["transactions"]] == [
            line["tx_id"] for line in admin.member_statement("41000001")["transactions"]
        ]
        assert rest["next_cursor"] is None
