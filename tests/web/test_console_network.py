"""The administrator's network pages over HTTP on both engines: partners and console logins, terminals and their
revocation (pages and the JSON API), gifts, the permissions matrix, and the administrator-only rule."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest

from coalition.wiring import Services
from tests.support import Network, auth, buy, client, enrol, make_network
from tests.web.support import csrf_token, sign_in_cashier, sign_in_console

pytestmark = pytest.mark.anyio

ADMIN_PAGES = ("/console/partners", "/console/terminals", "/console/gifts", "/console/permissions")
ADMIN_POSTS = (
    "/console/partners",
    "/console/partners/1/email",
    "/console/partners/1/owners",
    "/console/administrators",
    "/console/users/1/block",
    "/console/users/1/unblock",
    "/console/users/1/password",
    "/console/terminals",
    "/console/terminals/1/revoke",
    "/console/terminals/1/rotate",
    "/console/terminals/1/end-previous",
    "/console/terminals/limits",
    "/console/terminals/country",
    "/console/gifts",
    "/console/gifts/breakage",
    "/console/permissions",
    "/console/members/1/cards",
)


@dataclass
class Setting:
    network: Network
    shop_partner_id: int
    shop_outlet_id: int
    cafe_outlet_id: int
    owner_id: int
    admin_id: int


async def _setting(services: Services) -> Setting:
    network = await make_network(services)
    listing = await services.admin.listing(network.ref)
    shop, cafe = listing["partners"][0]["id"], listing["partners"][1]["id"]
    web = services.web_sessions
    admin_id = await web.add_console_user(network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    owner_id = await web.add_console_user(network.ref.id, "owner", shop, "owner", "Shop owner", "owner-secret-1")
    assert cafe != shop
    outlets = listing["outlets"]
    return Setting(network, shop, outlets[0]["id"], outlets[1]["id"], owner_id, admin_id)


async def _admin(http: httpx.AsyncClient) -> str:
    """Signs the administrator in; the CSRF token of their session."""
    assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
    return csrf_token((await http.get("/console/partners")).text)


async def test_an_owner_gets_403_on_every_administrator_page_and_form(services: Services) -> None:
    await _setting(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "owner", "owner-secret-1")).status_code == 303
        token = csrf_token((await http.get("/console")).text)
        for path in (*ADMIN_PAGES, "/console/members", "/console/members/1"):
            assert (await http.get(path)).status_code == 403, path
        for path in ADMIN_POSTS:
            answer = await http.post(path, data={"csrf_token": token, "name": "X", "password": "long-enough-1"})
            assert answer.status_code == 403, path


async def test_administrator_pages_need_a_session_and_a_csrf_token(services: Services) -> None:
    await _setting(services)
    async with client(services) as http:
        for path in ADMIN_PAGES:
            answer = await http.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), path
        await _admin(http)
        refused = await http.post("/console/partners", data={"name": "Bakery", "csrf_token": "forged"})
        assert refused.status_code == 403
        assert "Bakery" not in (await http.get("/console/partners")).text


async def test_partners_their_email_and_a_bad_email_named_beside_the_form(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        token = await _admin(http)
        created = await http.post("/console/partners", data={"name": "Bakery", "csrf_token": token})
        assert created.status_code == 303 and created.headers["location"] == "/console/partners?done=partner-created"
        page = await http.get(created.headers["location"])
        assert "The partner was added." in page.text and "Bakery" in page.text
        email_path = f"/console/partners/{setting.shop_partner_id}/email"
        bad = await http.post(email_path, data={"email": "not-an-address", "csrf_token": token})
        assert bad.status_code == 422
        assert "is not an e-mail address" in bad.text and 'value="not-an-address"' in bad.text
        good = await http.post(email_path, data={"email": "shop@example.com", "csrf_token": token})
        assert good.status_code == 303
    partners = await services.admin.partners(setting.network.ref)
    assert [(p["name"], p["email"]) for p in partners] == [
        ("Shop", "shop@example.com"),
        ("Cafe", None),
        ("Bakery", None),
    ]


async def test_an_owner_login_created_blocked_and_reset_takes_effect_at_once(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as admin_http, client(services) as owner_http:
        token = await _admin(admin_http)
        added = await admin_http.post(
            f"/console/partners/{setting.shop_partner_id}/owners",
            data={"login": "second", "name": "Second owner", "password": "short", "csrf_token": token},
        )
        assert added.status_code == 422 and "at least" in added.text and 'value="second"' in added.text
        added = await admin_http.post(
            f"/console/partners/{setting.shop_partner_id}/owners",
            data={"login": "second", "name": "Second owner", "password": "second-secret-1", "csrf_token": token},
        )
        assert added.status_code == 303
        users = await services.web_sessions.console_users(setting.network.ref.id)
        assert [(u.login, u.role, u.partner_id, u.active) for u in users] == [
            ("admin", "administrator", None, True),
            ("owner", "owner", setting.shop_partner_id, True),
            ("second", "owner", setting.shop_partner_id, True),
        ]
        assert (await sign_in_console(owner_http, "shop", "owner", "owner-secret-1")).status_code == 303
        blocked = await admin_http.post(f"/console/users/{setting.owner_id}/block", data={"csrf_token": token})
        assert blocked.headers["location"] == "/console/partners?done=user-blocked"
        assert (await owner_http.get("/console")).status_code == 303  # signed out at once
        assert (await sign_in_console(owner_http, "shop", "owner", "owner-secret-1")).status_code == 401
        await admin_http.post(f"/console/users/{setting.owner_id}/unblock", data={"csrf_token": token})
        assert (await sign_in_console(owner_http, "shop", "owner", "owner-secret-1")).status_code == 303
        reset = await admin_http.post(
            f"/console/users/{setting.owner_id}/password", data={"password": "owner-secret-2", "csrf_token": token}
        )
        assert reset.headers["location"] == "/console/partners?done=password-reset"
        assert (await owner_http.get("/console")).status_code == 303
        assert (await sign_in_console(owner_http, "shop", "owner", "owner-secret-1")).status_code == 401
        assert (await sign_in_console(owner_http, "shop", "owner", "owner-secret-2")).status_code == 303


async def test_console_users_of_another_network_are_out_of_reach(services: Services) -> None:
    setting = await _setting(services)
    other = await make_network(services, "other")
    stranger = await services.web_sessions.add_console_user(
        other.ref.id, "administrator", None, "boss", "Boss", "boss-secret-1"
    )
    async with client(services) as http:
        token = await _admin(http)
        answer = await http.post(f"/console/users/{stranger}/block", data={"csrf_token": token})
        assert answer.status_code == 404 and f"no console user {stranger}" in answer.text
        own = await http.post(f"/console/users/{setting.admin_id}/block", data={"csrf_token": token})
        assert own.status_code == 422 and "cannot block your own login" in own.text
        added = await http.post(
            "/console/administrators",
            data={"login": "deputy", "name": "Deputy", "password": "deputy-secret-1", "csrf_token": token},
        )
        assert added.status_code == 303
    assert [u.login for u in await services.web_sessions.console_users(other.ref.id)] == ["boss"]
    assert "deputy" in [u.login for u in await services.web_sessions.console_users(setting.network.ref.id)]


async def test_a_terminal_created_on_the_page_works_once_revoked_gets_401(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        await enrol(http, setting.network.shop_key, "5000-0001", phone="+79120000001")
        token = await _admin(http)
        created = await http.post(
            "/console/terminals",
            data={"outlet": str(setting.shop_outlet_id), "name": "Kiosk", "csrf_token": token},
        )
        assert created.status_code == 201 and "shown only once" in created.text
        key = created.text.split('id="new-key" class="key" readonly value="')[1].split('"')[0]
        assert key.startswith("term_")
        assert key not in (await http.get("/console/terminals")).text  # never shown again
        member = await http.get("/v1/members/5000-0001", headers=auth(key))
        assert member.status_code == 200 and member.json()["card"]["number"] == "50000001"
        terminal_id = next(
            t["id"] for t in (await services.admin.listing(setting.network.ref))["terminals"] if t["name"] == "Kiosk"
        )
        revoked = await http.post(f"/console/terminals/{terminal_id}/revoke", data={"csrf_token": token})
        assert revoked.headers["location"] == "/console/terminals?done=terminal-revoked"
        assert (await http.get("/v1/members/5000-0001", headers=auth(key))).status_code == 401
        again = await http.post(f"/console/terminals/{terminal_id}/revoke", data={"csrf_token": token})
        assert again.status_code == 303  # revoking a revoked terminal changes nothing
        bad = await http.post("/console/terminals", data={"outlet": "x", "name": "Kiosk", "csrf_token": token})
        assert bad.status_code == 422 and "outlet_id is a whole number" in bad.text


async def test_the_api_revokes_a_terminal_but_not_another_networks_nor_a_web_terminal(services: Services) -> None:
    setting = await _setting(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await enrol(http, setting.network.cafe_key, "5000-0002")
        listing = (await services.admin.listing(setting.network.ref))["terminals"]
        cafe_terminal = listing[1]["id"]
        foreign = (await services.admin.listing(other.ref))["terminals"][0]["id"]
        admin = auth(setting.network.admin_key)
        assert (await http.delete(f"/v1/admin/terminals/{foreign}", headers=admin)).status_code == 404
        answer = await http.delete(f"/v1/admin/terminals/{cafe_terminal}", headers=admin)
        assert answer.status_code == 200 and answer.json() == {"id": cafe_terminal, "active": False}
        assert (await http.get("/v1/members/5000-0002", headers=auth(setting.network.cafe_key))).status_code == 401
        assert (await http.get("/v1/members/5000-0002", headers=auth(setting.network.shop_key))).status_code == 200
        assert (await services.admin.listing(setting.network.ref))["terminals"][1]["active"] is False
        # the web terminal appears with a cashier's first sign-in; it has no key to revoke
        await services.admin.create_cashier(setting.network.ref, setting.shop_outlet_id, "anna", "Anna", "anna-pass-1")
        async with client(services) as till:
            assert (await sign_in_cashier(till, setting.shop_outlet_id, "anna", "anna-pass-1")).status_code == 303
        web = next(
            t for t in (await services.admin.listing(setting.network.ref))["terminals"] if t["key_prefix"] == "web"
        )
        refused = await http.delete(f"/v1/admin/terminals/{web['id']}", headers=admin)
        assert refused.status_code == 409 and "web terminal" in refused.json()["detail"]
        token = await _admin(http)
        page = await http.get("/console/terminals")
        assert "Web terminal" in page.text and f"/console/terminals/{web['id']}/revoke" not in page.text
        forced = await http.post(f"/console/terminals/{web['id']}/revoke", data={"csrf_token": token})
        assert forced.status_code == 409 and "block the cashiers instead" in forced.text


async def test_a_terminal_key_rotated_from_the_page_refuses_bad_input_and_other_terminals(services: Services) -> None:
    setting = await _setting(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        await enrol(http, setting.network.shop_key, "5000-0003")
        token = await _admin(http)
        terminal_id = (await services.admin.listing(setting.network.ref))["terminals"][0]["id"]
        foreign = (await services.admin.listing(other.ref))["terminals"][0]["id"]
        for grace, message in (("abc", "grace_seconds is a whole number"), ("99999999999", "30 days")):
            bad = await http.post(
                f"/console/terminals/{terminal_id}/rotate", data={"grace_seconds": grace, "csrf_token": token}
            )
            assert bad.status_code == 422 and message in bad.text
        missing = await http.post(
            f"/console/terminals/{foreign}/rotate", data={"grace_seconds": "0", "csrf_token": token}
        )
        assert missing.status_code == 404 and f"no terminal {foreign} in this network" in missing.text
        assert (
            await http.post(f"/console/terminals/{foreign}/end-previous", data={"csrf_token": token})
        ).status_code == 404
        assert (await http.get("/v1/members/5000-0003", headers=auth(other.shop_key))).status_code == 404  # untouched
        rotated = await http.post(
            f"/console/terminals/{terminal_id}/rotate", data={"grace_seconds": "0", "csrf_token": token}
        )
        assert rotated.status_code == 200 and "shown only once" in rotated.text
        key = rotated.text.split('id="new-key" class="key" readonly value="')[1].split('"')[0]
        assert (await http.get("/v1/members/5000-0003", headers=auth(key))).status_code == 200
        assert (await http.get("/v1/members/5000-0003", headers=auth(setting.network.shop_key))).status_code == 401
        assert key not in (await http.get("/console/terminals")).text  # never shown again
        in_russian = await http.post(
            f"/console/terminals/{terminal_id}/rotate",
            data={"grace_seconds": "-1", "csrf_token": token},
            headers={"Accept-Language": "ru"},
        )
        assert in_russian.status_code == 422 and "целое число" in in_russian.text


async def test_gift_types_and_their_breakage_from_the_page(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        token = await _admin(http)
        fields = {"code": "free-coffee", "name": "Free coffee", "price": "150.00", "valid_days": "30"}
        missing = await http.post("/console/gifts", data={**fields, "csrf_token": token})
        assert missing.status_code == 422 and "name the partners" in missing.text
        bad_price = await http.post(
            "/console/gifts", data={**fields, "price": "1,5,0", "partners": "Cafe", "csrf_token": token}
        )
        assert bad_price.status_code == 422 and 'value="Free coffee"' in bad_price.text
        created = await http.post("/console/gifts", data={**fields, "partners": "Cafe", "csrf_token": token})
        assert created.headers["location"] == "/console/gifts?done=gift-type-created"
        page = await http.get("/console/gifts")
        assert "Free coffee" in page.text and "150.00" in page.text
        assert (
            await http.post("/console/gifts/breakage", data={"gifts": "maybe", "csrf_token": token})
        ).status_code == 422
        saved = await http.post("/console/gifts/breakage", data={"gifts": "released", "csrf_token": token})
        assert saved.status_code == 303
    catalogue = await services.gifts.listing(setting.network.ref.id, "RUB")
    assert [(g["code"], g["price"]) for g in catalogue["gift_types"]] == [("free-coffee", "150.00")]
    assert await services.gifts.breakage(setting.network.ref.id) == {"gifts": "released"}


async def test_the_limits_on_one_purchase_from_the_terminals_page(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        token = await _admin(http)
        page = await http.get("/console/terminals")
        assert 'value="100000000.00"' in page.text and 'value="500"' in page.text
        fields = {"max_amount": "5000.00", "max_quantity": "10", "max_lines_per_purchase": "20"}
        refused = await http.post(
            "/console/terminals/limits", data={**fields, "max_points_per_purchase": "0", "csrf_token": token}
        )
        assert refused.status_code == 422 and 'value="5000.00"' in refused.text
        assert "greater than zero" in refused.text
        saved = await http.post(
            "/console/terminals/limits", data={**fields, "max_points_per_purchase": "300", "csrf_token": token}
        )
        assert saved.headers["location"] == "/console/terminals?done=limits-saved"
        await enrol(http, setting.network.shop_key, "4000-0001")
        too_much = await buy(http, setting.network.shop_key, "4000-0001", "5000.01")
        assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    assert (await services.limits.limits(setting.network.ref.id, "RUB"))["max_lines_per_purchase"] == 20


async def test_the_permissions_matrix_saved_from_the_page_refuses_what_it_leaves_out(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        await enrol(http, setting.network.shop_key, "5000-0003")
        token = await _admin(http)
        page = await http.get("/console/permissions")
        assert "No matrix is set" in page.text
        allow = ["Shop till\tpoints\taccrue", "Shop till\tpoints\tspend", "Cafe till\tpoints\tspend"]
        saved = await http.post("/console/permissions", data={"allow": allow, "csrf_token": token})
        assert saved.headers["location"] == "/console/permissions?done=permissions-saved"
        matrix = await services.permissions.matrix(setting.network.ref.id)
        assert matrix["entries"] == [
            {"outlet": "Cafe till", "counter": "points", "operations": ["spend"]},
            {"outlet": "Shop till", "counter": "points", "operations": ["accrue", "spend"]},
        ]
        assert (await buy(http, setting.network.shop_key, "5000-0003", "100.00")).status_code == 201
        refused = await buy(http, setting.network.cafe_key, "5000-0003", "100.00")
        assert refused.status_code == 403 and "may not accrue points" in refused.json()["detail"]
        forged = await http.post(
            "/console/permissions", data={"allow": ["Nowhere\tpoints\taccrue"], "csrf_token": token}
        )
        assert forged.status_code == 422 and "no outlet of this network is called" in forged.text
        cleared = await http.post("/console/permissions", data={"csrf_token": token})
        assert cleared.status_code == 303
    assert (await services.permissions.matrix(setting.network.ref.id))["defined"] is False


async def test_card_actions_need_the_members_own_card(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        first = await enrol(http, setting.network.shop_key, "5000-0004")
        await enrol(http, setting.network.shop_key, "5000-0005")
        token = await _admin(http)
        member_id = first["member"]["id"] if "member" in first else first["member_id"]
        answer = await http.post(
            f"/console/members/{member_id}/cards", data={"number": "5000-0005", "action": "block", "csrf_token": token}
        )
        assert answer.status_code == 404 and "has no card" in answer.text
        assert (await buy(http, setting.network.shop_key, "5000-0005", "10.00")).status_code == 201


async def test_no_terminal_may_take_the_web_terminals_name(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        token = await _admin(http)
        answer = await http.post(
            "/console/terminals",
            data={"outlet": str(setting.shop_outlet_id), "name": " web TERMINAL ", "csrf_token": token},
        )
        assert answer.status_code == 422 and "names the outlet&#39;s cashiers&#39; sign-in" in answer.text
        russian = await http.post(
            "/console/terminals",
            data={"outlet": str(setting.shop_outlet_id), "name": "Web terminal", "csrf_token": token},
            headers={"Accept-Language": "ru"},
        )
        assert "выберите другое название" in russian.text
    names = [t["name"] for t in (await services.admin.listing(setting.network.ref))["terminals"]]
    assert names == ["POS", "POS"]


async def test_matrix_entries_the_page_has_no_column_for_are_kept_when_it_is_saved(services: Services) -> None:
    setting = await _setting(services)
    async with client(services) as http:
        admin = auth(setting.network.admin_key)
        entries = [{"outlet": "Shop till", "counter": "wallet:RUB", "operations": ["top_up"]}]
        assert (await http.put("/v1/admin/permissions", json={"entries": entries}, headers=admin)).status_code == 200
        token = await _admin(http)
        page = (await http.get("/console/permissions")).text
        kept = re.findall(r'<input type="hidden" name="allow" value="([^"]+)">', page)
        assert kept == ["Shop till\twallet:RUB\ttop_up"]
        assert "checked" not in page.split("<tbody>")[1]  # no column shows the wallet's top-up
        allow = [kept[0], "Cafe till\tpoints\taccrue"]
        assert (await http.post("/console/permissions", data={"allow": allow, "csrf_token": token})).status_code == 303
    matrix = await services.permissions.matrix(setting.network.ref.id)
    assert matrix["entries"] == [
        {"outlet": "Cafe till", "counter": "points", "operations": ["accrue"]},
        {"outlet": "Shop till", "counter": "wallet:RUB", "operations": ["top_up"]},
    ]
