"""Outlets and cashiers in the console on both engines: an owner sees and manages only their partner's, the
administrator every partner's; bad input is shown beside its field; a reset or a block signs the cashier out."""

from __future__ import annotations

import re

import httpx
import pytest

from coalition.wiring import Services
from tests.support import Network, client, make_network
from tests.web.support import csrf_token, sign_in_cashier, sign_in_console

pytestmark = pytest.mark.anyio


class Setting:
    def __init__(self, net: Network, listing: dict[str, list[dict[str, object]]], anna: int, boris: int) -> None:
        self.net = net
        self.shop_partner, self.cafe_partner = (int(str(p["id"])) for p in listing["partners"])
        self.shop_outlet, self.cafe_outlet = (int(str(o["id"])) for o in listing["outlets"])
        self.anna, self.boris = anna, boris


async def _setting(services: Services) -> Setting:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop_outlet, cafe_outlet = (outlet["id"] for outlet in listing["outlets"])
    anna = await services.admin.create_cashier(net.ref, shop_outlet, "anna", "Anna Shop", "anna-secret-1")
    boris = await services.admin.create_cashier(net.ref, cafe_outlet, "boris", "Boris Cafe", "boris-secret-1")
    setting = Setting(net, listing, anna["id"], boris["id"])
    web = services.web_sessions
    await web.add_console_user(net.ref.id, "owner", setting.shop_partner, "shop-owner", "Shop owner", "shop-secret-1")
    await web.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    return setting


async def _owner(http: httpx.AsyncClient) -> str:
    """Signs the Shop's owner in; the CSRF token of their session."""
    assert (await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")).status_code == 303
    return csrf_token((await http.get("/console/cashiers")).text)


async def test_an_owner_sees_only_their_partners_outlets_and_cashiers(services: Services) -> None:
    s = await _setting(services)
    async with client(services) as http:
        await _owner(http)
        outlets = await http.get("/console/outlets")
        assert outlets.status_code == 200
        assert "Shop till" in outlets.text and "Cafe till" not in outlets.text
        assert f"<strong>{s.shop_outlet}</strong>" in outlets.text  # the number the terminal's sign-in asks for
        assert "Add an outlet" not in outlets.text  # the administrator's
        cashiers = await http.get("/console/cashiers")
        assert "anna" in cashiers.text and "boris" not in cashiers.text and "Cafe" not in cashiers.text
        assert (await http.get(f"/console/cashiers/{s.anna}")).status_code == 200
        other = await http.get(f"/console/cashiers/{s.boris}")
        assert other.status_code == 404 and "Boris" not in other.text
        home = await http.get("/console")
        assert "Shop till" in home.text and "Cafe till" not in home.text


async def test_an_owner_cannot_touch_another_partners_cashier_or_outlet(services: Services) -> None:
    s = await _setting(services)
    async with client(services) as http:
        token = await _owner(http)
        await sign_in_cashier(http, s.cafe_outlet, "boris", "boris-secret-1")
        reset = await http.post(
            f"/console/cashiers/{s.boris}/password", data={"csrf_token": token, "password": "taken-over-1"}
        )
        assert reset.status_code == 404
        blocked = await http.post(f"/console/cashiers/{s.boris}/active", data={"csrf_token": token, "active": "0"})
        assert blocked.status_code == 404
        added = await http.post(
            "/console/cashiers",
            data={
                "csrf_token": token,
                "outlet": str(s.cafe_outlet),
                "login": "mole",
                "name": "Mole",
                "password": "mole-secret-1",
            },
        )
        assert added.status_code == 404 and 'id="outlet-error"' in added.text
        outlet = await http.post(
            "/console/outlets",
            data={"csrf_token": token, "partner": str(s.shop_partner), "name": "Kiosk", "timezone": "Europe/Moscow"},
        )
        assert outlet.status_code == 403  # outlets are the administrator's to add
        assert (await http.get("/terminal")).status_code == 200  # Boris is still signed in
    listing = await services.admin.listing(s.net.ref)
    assert [(c["login"], c["active"]) for c in listing["cashiers"]] == [("anna", True), ("boris", True)]
    assert len(listing["outlets"]) == 2
    assert (await services.web_sessions.sign_in_cashier(s.cafe_outlet, "boris", "boris-secret-1", "t")).token


async def test_an_owner_adds_a_cashier_and_bad_input_is_shown_beside_its_field(services: Services) -> None:
    s = await _setting(services)
    async with client(services) as http:
        token = await _owner(http)
        fields = {"csrf_token": token, "outlet": str(s.shop_outlet), "login": "petr", "name": "Petr", "password": "p"}
        short = await http.post("/console/cashiers", data=fields)
        assert short.status_code == 422
        assert re.search(r'id="password-error" role="alert">a password has at least 6 characters<', short.text)
        assert 'value="petr"' in short.text  # the form keeps what was typed, except the password
        bad_login = await http.post("/console/cashiers", data={**fields, "login": "p e", "password": "petr-secret-1"})
        assert bad_login.status_code == 422 and 'id="login-error"' in bad_login.text
        duplicate = await http.post("/console/cashiers", data={**fields, "login": "anna", "password": "petr-secret-1"})
        assert duplicate.status_code == 409
        assert "the outlet already has a cashier &#39;anna&#39;" in duplicate.text
        russian = await http.post("/console/cashiers", data=fields, headers={"Accept-Language": "ru"})
        assert "пароль — не меньше 6 символов" in russian.text
        created = await http.post("/console/cashiers", data={**fields, "password": "petr-secret-1"})
        assert created.status_code == 303 and created.headers["location"] == "/console/cashiers?done=cashier-added"
        assert "petr" in (await http.get("/console/cashiers")).text
    assert (await services.web_sessions.sign_in_cashier(s.shop_outlet, "petr", "petr-secret-1", "t")).token


async def test_a_reset_and_a_block_by_the_owner_sign_the_cashier_out_at_once(services: Services) -> None:
    s = await _setting(services)
    async with client(services) as owner, client(services) as till:
        token = await _owner(owner)
        await sign_in_cashier(till, s.shop_outlet, "anna", "anna-secret-1")
        assert (await till.get("/terminal")).status_code == 200
        reset = await owner.post(
            f"/console/cashiers/{s.anna}/password", data={"csrf_token": token, "password": "anna-secret-2"}
        )
        assert reset.status_code == 303
        assert (await till.get("/terminal")).status_code == 303
        assert (await sign_in_cashier(till, s.shop_outlet, "anna", "anna-secret-1")).status_code == 401
        assert (await sign_in_cashier(till, s.shop_outlet, "anna", "anna-secret-2")).status_code == 303
        assert (await till.get("/terminal")).status_code == 200
        odd = await owner.post(f"/console/cashiers/{s.anna}/active", data={"csrf_token": token, "active": "yes"})
        assert odd.status_code == 422 and (await till.get("/terminal")).status_code == 200
        blocked = await owner.post(f"/console/cashiers/{s.anna}/active", data={"csrf_token": token, "active": "0"})
        assert blocked.status_code == 303
        assert "Blocked" in (await owner.get(f"/console/cashiers/{s.anna}")).text
        assert (await till.get("/terminal")).status_code == 303
        assert (await sign_in_cashier(till, s.shop_outlet, "anna", "anna-secret-2")).status_code == 401
        await owner.post(f"/console/cashiers/{s.anna}/active", data={"csrf_token": token, "active": "1"})
        assert (await sign_in_cashier(till, s.shop_outlet, "anna", "anna-secret-2")).status_code == 303


async def test_the_administrator_sees_every_partner_and_adds_an_outlet(services: Services) -> None:
    s = await _setting(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        outlets = await http.get("/console/outlets")
        assert "Shop till" in outlets.text and "Cafe till" in outlets.text
        assert "<h2>Shop</h2>" in outlets.text and "<h2>Cafe</h2>" in outlets.text  # grouped by partner
        token = csrf_token(outlets.text)
        bad_zone = await http.post(
            "/console/outlets",
            data={"csrf_token": token, "partner": str(s.cafe_partner), "name": "Terrace", "timezone": "Mars/Base"},
        )
        assert bad_zone.status_code == 422 and 'id="timezone-error"' in bad_zone.text
        added = await http.post(
            "/console/outlets",
            data={"csrf_token": token, "partner": str(s.cafe_partner), "name": "Terrace", "timezone": "Asia/Omsk"},
        )
        assert added.status_code == 303
        page = await http.get("/console/outlets")
        assert "Terrace" in page.text and "Asia/Omsk" in page.text
        cashiers = await http.get("/console/cashiers")
        assert "anna" in cashiers.text and "boris" in cashiers.text
        assert (await http.get(f"/console/cashiers/{s.boris}")).status_code == 200
