"""The named methods of every area the client gained when it came to cover each /v1 operation (gift cards issued
by the network, breakage, limits, fees, a wallet's history, the program's reports; the audit trail, campaigns,
messages; keys, console users, devices, the rule sets' tools) against a real server on both engines, with typed
answers and exact figures. A test per area: each starts a server."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from coalition_client import AsyncClient, Client, Conflict, Unauthorized, routes
from coalition_client.admin_models import Outlet, Partner, Terminal
from coalition_client.message_models import (
    Campaign,
    CampaignPreview,
    ConsoleUser,
    KeyRotation,
    MessageSettings,
    PartnerEmail,
    Segment,
    Template,
)
from coalition_client.models import Enrol, Purchase, TopUp
from coalition_client.money_models import (
    Fees,
    GiftCardBreakage,
    GiftCardIssue,
    GiftType,
    Limits,
    PointsBreakage,
)

from .conftest import Demo


def _kiosk(admin: Client, name: str) -> tuple[int, int, str]:
    """A new partner with one outlet and till: (partner id, terminal id, the till's key)."""
    partner = admin.create_partner(Partner(name=name))
    outlet = admin.create_outlet(Outlet(partner_id=partner["id"], name=f"{name} stand"))
    terminal = admin.create_terminal(Terminal(outlet_id=outlet["id"], name=f"{name} till"))
    return partner["id"], terminal["id"], terminal["key"]


def test_gift_cards_breakage_limits_fees_a_wallets_history_and_the_reports(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        issued = admin.issue_gift_card(GiftCardIssue(amount=Decimal("500.00"), number="GC-100-1", valid_days=30))
        assert (issued.number, issued.initial_amount, issued.balance, issued.status) == (
            "GC1001",
            Decimal("500.00"),
            Decimal("500.00"),
            "active",
        )
        assert issued.sold_at_outlet_id is None and issued.valid_until - issued.valid_from == timedelta(days=30)
        assert admin.block_gift_card("GC1001").status == "blocked"
        assert admin.admin_gift_card("GC1001").status == "blocked"
        assert admin.unblock_gift_card("GC1001").status == "active"

        assert admin.gift_card_breakage().policy == "kept"
        shared = admin.set_gift_card_breakage(GiftCardBreakage(policy="shared", share_bp=2500))
        assert (shared.policy, shared.share_bp) == ("shared", 2500)
        expiry = admin.run_gift_card_expiry()
        assert (expiry.policy, expiry.share_bp, expiry.cards, expiry.kept_minor) == ("shared", 2500, 0, 0)

        assert admin.set_limits(Limits(max_amount=Decimal("50000.00"), max_lines_per_purchase=50)) == admin.limits()
        assert admin.limits() | {"max_quantity": None, "max_points_per_purchase": None} == {
            "max_amount": "50000.00",
            "max_lines_per_purchase": 50,
            "max_quantity": None,
            "max_points_per_purchase": None,
        }
        assert admin.set_fees(Fees(per_transaction=Decimal("0.50"), percent_of_granted=Decimal("1.5"))) == {
            "per_transaction": "0.50",
            "percent_of_granted": "1.5",
            "currency": "RUB",
        }
        assert admin.fees()["per_transaction"] == "0.50"
        assert admin.set_gift_breakage("released") == admin.gift_breakage() == {"gifts": "released"}
        assert admin.set_points_breakage(PointsBreakage(policy="shared", share_bp=5000)) == {
            "policy": "shared",
            "share_bp": 5000,
        }
        assert admin.points_breakage()["share_bp"] == 5000
        admin.create_gift_type(
            GiftType(code="free-photo", name="Free photo", price=Decimal("150.00"), partners=["Aqua Park"])
        )
        assert [t["code"] for t in admin.gift_types()["gift_types"]] == ["free-photo"]

        partner_id, _, till_key = _kiosk(admin, "Kiosk")
    with Client(demo.url, till_key) as till:
        till.enrol(Enrol(kind="anonymous", card_number="4300-0001"))
        till.enrol(Enrol(kind="anonymous", card_number="4300-0002"))
        till.top_up(TopUp(customer="43000001", amount=Decimal("250.00")))
        till.top_up(TopUp(customer="43000001", amount=Decimal("100.00")))
        for customer, amount, receipt in (
            ("43000001", "1000.00", "K-1"),
            ("43000001", "500.00", "K-2"),
            ("43000002", "300.00", "K-3"),
        ):
            till.purchase(Purchase(customer=customer, amount=Decimal(amount), receipt=receipt))
        history = till.wallet_history("43000001")
        assert [(line.kind, line.amount, line.balance_after) for line in history.lines] == [
            ("top_up", Decimal("250.00"), Decimal("250.00")),
            ("top_up", Decimal("100.00"), Decimal("350.00")),
        ]  # oldest first
        assert history.currency == "RUB" and history.next_cursor is None
        assert history.lines[1].outlet == "Kiosk stand" and history.lines[1].occurred_at.tzinfo is not None
        paged = till.pages(routes.WALLET_HISTORY, "lines", path={"identifier": "43000001"}, limit=1)
        assert [line.amount for page in paged for line in page] == [Decimal("100.00"), Decimal("250.00")]

    days = (date.today() - timedelta(days=2), date.today() + timedelta(days=2))  # today in any time zone
    with Client(demo.url, demo.admin_key) as admin:
        attendance = admin.attendance_report(*days, partner=partner_id)
        assert attendance.checks == 3 and sum(h.revenue_minor for h in attendance.by_hour) == 180000
        assert sum(w.checks for w in attendance.by_weekday) == 3 and len(attendance.by_weekday) == 7
        customers = admin.customers_report(*days, partner=partner_id)
        assert (customers.customers, customers.new_customers, customers.returning_customers) == (2, 2, 0)
        assert (customers.new_checks, customers.new_revenue_minor) == (3, 180000)
        effect = admin.effectiveness_report(*days, partner=partner_id)
        # anonymous cards' checks count as anonymous; points at the network's 3 %: 30 + 15 + 9
        assert (effect.member_checks, effect.anonymous_checks, effect.anonymous_revenue_minor) == (0, 3, 180000)
        assert (effect.anonymous_average_check_minor, effect.points_issued, effect.points_issued_minor) == (
            60000,
            54,
            5400,
        )
        assert (effect.program_cost_minor, effect.revenue_minor, effect.cost_per_revenue_bp) == (5400, 180000, 300)
        moved = admin.threshold_report(100000, days[0], *days, base_last_day=days[1], partner=partner_id)
        assert (moved.base_checks, moved.current_checks, moved.current_average_check_minor) == (3, 3, 60000)
        assert (moved.old_threshold_minor, moved.new_threshold_minor, moved.change_bp) == (100000, 100000, 0)
        member = admin.members(q="4300-0002").members[0].id
        closed = admin.close_wallet(member)
        assert (closed.member, closed.balance, closed.status) == (member, Decimal("0.00"), "closed")


def test_the_audit_trail_campaigns_and_messages(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        admin.set_limits(Limits(max_lines_per_purchase=40))
        page = admin.audit(action="limits.", limit=5)
        assert [(e.action, e.object_type, e.actor.kind) for e in page.entries] == [
            ("limits.set", "network", "admin_key")
        ]
        assert page.entries[0].after is not None and page.entries[0].after["max_lines_per_purchase"] == 40
        saved = io.BytesIO()
        download = admin.export_audit(saved, action="limits.")
        lines = saved.getvalue().decode().splitlines()
        assert download.media_type.startswith("text/csv") and download.bytes_written == len(saved.getvalue())
        assert lines[0].startswith("id,recorded_at,actor_kind") and len(lines) == 2 and ",limits.set," in lines[1]

        on = admin.set_message_settings(MessageSettings(enabled={"campaign": ["email"]}))
        assert on.enabled["campaign"] == ["email"] and on.enabled["thank_you"] == []
        reached = admin.campaign_audience(Segment()).audience
        assert reached == admin.campaign_audience(Segment(spend_from="0.00")).audience >= 1
        made = admin.create_campaign(
            Campaign(name="Spring", channels=["email"], subject="Spring", body="Hello, {{ member_name }}")
        )
        assert (made.name, made.status, made.channels, made.audience, made.queued) == (
            "Spring",
            "draft",
            ["email"],
            0,
            0,
        )
        preview = admin.preview_campaign(made.id, CampaignPreview(channel="email"))
        assert (preview.channel, preview.subject) == ("email", "Spring") and preview.body.startswith("Hello, ")
        when = datetime(2030, 1, 1, 9, tzinfo=UTC)
        scheduled = admin.schedule_campaign(made.id, when)
        assert (scheduled.status, scheduled.scheduled_at) == ("scheduled", when)
        assert admin.cancel_campaign(made.id).status == "cancelled"
        assert admin.campaign(made.id).status == "cancelled"
        assert [c.id for c in admin.campaigns(limit=5).campaigns] == [made.id]

        settings = admin.set_message_settings(MessageSettings(quiet_start="22:00", quiet_end="08:00", cap_per_day=2))
        assert (settings.quiet_start, settings.quiet_end, settings.cap_per_day) == ("22:00", "08:00", 2)
        cleared = admin.set_message_settings(
            MessageSettings(version=settings.version), clear=("quiet_start", "quiet_end")
        )
        assert (cleared.quiet_start, cleared.quiet_end, cleared.cap_per_day) == (None, None, 2)
        assert admin.message_settings() == cleared
        with pytest.raises(Conflict):  # the version read is stale now
            admin.set_message_settings(MessageSettings(cap_per_day=3, version=settings.version))

        kind = ("thank_you", "email", "en")
        admin.set_message_template(*kind, Template(subject="Thanks", body="Thank you, {{ member_name }}!"))
        assert admin.message_template(*kind)["customised"] is True
        assert admin.preview_message_template(*kind)["subject"] == "Thanks"
        assert admin.reset_message_template(*kind)["customised"] is False
        assert any(t["kind"] == "thank_you" for t in admin.message_templates(limit=100)["templates"])


@pytest.mark.anyio
async def test_keys_console_users_devices_and_the_rule_sets_tools_through_the_async_client(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as sync_admin:
        partner_id, terminal_id, old_key = _kiosk(sync_admin, "Kiosk")
    async with AsyncClient(demo.url, demo.admin_key) as admin:
        rotated = await admin.rotate_terminal_key(terminal_id, KeyRotation(grace_seconds=600))
        assert rotated["id"] == terminal_id and rotated["key"] != old_key and rotated["previous_key_valid_until"]
        async with AsyncClient(demo.url, rotated["key"]) as till:
            await till.enrol(Enrol(kind="anonymous", card_number="4400-0001"))
        expiry = await admin.set_terminal_key_expiry(terminal_id, datetime(2031, 1, 1, tzinfo=UTC))
        assert expiry == {"id": terminal_id, "expires_at": "2031-01-01T00:00:00Z"}
        assert (await admin.set_terminal_key_expiry(terminal_id, None))["expires_at"] is None
        assert await admin.end_previous_terminal_keys(terminal_id) == {"id": terminal_id, "previous_keys_ended": 1}
        async with AsyncClient(demo.url, old_key) as till:
            with pytest.raises(Unauthorized):
                await till.member("44000001")

        email = await admin.set_partner_email(partner_id, PartnerEmail(email="kiosk@example.com", language="en"))
        assert email == {"id": partner_id, "email": "kiosk@example.com", "language": "en"}
        user = await admin.create_console_user(
            ConsoleUser(role="administrator", login="ivan", name="Ivan", password="ivan-pass-123")
        )
        assert (user["login"], user["role"]) == ("ivan", "administrator")

        device = await admin.device(demo.arcade_id)
        assert (device["kind"], device["price_list"]["per_use"], device["active"]) == ("arcade", "50.00", True)
        await admin.revoke_device(demo.arcade_id)
        assert (await admin.device(demo.arcade_id))["active"] is False

        assert {"fields", "functions"} <= set(await admin.rule_set_context())
        assert (await admin.rule_set_schema())["type"] == "object"
        draft = await admin.put_draft_program({"tier1_accrual": "5"})
        assert [rule["code"] for rule in draft["rules"]] == ["bonus-tier-1"] and draft["errors"] == 0
        explained = await admin.explain_rule_set({"amount": "1000.00"})
        assert (explained["applied"], explained["points_to_earn"], explained["amount_due"]) == (
            ["bonus-tier-1"],
            50,
            "1000.00",
        )
        expires = await admin.set_admin_key_expiry("demo", datetime(2031, 1, 1, tzinfo=UTC))
        assert expires == {"network": "demo", "expires_at": "2031-01-01T00:00:00Z"}
        assert (await admin.set_admin_key_expiry("demo", None))["expires_at"] is None
        start = datetime.now(UTC) - timedelta(days=1)
        simulated = await admin.simulate_rule_set(start, start + timedelta(days=2))
        assert simulated["rule_set_version"] == draft["version"] and simulated["draft"]["purchases"] >= 0
        admin_key = await admin.rotate_admin_key("demo", KeyRotation(grace_seconds=600))
        assert admin_key["network"] == "demo" and admin_key["admin_key"] != demo.admin_key
        async with AsyncClient(demo.url, admin_key["admin_key"]) as rotated_admin:
            assert (await rotated_admin.network())["network"]["code"] == "demo"
