"""Every administrative route of the API and every action of the console, performed once over the demo network: each
must leave its audit entry, under the right actor. A route or action this table does not know fails the test, so a
new one cannot ship unaudited: add a line to API or CONSOLE (the action it records, and a request that does it), or
to the reads with the reason it changes nothing.

GET routes are reads and are not tried here (they must not write; tests/web/test_access_matrix.py checks the pages).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from coalition.adapters.http.app import create_app
from coalition.adapters.http.dependencies import network_admin
from coalition.adapters.web.setup import PAGE_MODULES
from coalition.demo import DEMO_ADMIN_KEY, DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, load_demo
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.mail_support import Inbox, smtp
from tests.support import auth
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find

Ids = dict[str, str]


@dataclass(frozen=True)
class Does:
    """The action code the request must record, and the request's body (JSON for the API, a form for the console)."""

    action: str
    body: Callable[[Ids], Any] = lambda ids: {}
    path_ids: Callable[[Ids], Ids] = lambda ids: {}  # path parameters of this request beside (over) the shared ids
    files: Callable[[Ids], Any] | None = None  # a multipart upload: the files, `body` then being its form fields
    query: Callable[[Ids], Ids] = lambda ids: {}  # query parameters (an import's partner_id)


@dataclass(frozen=True)
class Reads:
    """A POST that changes nothing stored, so it records nothing (tried with `body` when there is one)."""

    reason: str
    body: Callable[[Ids], Any] | None = None


def _ahead(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def _ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def _sales_file(ids: Ids, receipt: str, rest: str) -> bytes:
    return f"receipt,occurred_at,terminal,customer,amount\n{receipt},{_ago(60)},{ids['till_id']},{rest}\n".encode()


def _refunds_file(ids: Ids, receipt: str, rest: str) -> bytes:
    header = "receipt,occurred_at,terminal,original_receipt,amount"
    return f"{header}\n{receipt},{_ago(30)},{ids['till_id']},{rest}\n".encode()


RULES = {"rules": [{"code": "welcome", "effects": [{"discount": {"percent": "5"}}]}]}
RULES_YAML = "rules:\n  - code: console-rule\n    effects: [{discount: {percent: '3'}}]\n"

# in order: a statement is closed before it is sent, a draft saved before it is published
API: dict[tuple[str, str], Does | Reads] = {
    ("POST", "/v1/admin/networks"): Does(
        "network.create",
        lambda ids: {
            "code": "audited",
            "name": "Audited",
            "currency": "RUB",
            "program": {"tiers": [{"accrual_bp": 300, "redeem_cap_bp": 1500}]},
        },
    ),
    ("POST", "/v1/admin/partners"): Does("partner.create", lambda ids: {"name": "Audit Bakery"}),
    ("POST", "/v1/admin/outlets"): Does(
        "outlet.create", lambda ids: {"partner_id": int(ids["partner_id"]), "name": "Audit till"}
    ),
    ("POST", "/v1/admin/terminals"): Does(
        "terminal.create", lambda ids: {"outlet_id": int(ids["outlet_id"]), "name": "Audit POS"}
    ),
    ("PUT", "/v1/admin/terminals/{terminal_id}/key/expiry"): Does(
        "terminal.expiry", lambda ids: {"expires_at": _ahead(days=300)}
    ),
    ("POST", "/v1/admin/terminals/{terminal_id}/key/rotate"): Does(
        "terminal.rotate", lambda ids: {"grace_seconds": 60}
    ),
    ("DELETE", "/v1/admin/terminals/{terminal_id}/key/previous"): Does("terminal.end_previous"),
    ("DELETE", "/v1/admin/terminals/{terminal_id}"): Does("terminal.revoke"),
    ("POST", "/v1/admin/cashiers"): Does(
        "cashier.create",
        lambda ids: {"outlet_id": int(ids["outlet_id"]), "login": "audit-c", "name": "C", "password": "secret-9"},
    ),
    ("PUT", "/v1/admin/cashiers/{cashier_id}/password"): Does(
        "cashier.password_reset", lambda ids: {"password": "secret-10"}
    ),
    ("PUT", "/v1/admin/cashiers/{cashier_id}/active"): Does("cashier.block", lambda ids: {"active": False}),
    ("PATCH", "/v1/admin/members/{identifier}"): Does("member.labels", lambda ids: {"tier": "gold"}),
    ("POST", "/v1/admin/imports/members"): Does(
        "members.import", files=lambda ids: {"file": ("members.csv", b"card_number,points_balance\nAUDIT-1,5\n")}
    ),
    ("POST", "/v1/admin/imports/purchases"): Does(
        "purchases.import",
        files=lambda ids: {"file": ("purchases.csv", _sales_file(ids, "AUDIT-P1", "10000001,100.00"))},
    ),
    ("POST", "/v1/admin/imports/refunds"): Does(
        "refunds.import",
        files=lambda ids: {"file": ("refunds.csv", _refunds_file(ids, "AUDIT-R1", "AUDIT-P1,100.00"))},
    ),
    ("POST", "/v1/admin/imports/products"): Does(
        "products.import",
        files=lambda ids: {"file": ("products.csv", b"sku,name,category,price\nAUDIT-SKU,Audit,coffee,1.00\n")},
        query=lambda ids: {"partner_id": ids["partner_id"]},
    ),
    ("POST", "/v1/admin/imports/categories"): Does(
        "categories.import",
        files=lambda ids: {"file": ("categories.csv", b"code,name,parent\nAUDIT-CAT,Audit,\n")},
        query=lambda ids: {"partner_id": ids["partner_id"]},
    ),
    ("POST", "/v1/admin/coupons"): Does(
        "coupons.create", lambda ids: {"campaign": "audit", "codes": ["AUDIT-1"], "valid_until": "2100-01-01T00:00Z"}
    ),
    ("POST", "/v1/admin/gift-types"): Does(
        "gift_type.create",
        lambda ids: {"code": "audit-gift", "name": "Gift", "price": "10.00", "partners": [ids["partner_name"]]},
    ),
    ("PUT", "/v1/admin/permissions"): Does("permissions.replace", lambda ids: {"entries": []}),
    ("PUT", "/v1/admin/partners/{partner_id}/email"): Does(
        "partner.email", lambda ids: {"email": "partner@audit.example"}
    ),
    ("POST", "/v1/admin/jobs/birthdays"): Does("job.birthdays"),
    ("POST", "/v1/admin/jobs/daily-reports"): Does("job.daily_reports"),
    ("POST", "/v1/admin/jobs/period-close"): Does("job.period_close", lambda ids: {"month": "2020-01"}),
    ("PUT", "/v1/admin/gift-breakage"): Does("gifts.breakage", lambda ids: {"gifts": "released"}),
    ("PUT", "/v1/admin/points-breakage"): Does("points.breakage", lambda ids: {"policy": "returned"}),
    ("POST", "/v1/admin/jobs/expire"): Does("job.expire"),
    ("PUT", "/v1/admin/schedules/{job}"): Does(
        "schedule.set", lambda ids: {"time": "23:30"}, lambda ids: {"job": "daily_reports"}
    ),
    ("PUT", "/v1/admin/message-templates/{kind}/{channel}/{language}"): Does(
        "message_template.set",
        lambda ids: {"body": "Hi {{ member_name }}"},
        lambda ids: {"kind": "thank_you", "channel": "sms", "language": "en"},
    ),
    ("PUT", "/v1/admin/message-settings"): Does(
        "message_settings.set",
        # campaign e-mail stays on: the campaigns' schedule routes below need it
        lambda ids: {"enabled": {"thank_you": ["email"], "campaign": ["email"]}, "balance_threshold": 500},
    ),
    ("DELETE", "/v1/admin/message-templates/{kind}/{channel}/{language}"): Does(
        "message_template.reset", path_ids=lambda ids: {"kind": "thank_you", "channel": "sms", "language": "en"}
    ),
    ("POST", "/v1/admin/message-templates/{kind}/{channel}/{language}/preview"): Reads(
        "a preview renders a text, stores nothing"
    ),
    ("POST", "/v1/admin/campaigns"): Does(
        "campaign.create",
        lambda ids: {"name": "Audit", "channels": ["email"], "subject": "Hi", "body": "Hi {{ member_name }}"},
    ),
    ("POST", "/v1/admin/campaigns/audience"): Reads("counts the members of a segment", lambda ids: {}),
    ("POST", "/v1/admin/campaigns/{campaign_id}/preview"): Reads("a preview renders a text, stores nothing"),
    ("POST", "/v1/admin/campaigns/{campaign_id}/schedule"): Does(
        "campaign.schedule", lambda ids: {"scheduled_at": _ahead(1)}
    ),
    ("POST", "/v1/admin/campaigns/{campaign_id}/cancel"): Does("campaign.cancel"),
    ("POST", "/v1/admin/gift-cards"): Does(
        "gift_card.issue", lambda ids: {"amount": "50.00", "number": ids["card_number"], "pin": "2468"}
    ),
    ("POST", "/v1/admin/gift-cards/{card_number}/block"): Does("gift_card.block"),
    ("POST", "/v1/admin/gift-cards/{card_number}/unblock"): Does("gift_card.unblock"),
    ("PUT", "/v1/admin/gift-card-breakage"): Does("gift_cards.breakage", lambda ids: {"policy": "returned"}),
    ("POST", "/v1/admin/jobs/expire-gift-cards"): Does("job.expire_gift_cards"),
    ("POST", "/v1/admin/devices"): Does(
        "device.create",
        lambda ids: {
            "partner_id": int(ids["partner_id"]),
            "name": "Audit arcade",
            "kind": "arcade",
            "price_list": {"per_use": "2.50"},
        },
    ),
    ("PATCH", "/v1/admin/devices/{device_id}"): Does("device.update", lambda ids: {"price_list": {"per_use": "3.00"}}),
    ("POST", "/v1/admin/devices/{device_id}/revoke"): Does("device.revoke"),
    ("POST", "/v1/admin/webhooks"): Does(
        "webhook.create", lambda ids: {"url": "https://hooks.example/coalition", "event_kinds": ["purchase.recorded"]}
    ),
    ("POST", "/v1/admin/webhooks/{subscription_id}/pause"): Does("webhook.pause"),
    ("POST", "/v1/admin/webhooks/{subscription_id}/resume"): Does("webhook.resume"),
    ("POST", "/v1/admin/webhooks/{subscription_id}/rotate-secret"): Does("webhook.rotate_secret"),
    ("POST", "/v1/admin/webhooks/{subscription_id}/deliveries/{message_id}/resend"): Does("webhook.resend"),
    ("DELETE", "/v1/admin/webhooks/{subscription_id}"): Does("webhook.delete"),
    ("POST", "/v1/admin/console-users"): Does(
        "console_user.create",
        lambda ids: {"role": "administrator", "login": "audit-admin", "name": "A", "password": "secret-11"},
    ),
    ("PUT", "/v1/admin/rule-sets/draft"): Does("rules.save_draft", lambda ids: RULES),
    ("PUT", "/v1/admin/rule-sets/draft/program"): Does("rules.save_draft", lambda ids: {"tier1_accrual": "3"}),
    ("POST", "/v1/admin/rule-sets/draft/publish"): Does("rules.publish"),
    ("POST", "/v1/admin/rule-sets/explain"): Reads(
        "a hypothetical purchase through the rules; nothing is written",
        lambda ids: {"amount": "100.00", "version": 1},  # the draft was published just before
    ),
    ("POST", "/v1/admin/rule-sets/simulate"): Reads(
        "stored purchases priced again; nothing is written",
        lambda ids: {"from": _ago(86400), "to": _ago(0), "version": 1},
    ),
    ("PUT", "/v1/admin/limits"): Does("limits.set", lambda ids: {"max_lines_per_purchase": 400}),
    ("PUT", "/v1/admin/network/country"): Does("network.country", lambda ids: {"country": "RU"}),
    ("PUT", "/v1/admin/members/{member_id}/wallet"): Does("wallet.limits", lambda ids: {"credit_limit": "10.00"}),
    ("POST", "/v1/admin/members/{member_id}/wallet/close"): Does("wallet.close"),
    ("PUT", "/v1/admin/settlement/fees"): Does("settlement.fees", lambda ids: {"per_transaction": "0.50"}),
    ("POST", "/v1/admin/settlement/periods"): Does("settlement.close", lambda ids: {"end": _ago(6)}),
    ("POST", "/v1/admin/settlement/statements/{number}/send"): Does("settlement.send"),
    # the operator's (operator token): the demo's plan set, then the demo suspended and resumed at once
    ("PUT", "/v1/admin/networks/{network_id}/plan"): Does("plan.set", lambda ids: {"plan": "custom"}),
    ("POST", "/v1/admin/networks/{network_id}/suspend"): Does("network.suspend"),
    ("POST", "/v1/admin/networks/{network_id}/resume"): Does("network.resume"),
    # last: once rotated, the demo's admin key is in its grace period and may no longer change the admin key
    ("PUT", "/v1/admin/networks/{network}/admin-key/expiry"): Does(
        "admin_key.expiry", lambda ids: {"expires_at": _ahead(days=300)}
    ),
    ("POST", "/v1/admin/networks/{network}/admin-key/rotate"): Does(
        "admin_key.rotate", lambda ids: {"grace_seconds": 3600}
    ),
}

CONSOLE: dict[tuple[str, str], Does | Reads] = {
    ("POST", "/console/login"): Reads("signing in opens a session (see the sign-in limits), not an admin change"),
    ("POST", "/console/logout"): Reads("signing out ends a session"),
    ("POST", "/console/register"): Does(
        "network.register",
        lambda ids: {
            "shop_name": "Pine Bakery",
            "network_code": "pine-bakery",
            "currency": "EUR",
            "timezone": "Europe/Riga",
            "owner_name": "Liga",
            "owner_login": "liga",
            "owner_password": "liga-secret-1",
            "cashier_login": "toms",
            "cashier_password": "toms-secret-1",
        },
    ),
    ("POST", "/console/partners"): Does("partner.create", lambda ids: {"name": "Console Bakery"}),
    ("POST", "/console/partners/{partner_id}/email"): Does("partner.email", lambda ids: {"email": "p@console.example"}),
    ("POST", "/console/partners/{partner_id}/owners"): Does(
        "console_user.create", lambda ids: {"login": "console-owner", "name": "O", "password": "secret-12"}
    ),
    ("POST", "/console/administrators"): Does(
        "console_user.create", lambda ids: {"login": "console-admin", "name": "A", "password": "secret-13"}
    ),
    ("POST", "/console/users/{user_id}/block"): Does("console_user.block"),
    ("POST", "/console/users/{user_id}/unblock"): Does("console_user.unblock"),
    ("POST", "/console/users/{user_id}/password"): Does(
        "console_user.password_reset", lambda ids: {"password": "secret-14"}
    ),
    ("POST", "/console/outlets"): Does(
        "outlet.create", lambda ids: {"partner": ids["partner_id"], "name": "Console till", "timezone": "UTC"}
    ),
    ("POST", "/console/cashiers"): Does(
        "cashier.create",
        lambda ids: {"outlet": ids["outlet_id"], "login": "console-c", "name": "C", "password": "secret-15"},
    ),
    ("POST", "/console/cashiers/{cashier_id}/password"): Does(
        "cashier.password_reset", lambda ids: {"password": "secret-16"}
    ),
    ("POST", "/console/cashiers/{cashier_id}/active"): Does("cashier.unblock", lambda ids: {"active": "1"}),
    ("POST", "/console/terminals"): Does(
        "terminal.create", lambda ids: {"outlet": ids["outlet_id"], "name": "Console kiosk"}
    ),
    ("POST", "/console/terminals/{terminal_id}/rotate"): Does("terminal.rotate", lambda ids: {"grace_seconds": "60"}),
    ("POST", "/console/terminals/{terminal_id}/end-previous"): Does("terminal.end_previous"),
    ("POST", "/console/terminals/{terminal_id}/revoke"): Does("terminal.revoke"),
    ("POST", "/console/terminals/limits"): Does(
        "limits.set",
        lambda ids: {
            "max_amount": "100000000.00",
            "max_quantity": "100000",
            "max_lines_per_purchase": "300",
            "max_points_per_purchase": "1000000000",
        },
    ),
    ("POST", "/console/gifts"): Does(
        "gift_type.create",
        lambda ids: {
            "code": "console-gift",
            "name": "G",
            "price": "5.00",
            "valid_days": "30",
            "partners": ids["partner_name"],
        },
    ),
    ("POST", "/console/gifts/breakage"): Does("gifts.breakage", lambda ids: {"gifts": "kept"}),
    ("POST", "/console/permissions"): Does("permissions.replace", lambda ids: {}),
    ("POST", "/console/members/{member_id}/cards"): Does(
        "card.block", lambda ids: {"number": ids["card"], "action": "block"}
    ),
    ("POST", "/console/members/{member_id}/wallet"): Does(
        "wallet.limits", lambda ids: {"credit_limit": "10.00", "daily_spend_limit": "50.00"}
    ),
    ("POST", "/console/members/{member_id}/wallet/close"): Does("wallet.close"),
    ("POST", "/console/gift-cards"): Does("gift_card.issue", lambda ids: {"amount": "25.00", "number": "CONSOLEGIFT1"}),
    ("POST", "/console/gift-cards/{number}/{action}"): Does(
        "gift_card.block", path_ids=lambda ids: {"number": "CONSOLEGIFT1", "action": "block"}
    ),
    ("POST", "/console/join"): Does("network.self_signup", lambda ids: {"enabled": "on"}),
    ("POST", "/console/schedules/{job}"): Does(
        "schedule.set", lambda ids: {"enabled": "on", "time": "07:00"}, lambda ids: {"job": "birthdays"}
    ),
    ("POST", "/console/messages/settings"): Does(
        "message_settings.set",
        lambda ids: {
            "on_welcome_sms": "1",
            "on_campaign_email": "1",  # the campaigns' schedule form below needs it
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "cap_per_day": "2",
            "balance_threshold": "",
            "expiring_days_before": "7",
        },
    ),
    ("POST", "/console/messages/templates/{kind}/{channel}/{language}"): Does(
        "message_template.set",
        lambda ids: {"subject": "", "body": "Hi {{ member_name }}", "action": "save"},
        lambda ids: {"kind": "welcome", "channel": "sms", "language": "ru"},
    ),
    ("POST", "/console/messages/campaigns"): Does(
        "campaign.create",
        lambda ids: {"name": "Console", "channels": "email", "subject": "Hi", "body": "Hi", "action": "create"},
    ),
    ("POST", "/console/messages/campaigns/{campaign_id}/preview"): Reads("a preview renders a text, stores nothing"),
    ("POST", "/console/messages/campaigns/{campaign_id}/schedule"): Does(
        "campaign.schedule", lambda ids: {"scheduled_at": "2099-01-01T10:00"}
    ),
    ("POST", "/console/messages/campaigns/{campaign_id}/cancel"): Does("campaign.cancel"),
    ("POST", "/console/gift-card-breakage"): Does("gift_cards.breakage", lambda ids: {"policy": "kept"}),
    ("POST", "/console/devices"): Does(
        "device.create",
        lambda ids: {"partner": ids["partner_id"], "name": "Console arcade", "kind": "arcade", "per_use": "2.00"},
    ),
    ("POST", "/console/devices/{device_id}"): Does(
        "device.update",
        lambda ids: {
            "kind": "arcade",
            "per_use": "2.50",
            "hold_ttl_seconds": "300",
            "offline_limit": "0",
            "silent_after_seconds": "900",
            "always_open": "1",
        },
    ),
    ("POST", "/console/devices/{device_id}/revoke"): Does("device.revoke"),
    ("POST", "/console/webhooks"): Does(
        "webhook.create",
        lambda ids: {"url": "https://hooks.example/console", "event_kinds": "member.enrolled"},
    ),
    ("POST", "/console/webhooks/{subscription_id}/pause"): Does("webhook.pause"),
    ("POST", "/console/webhooks/{subscription_id}/resume"): Does("webhook.resume"),
    ("POST", "/console/webhooks/{subscription_id}/rotate-secret"): Does("webhook.rotate_secret"),
    ("POST", "/console/webhooks/{subscription_id}/deliveries/{message_id}/resend"): Does("webhook.resend"),
    ("POST", "/console/webhooks/{subscription_id}/delete"): Does("webhook.delete", lambda ids: {"confirm": "yes"}),
    ("POST", "/console/rules/draft"): Does("rules.save_draft", lambda ids: {"draft": RULES_YAML}),
    ("POST", "/console/rules/simulate"): Reads(
        "stored purchases priced again; nothing is written",
        lambda ids: {"from": _ago(86400)[:10], "to": _ago(0)[:10]},
    ),
    ("POST", "/console/terminals/country"): Does("network.country", lambda ids: {"country": "RU"}),
    ("POST", "/console/rules/explain"): Reads(
        "a hypothetical purchase through the rules; nothing is written", lambda ids: {"amount": "100.00"}
    ),
    ("POST", "/console/rules/editor"): Does("rules.save_draft", lambda ids: {"tier1_accrual": "3", "min_check": "0"}),
    ("POST", "/console/rules/editor/explain"): Reads(
        "a sample purchase through the draft; nothing is written", lambda ids: {"amount": "100.00"}
    ),
    ("POST", "/console/rules/editor/card-minimum"): Does(
        "network.card_minimum", lambda ids: {"card_min_first_purchase": "400.00"}
    ),
    ("POST", "/console/rules/editor/simulate"): Reads("last month's purchases priced again; nothing is written"),
    ("POST", "/console/rules/publish"): Does("rules.publish"),
    ("POST", "/console/imports/members"): Does(
        "members.import", files=lambda ids: {"file": ("members.csv", b"card_number,points_balance\nAUDIT-2,7\n")}
    ),
    ("POST", "/console/imports/sales"): Does(
        "purchases.import",
        # partial: card 10000001 is blocked by now, and the row refused when recorded would refuse the file
        lambda ids: {"kind": "purchases", "partial": "yes"},
        files=lambda ids: {"file": ("purchases.csv", _sales_file(ids, "AUDIT-P2", "10000001,50.00"))},
    ),
    ("POST", "/console/catalogue/import"): Does(
        "products.import",
        lambda ids: {"kind": "products", "partner_id": ids["partner_id"]},
        files=lambda ids: {"file": ("products.csv", b"sku,name,price\nAUDIT-SKU-2,Audit,2.00\n")},
    ),
    ("POST", "/console/reports/send"): Does("job.daily_reports", lambda ids: {"partner": ids["partner_id"]}),
    ("POST", "/console/reports/address"): Does(
        "partner.email", lambda ids: {"partner": ids["partner_id"], "email": "r@console.example"}
    ),
    ("POST", "/console/settlement/fees"): Does(
        "settlement.fees", lambda ids: {"per_transaction": "0.25", "percent_of_granted": "1"}
    ),
    ("POST", "/console/settlement/points-breakage"): Does("points.breakage", lambda ids: {"policy": "kept"}),
    ("POST", "/console/settlement/gift-breakage"): Does("gifts.breakage", lambda ids: {"gifts": "released"}),
    ("POST", "/console/settlement/close"): Does("settlement.close", lambda ids: {"end": _ago(6)[:19]}),
    ("POST", "/console/settlement/statements/{number}/send"): Does("settlement.send"),
}


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route of the app, through the routers it includes."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_api_routes(inner.routes))
    return found


def _needs_admin_key(dependant: Any) -> bool:
    return dependant.call is network_admin or any(_needs_admin_key(d) for d in dependant.dependencies)


def api_operations(services: Services) -> set[tuple[str, str]]:
    """Every operation of the admin API that is not a read: under /v1/admin or taking the admin key, any method but
    GET (and HEAD)."""
    return {
        (method, route.path)
        for route in _api_routes(create_app(services=services).routes)
        if route.path.startswith("/v1/admin") or _needs_admin_key(route.dependant)
        for method in route.methods
        if method not in ("GET", "HEAD")
    }


def console_actions() -> set[tuple[str, str]]:
    routes = [route for module in PAGE_MODULES for route in module.router.routes]
    return {
        (method, route.path)
        for route in routes
        for method in route.methods
        if method != "GET" and route.path.startswith("/console")
    }


async def test_the_tables_know_every_admin_route_and_console_action(services: Services) -> None:
    assert api_operations(services) == set(API), "add the route to API (or to the reads, with why)"
    assert console_actions() == set(CONSOLE), "add the action to CONSOLE (or to the reads, with why)"


@pytest.fixture()
async def mailing(settings: Settings, smtp: tuple[Inbox, int]) -> AsyncIterator[Services]:
    _, port = smtp
    built = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port, open_registration=True))
    try:
        yield built
    finally:
        await built.close()


async def _ids(services: Services) -> Ids:
    async with services.engine.connect() as connection:

        async def first(sql: str) -> str:
            return str((await connection.execute(text(sql))).scalar_one())

        return {
            "partner_id": await first("SELECT MIN(id) FROM partners"),
            "network_id": await first("SELECT id FROM networks WHERE code = 'demo'"),
            "partner_name": await first("SELECT name FROM partners ORDER BY id LIMIT 1"),
            "outlet_id": await first("SELECT MIN(id) FROM outlets"),
            "cashier_id": await first("SELECT id FROM cashiers WHERE login = 'anna'"),
            "terminal_id": await first("SELECT id FROM terminals WHERE key_prefix <> 'web' ORDER BY id DESC LIMIT 1"),
            "till_id": await first(
                "SELECT MIN(t.id) FROM terminals t LEFT JOIN devices d ON d.terminal_id = t.id "
                "WHERE t.active AND t.key_prefix <> 'web' AND d.id IS NULL"
            ),  # files' sales
            "user_id": await first("SELECT id FROM console_users WHERE login = 'cafe-owner'"),
            "member_id": await first("SELECT member_id FROM cards WHERE number = '10000001'"),
            "card": "10000001",
            "network": "demo",
            "identifier": "10000002",
            "number": await first("SELECT COALESCE(MAX(number), 1) FROM settlement_statements"),
            "card_number": "AUDITGIFT01",  # the gift card POST /v1/admin/gift-cards issues
            "device_id": await first("SELECT COALESCE(MAX(id), 0) FROM devices"),  # POST /v1/admin/devices made it
            "subscription_id": await first("SELECT COALESCE(MAX(id), 0) FROM webhook_subscriptions"),
            "message_id": await first("SELECT COALESCE(MAX(id), 0) FROM outbox_messages"),
            "campaign_id": await first("SELECT COALESCE(MAX(id), 0) FROM campaigns"),
        }


async def _failed_message(services: Services) -> None:
    """A webhook message of the newest subscription that failed, as one the resend route sends again."""
    async with services.engine.begin() as connection:
        target = (await connection.execute(text("SELECT MAX(id) FROM webhook_subscriptions"))).scalar_one()
        await connection.execute(
            text(
                "INSERT INTO outbox_messages (network_id, channel, event_kind, event_id, target, payload, status, "
                "attempts, next_attempt_at, created_at) SELECT network_id, 'webhook', 'purchase.recorded', "
                ":event, :target, '{}', 'failed', 1, :now, :now FROM webhook_subscriptions WHERE id = :id"
            ),
            {"event": f"purchase:{uuid.uuid4()}", "target": str(target), "id": target, "now": datetime.now(UTC)},
        )


async def _campaign_email_on(services: Services) -> None:
    async with services.engine.connect() as connection:
        network_id = (await connection.execute(text("SELECT id FROM networks WHERE code = 'demo'"))).scalar_one()
    await services.customer_messages.set(network_id, {"enabled": {"campaign": ["email"]}})


async def _audit_count(services: Services) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one())


async def _newest(services: Services, since_count: int) -> list[tuple[str, str, str | None]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT action, actor_kind, actor_role FROM audit_entries ORDER BY id LIMIT 1000 OFFSET :n"),
            {"n": since_count},
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_every_admin_route_and_console_action_leaves_its_entry(mailing: Services) -> None:
    services = mailing
    await load_demo(services)
    await _campaign_email_on(services)  # a campaign is scheduled only on a channel its kind is turned on for
    loaded = time.monotonic()
    missing: list[str] = []
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for (method, path), expected in API.items():
            if isinstance(expected, Reads):
                if expected.body is not None:
                    count = await _audit_count(services)
                    answer = await http.request(method, path, json=expected.body({}), headers=auth(DEMO_ADMIN_KEY))
                    assert answer.status_code == 200, f"{path}: {answer.text}"
                    if await _audit_count(services) != count:
                        missing.append(f"{method} {path} reads, yet wrote {await _newest(services, count)}")
                continue
            if "settlement/periods" in path:  # a period ends at least 5 s ago, after the network began
                await anyio.sleep(max(0.0, 8 - (time.monotonic() - loaded)))
            if path.endswith("/resend"):  # a message to send again: one that failed
                await _failed_message(services)
            ids = await _ids(services)
            operator = path == "/v1/admin/networks" or path.startswith("/v1/admin/networks/{network_id}")
            key = "operator-secret" if operator else DEMO_ADMIN_KEY
            count = await _audit_count(services)
            body = expected.body(ids)
            where = path.format(**(ids | expected.path_ids(ids)))
            if expected.files is not None:
                files = expected.files(ids)
                params = expected.query(ids)
                response = await http.request(method, where, data=body, files=files, params=params, headers=auth(key))
            else:
                response = await http.request(method, where, json=body, headers=auth(key))
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
            kind = "operator" if key == "operator-secret" else "admin_key"
            if (expected.action, kind, None) not in await _newest(services, count):
                missing.append(f"{method} {path} → {expected.action} by {kind}: {await _newest(services, count)}")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as console:
        assert (await sign_in_console(console, "demo", DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD)).status_code == 303
        token = csrf_token((await console.get("/console")).text)
        for (method, path), expected in CONSOLE.items():
            if isinstance(expected, Reads):
                if expected.body is not None:
                    count = await _audit_count(services)
                    answer = await console.post(path, data=expected.body({}) | {"csrf_token": token})
                    assert answer.status_code == 200, f"{path}: {answer.text[:2000]}"
                    if await _audit_count(services) != count:
                        missing.append(f"{method} {path} reads, yet wrote {await _newest(services, count)}")
                continue
            ids = await _ids(services)
            count = await _audit_count(services)
            if path == "/console/register":
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as anon:
                    page = await anon.get("/console/register")
                    data = expected.body(ids) | {"csrf_token": csrf_token(page.text)}
                    response = await anon.post(path, data=data)
                who: tuple[str, str | None] = ("registrant", None)
            else:
                if path.endswith("/resend"):  # a message to send again: one that failed
                    await _failed_message(services)
                    ids = await _ids(services)
                where = path.format(**(ids | expected.path_ids(ids)))
                files = expected.files(ids) if expected.files is not None else None
                response = await console.post(where, data=expected.body(ids) | {"csrf_token": token}, files=files)
                who = ("console_user", "administrator")
            assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text[:2000]}"
            if (expected.action, *who) not in await _newest(services, count):
                missing.append(f"{method} {path} → {expected.action} by {who}: {await _newest(services, count)}")
    assert not missing, "\n".join(missing)
