"""Every page and action of the web area, tried by every role over the demo network: a role the route is not for is
refused (sent to sign in, 403 or 404) and changes nothing stored; a role it is for gets the page.

ACCESS below is the table of who may use what, written out here rather than read from the code, and every route
the pages serve must be in it: a new route fails this test until someone has decided who may use it."""

from __future__ import annotations

import hashlib
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import text

from coalition.adapters.storage.tables import metadata
from coalition.adapters.web import member
from coalition.adapters.web.setup import PAGE_MODULES
from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, MEMBERS, OUTLETS, load_demo
from coalition.wiring import Services
from tests.support import client
from tests.web.support import csrf_token, sign_in_cashier, sign_in_console

pytestmark = pytest.mark.anyio

ROLES = ("anonymous", "cashier", "owner", "administrator", "member")
CASHIER, CONSOLE, ADMINISTRATOR, MEMBER = {"cashier"}, {"owner", "administrator"}, {"administrator"}, {"member"}
EVERYONE = set(ROLES)

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/terminal/login"): EVERYONE,
    ("POST", "/terminal/login"): EVERYONE,
    ("POST", "/terminal/logout"): EVERYONE,
    ("GET", "/console/login"): EVERYONE,
    ("POST", "/console/login"): EVERYONE,
    ("POST", "/console/logout"): EVERYONE,
    ("GET", "/console/register"): EVERYONE,
    ("POST", "/console/register"): EVERYONE,
    ("GET", "/me/login"): EVERYONE,
    ("POST", "/me/login"): EVERYONE,
    ("POST", "/me/login/code"): EVERYONE,
    ("POST", "/me/logout"): EVERYONE,
    ("GET", "/terminal"): CASHIER,
    ("POST", "/terminal/member"): CASHIER,
    ("POST", "/terminal/quote"): CASHIER,
    ("POST", "/terminal/review"): CASHIER,
    ("POST", "/terminal/purchases"): CASHIER,
    ("GET", "/terminal/receipts/{key}"): CASHIER,
    ("GET", "/terminal/today"): CASHIER,
    ("GET", "/terminal/purchases/{purchase_id}/refund"): CASHIER,
    ("POST", "/terminal/purchases/{purchase_id}/refund"): CASHIER,
    ("GET", "/terminal/refunds/{key}"): CASHIER,
    ("GET", "/terminal/enrol"): CASHIER,
    ("POST", "/terminal/enrol"): CASHIER,
    ("GET", "/terminal/enrolled/{key}"): CASHIER,
    ("POST", "/terminal/gifts/{gift_id}/honour"): CASHIER,
    ("POST", "/terminal/cards"): CASHIER,
    ("POST", "/terminal/cards/{number}/{action}"): CASHIER,
    ("POST", "/terminal/top-up"): CASHIER,
    ("POST", "/terminal/top-ups"): CASHIER,
    ("GET", "/terminal/top-ups/{key}"): CASHIER,
    ("POST", "/terminal/pay-by-wallet"): CASHIER,
    ("GET", "/terminal/gift-cards"): CASHIER,
    ("POST", "/terminal/gift-cards/sell"): CASHIER,
    ("POST", "/terminal/gift-cards"): CASHIER,
    ("GET", "/terminal/gift-cards/sold/{key}"): CASHIER,
    ("POST", "/terminal/gift-cards/balance"): CASHIER,
    ("POST", "/terminal/pay-by-gift-card"): CASHIER,
    ("GET", "/terminal/manifest.webmanifest"): EVERYONE,  # the installable terminal: nothing of any network
    ("GET", "/terminal/sw.js"): EVERYONE,
    ("POST", "/terminal/offline-sales"): CASHIER,
    ("GET", "/terminal/refund"): CASHIER,
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/outlets"): CONSOLE,
    ("POST", "/console/outlets"): ADMINISTRATOR,
    ("GET", "/console/cashiers"): CONSOLE,
    ("POST", "/console/cashiers"): CONSOLE,
    ("GET", "/console/cashiers/{cashier_id}"): CONSOLE,
    ("POST", "/console/cashiers/{cashier_id}/password"): CONSOLE,
    ("POST", "/console/cashiers/{cashier_id}/active"): CONSOLE,
    ("GET", "/console/reports"): CONSOLE,
    ("POST", "/console/reports/send"): CONSOLE,
    ("POST", "/console/reports/address"): CONSOLE,
    ("GET", "/console/exports/{what}"): CONSOLE,  # an owner: their partner's; the node's tables: 403
    ("GET", "/console/partners"): ADMINISTRATOR,
    ("POST", "/console/partners"): ADMINISTRATOR,
    ("POST", "/console/partners/{partner_id}/email"): ADMINISTRATOR,
    ("POST", "/console/partners/{partner_id}/owners"): ADMINISTRATOR,
    ("POST", "/console/administrators"): ADMINISTRATOR,
    ("POST", "/console/users/{user_id}/block"): ADMINISTRATOR,
    ("POST", "/console/users/{user_id}/unblock"): ADMINISTRATOR,
    ("POST", "/console/users/{user_id}/password"): ADMINISTRATOR,
    ("GET", "/console/terminals"): ADMINISTRATOR,
    ("POST", "/console/terminals"): ADMINISTRATOR,
    ("POST", "/console/terminals/{terminal_id}/revoke"): ADMINISTRATOR,
    ("POST", "/console/terminals/{terminal_id}/rotate"): ADMINISTRATOR,
    ("POST", "/console/terminals/{terminal_id}/end-previous"): ADMINISTRATOR,
    ("POST", "/console/terminals/limits"): ADMINISTRATOR,
    ("POST", "/console/terminals/country"): ADMINISTRATOR,
    ("GET", "/console/gifts"): ADMINISTRATOR,
    ("POST", "/console/gifts"): ADMINISTRATOR,
    ("POST", "/console/gifts/breakage"): ADMINISTRATOR,
    ("GET", "/console/permissions"): ADMINISTRATOR,
    ("POST", "/console/permissions"): ADMINISTRATOR,
    ("GET", "/console/members"): ADMINISTRATOR,
    ("GET", "/console/members/{member_id}"): ADMINISTRATOR,
    ("POST", "/console/members/{member_id}/cards"): ADMINISTRATOR,
    ("POST", "/console/members/{member_id}/wallet"): ADMINISTRATOR,
    ("POST", "/console/members/{member_id}/wallet/close"): ADMINISTRATOR,
    ("GET", "/console/money"): CONSOLE,
    ("GET", "/console/gift-cards"): CONSOLE,
    ("POST", "/console/gift-cards"): ADMINISTRATOR,
    ("POST", "/console/gift-cards/{number}/{action}"): ADMINISTRATOR,
    ("POST", "/console/gift-card-breakage"): ADMINISTRATOR,
    ("GET", "/console/devices"): CONSOLE,
    ("POST", "/console/devices"): ADMINISTRATOR,
    ("GET", "/console/devices/{device_id}"): CONSOLE,
    ("POST", "/console/devices/{device_id}"): CONSOLE,  # an owner edits their partner's devices' prices and hours
    ("POST", "/console/devices/{device_id}/revoke"): ADMINISTRATOR,
    ("GET", "/console/webhooks"): ADMINISTRATOR,
    ("POST", "/console/webhooks"): ADMINISTRATOR,
    ("GET", "/console/webhooks/{subscription_id}"): ADMINISTRATOR,
    ("POST", "/console/webhooks/{subscription_id}/pause"): ADMINISTRATOR,
    ("POST", "/console/webhooks/{subscription_id}/resume"): ADMINISTRATOR,
    ("POST", "/console/webhooks/{subscription_id}/rotate-secret"): ADMINISTRATOR,
    ("POST", "/console/webhooks/{subscription_id}/deliveries/{message_id}/resend"): ADMINISTRATOR,
    ("POST", "/console/webhooks/{subscription_id}/delete"): ADMINISTRATOR,
    ("GET", "/console/rules"): ADMINISTRATOR,
    ("POST", "/console/rules/draft"): ADMINISTRATOR,
    ("POST", "/console/rules/simulate"): ADMINISTRATOR,
    ("POST", "/console/rules/explain"): ADMINISTRATOR,
    ("GET", "/console/rules/editor"): ADMINISTRATOR,
    ("POST", "/console/rules/editor"): ADMINISTRATOR,
    ("POST", "/console/rules/editor/explain"): ADMINISTRATOR,
    ("POST", "/console/rules/editor/simulate"): ADMINISTRATOR,
    ("POST", "/console/rules/editor/card-minimum"): ADMINISTRATOR,
    ("GET", "/console/rules/publish"): ADMINISTRATOR,
    ("POST", "/console/rules/publish"): ADMINISTRATOR,
    ("GET", "/console/rules/versions/{version}"): ADMINISTRATOR,
    ("GET", "/console/settlement"): ADMINISTRATOR,
    ("POST", "/console/settlement/close"): ADMINISTRATOR,
    ("POST", "/console/settlement/fees"): ADMINISTRATOR,
    ("POST", "/console/settlement/points-breakage"): ADMINISTRATOR,
    ("POST", "/console/settlement/gift-breakage"): ADMINISTRATOR,
    ("POST", "/console/settlement/statements/{number}/send"): ADMINISTRATOR,
    ("GET", "/console/statements"): CONSOLE,
    ("GET", "/console/statements/{number}"): CONSOLE,
    ("GET", "/console/statements/{number}/statement.csv"): CONSOLE,
    ("GET", "/console/statements/{number}/statement.pdf"): CONSOLE,
    ("GET", "/console/statements/{number}/partners/{partner_id}"): CONSOLE,
    ("GET", "/console/statements/{number}/partners/{partner_id}/entries.csv"): CONSOLE,
    ("GET", "/console/audit"): ADMINISTRATOR,  # owners see none: entries name others' logins and addresses
    ("GET", "/console/audit.csv"): ADMINISTRATOR,
    ("GET", "/console/schedules"): ADMINISTRATOR,  # issue 16: scheduled jobs
    ("POST", "/console/schedules/{job}"): ADMINISTRATOR,
    ("GET", "/console/messages/templates"): ADMINISTRATOR,  # issue 16: customer messages
    ("GET", "/console/messages/templates/{kind}/{channel}/{language}"): ADMINISTRATOR,
    ("POST", "/console/messages/templates/{kind}/{channel}/{language}"): ADMINISTRATOR,
    ("GET", "/console/messages/settings"): ADMINISTRATOR,
    ("POST", "/console/messages/settings"): ADMINISTRATOR,
    ("GET", "/console/files"): ADMINISTRATOR,  # issue 17: members files (docs/files.md)
    ("POST", "/console/imports/members"): ADMINISTRATOR,
    ("POST", "/console/imports/sales"): ADMINISTRATOR,  # purchases and refunds files
    ("GET", "/console/catalogue"): ADMINISTRATOR,  # a partner's products and categories (docs/files.md)
    ("POST", "/console/catalogue/import"): ADMINISTRATOR,
    ("GET", "/console/catalogue/products.csv"): ADMINISTRATOR,
    ("GET", "/console/catalogue/products.xlsx"): ADMINISTRATOR,
    ("GET", "/console/catalogue/categories.csv"): ADMINISTRATOR,
    ("GET", "/console/exports/members.csv"): ADMINISTRATOR,
    ("GET", "/console/exports/members.xlsx"): ADMINISTRATOR,
    ("GET", "/console/messages/campaigns"): ADMINISTRATOR,  # issue 16: campaigns
    ("POST", "/console/messages/campaigns"): ADMINISTRATOR,
    ("GET", "/console/messages/campaigns/audience"): ADMINISTRATOR,
    ("GET", "/console/messages/campaigns/{campaign_id}"): ADMINISTRATOR,
    ("POST", "/console/messages/campaigns/{campaign_id}/preview"): ADMINISTRATOR,
    ("POST", "/console/messages/campaigns/{campaign_id}/schedule"): ADMINISTRATOR,
    ("POST", "/console/messages/campaigns/{campaign_id}/cancel"): ADMINISTRATOR,
    ("GET", "/unsubscribe/{token}"): EVERYONE,  # the signed token is the permission (a forged one: 404)
    ("POST", "/unsubscribe/{token}"): EVERYONE,
    ("GET", "/console/join"): ADMINISTRATOR,
    ("GET", "/console/join/qr.svg"): ADMINISTRATOR,
    ("POST", "/console/join"): ADMINISTRATOR,
    ("GET", "/join/{code}"): EVERYONE,  # off in the demo (404) until its administrator turns it on
    ("POST", "/join/{code}"): EVERYONE,
    # the operator's console: its sign-in form for anyone, everything else only with the operator token's session
    ("GET", "/operator"): EVERYONE,
    ("POST", "/operator/sign-in"): EVERYONE,
    ("POST", "/operator/logout"): set(),
    ("POST", "/operator/networks/{network_id}/plan"): set(),
    ("POST", "/operator/networks/{network_id}/suspend"): set(),
    ("POST", "/operator/networks/{network_id}/resume"): set(),
    ("GET", "/me/n/{code}"): EVERYONE,  # the network's own address: the member's page, else its sign-in
    ("GET", "/me"): MEMBER,
    ("GET", "/me/card.pkpass"): MEMBER,  # a 404 problem where no pass certificate is configured (the demo)
    ("POST", "/me/pin"): MEMBER,
    ("POST", "/me/gift-cards"): MEMBER,
    ("POST", "/me/gift-cards/remove"): MEMBER,
}

# tables a refused request could touch; sessions and failed sign-ins change with the test's own sign-ins
UNWATCHED_TABLES = {"web_sessions", "sign_in_counters", "sign_in_addresses", "member_sign_in_codes"}


def served_routes() -> set[tuple[str, str]]:
    routes = [route for module in PAGE_MODULES for route in module.router.routes] + member.network_router.routes
    return {(method, route.path) for route in routes for method in route.methods}


def test_every_route_of_the_pages_says_who_may_use_it() -> None:
    assert served_routes() == set(ACCESS)


async def _stored(services: Services) -> str:
    """A digest of every row of every watched table: a refused request must leave it as it was."""
    digest = hashlib.sha256()
    async with services.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in UNWATCHED_TABLES:
                continue
            rows = await connection.execute(text(f"SELECT * FROM {table.name} ORDER BY 1"))
            digest.update(table.name.encode())
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


async def _ids(services: Services) -> dict[str, str]:
    """Real ids of the demo for the routes' parameters, so that a permitted role finds what it asks for."""
    async with services.engine.connect() as connection:

        async def first(sql: str) -> str:
            return str((await connection.execute(text(sql))).scalar_one())

        return {
            "cashier_id": await first("SELECT id FROM cashiers WHERE login = 'anna'"),
            "partner_id": await first("SELECT partner_id FROM outlets ORDER BY id LIMIT 1"),
            "user_id": await first("SELECT id FROM console_users WHERE login = 'cafe-owner'"),
            "terminal_id": await first("SELECT id FROM terminals ORDER BY id DESC LIMIT 1"),
            "member_id": await first("SELECT member_id FROM cards WHERE number = '10000001'"),
            "purchase_id": await first(
                "SELECT id FROM purchases WHERE outlet_id = (SELECT MIN(id) FROM outlets)"
                " ORDER BY recorded_at DESC LIMIT 1"
            ),
            "outlet_id": await first("SELECT MIN(id) FROM outlets"),
            "device_id": await first("SELECT COALESCE(MIN(id), 1) FROM devices"),
            "subscription_id": await first("SELECT COALESCE(MIN(id), 1) FROM webhook_subscriptions"),
            "message_id": await first("SELECT COALESCE(MIN(id), 1) FROM outbox_messages"),
            "campaign_id": "1",
            "key": "no-such-attempt",
            "gift_id": "no-such-gift",
            "action": "block",
            "what": "sales-by-outlet",
            "version": "1",
            "number": "1",
            "job": "birthdays",
            "kind": "thank_you",
            "channel": "sms",
            "language": "en",
            "token": "1.1.campaign.email.forged",
            "code": "demo",
            "network_id": await first("SELECT MIN(id) FROM networks"),
        }


async def _signed_in(http: httpx.AsyncClient, role: str, outlet_id: str) -> str:
    """Signs `http` in as `role` through the real forms; the CSRF token its forms carry."""
    shop = OUTLETS[0]
    if role == "cashier":
        signed = await sign_in_cashier(http, int(outlet_id), shop.cashier_login, shop.cashier_password)
        assert signed.status_code == 303
        return csrf_token((await http.get("/terminal")).text)
    if role in ("owner", "administrator"):
        login, password = (shop.owner_login, shop.owner_password)
        if role == "administrator":
            login, password = DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD
        assert (await sign_in_console(http, "demo", login, password)).status_code == 303
        return csrf_token((await http.get("/console")).text)
    if role == "member":
        irina = MEMBERS[0]
        page = await http.get("/me/login")
        signed = await http.post(
            "/me/login", data={"card": irina.card, "pin": irina.pin or "", "csrf_token": csrf_token(page.text)}
        )
        assert signed.status_code == 303, signed.text
        return csrf_token((await http.get("/me")).text)
    return csrf_token((await http.get("/console/login")).text)  # the anonymous visitor's own token


def _refused(response: httpx.Response) -> bool:
    if response.status_code == 303:
        return "/login" in response.headers.get("location", "")
    return response.status_code in (401, 403, 404)


async def _try(http: httpx.AsyncClient, method: str, path: str, ids: dict[str, str], token: str) -> httpx.Response:
    url = path.format(**ids)
    for _ in range(3):  # a role refused everything answers fast enough to spend the session's budget (50/s): wait
        response = await http.get(url) if method == "GET" else await http.post(url, data={"csrf_token": token})
        if response.status_code != 429:
            break
        await anyio.sleep(float(response.headers.get("retry-after", "1")))
    return response


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_is_refused_what_is_not_theirs_and_nothing_changes(services: Services, role: str) -> None:
    await load_demo(services)
    ids = await _ids(services)
    async with client(services) as http:
        token = await _signed_in(http, role, ids["outlet_id"])
        before = await _stored(services)
        let_in = {
            f"{method} {path}: {response.status_code} {response.headers.get('location', '')}"
            for (method, path), roles in ACCESS.items()
            if role not in roles and not _refused(response := await _try(http, method, path, ids, token))
        }
        assert let_in == set()
        assert await _stored(services) == before
        pages: dict[str, Any] = {}
        for (method, path), roles in ACCESS.items():
            if method != "GET" or role not in roles or "/login" in path or "register" in path:
                continue
            response = await _try(http, method, path, ids, token)
            # a permitted role is never sent to sign in nor forbidden; what the demo lacks (a statement, a rule set to
            # publish or look back at, an attempt, a campaign; a device of the owner's partner: the demo's are the
            # park's) is 404
            lacking = (
                "{number}",
                "{key}",
                "{version}",
                "/rules/publish",
                "{device_id}",
                "{subscription_id}",
                "{token}",
                "{campaign_id}",
                "/join/{code}",
                "card.pkpass",
            )
            expected = (200, 404) if any(part in path for part in lacking) else (200,)
            if response.status_code not in expected:
                pages[path] = response.status_code
        assert pages == {}
