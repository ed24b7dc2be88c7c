"""A small shop registers itself at /console/register and serves its first customer (both engines, and Chromium)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import auth, buy, client, enrol, new_key
from tests.web.conftest import LiveServer
from tests.web.support import csrf_token, sign_in_cashier


async def _networks(services: Services) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text("SELECT COUNT(*) FROM networks"))).scalar_one())


FORM = {
    "shop_name": "Pine Bakery",
    "network_code": "pine-bakery",
    "currency": "EUR",
    "timezone": "Europe/Riga",
    "owner_name": "Liga",
    "owner_login": "liga",
    "owner_password": "liga-secret-1",
    "cashier_login": "toms",
    "cashier_password": "toms-secret-1",
}


@pytest.mark.anyio
async def test_registration_is_closed_unless_the_operator_opens_it(settings: Settings) -> None:
    services = build_services(settings)
    try:
        async with client(services) as http:
            assert (await http.get("/console/register")).status_code == 404
            login = await http.get("/console/login")
            assert "Register a shop" not in login.text
            refused = await http.post("/console/register", data={**FORM, "csrf_token": csrf_token(login.text)})
            assert refused.status_code == 404
            assert await _networks(services) == 0
    finally:
        await services.close()


@pytest.mark.anyio
async def test_a_registered_shop_signs_in_and_its_cashier_serves_a_customer(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            page = await http.get("/console/register")
            done = await http.post("/console/register", data={**FORM, "csrf_token": csrf_token(page.text)})
            assert done.status_code == 201
            assert "Your shop is ready" in done.text
            assert (await http.get("/console")).status_code == 200  # the owner is signed in
            listing = await services.admin.listing(await services.admin.network("pine-bakery"))
            outlet_id = listing["outlets"][0]["id"]
            assert f'data-testid="outlet-number">{outlet_id}<' in done.text
            assert [c["login"] for c in listing["cashiers"]] == ["toms"]
            assert (await sign_in_cashier(http, outlet_id, "toms", "toms-secret-1")).status_code == 303
            assert done.headers["cache-control"] == "no-store"  # keys and the cashier's password, shown once
            admin_key = done.text.split('data-testid="admin-key">')[1].split("<")[0]
            key = done.text.split('data-testid="terminal-key">')[1].split("<")[0]
            assert admin_key.startswith("adm_") and key.startswith("term_") and admin_key != key
            assert "Administrator key (console API)" in done.text and "Terminal key (POS software)" in done.text
            assert "toms-secret-1" in done.text and "liga-secret-1" not in done.text
            assert f'href="/terminal/login?outlet={outlet_id}"' in done.text
            sheet_page = await http.get(f"/terminal/login?outlet={outlet_id}")
            assert f'value="{outlet_id}"' in sheet_page.text
            # the administrator key manages the network; it is not a till's key
            assert (await buy(http, admin_key, "PB-1", "1.00")).status_code == 401
            await enrol(http, key, "PB-1")
            bought = await buy(http, key, "PB-1", "200.00")
            assert bought.status_code == 201, bought.text
            assert bought.json()["points_earned"] == 6  # 3 % of 200.00 EUR, in points worth 1.00 each
    finally:
        await services.close()


@pytest.mark.anyio
async def test_bad_input_names_its_field_and_writes_nothing(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            for field, value, message in (
                ("network_code", "Pine Bakery!", "a code has 2–63 lowercase letters"),
                ("currency", "EURO", "is not an ISO 4217 currency code"),
                ("timezone", "Mars/Olympus", "is not an IANA time zone"),
                ("owner_password", "123", "a password has at least 6 characters"),
                ("cashier_login", "t", "a login has 2–100 letters"),
            ):
                page = await http.get("/console/register")
                refused = await http.post(
                    "/console/register", data={**FORM, field: value, "csrf_token": csrf_token(page.text)}
                )
                assert refused.status_code == 422, field
                assert message in refused.text
                assert f'id="{field}"' in refused.text and 'aria-invalid="true"' in refused.text
                assert "liga-secret-1" not in refused.text  # passwords are never sent back
            assert await _networks(services) == 0
            first = await http.get("/console/register")
            await http.post("/console/register", data={**FORM, "csrf_token": csrf_token(first.text)})
            second = await http.get("/console/register")
            taken = await http.post(
                "/console/register", data={**FORM, "shop_name": "Other", "csrf_token": csrf_token(second.text)}
            )
            assert taken.status_code == 409
            assert "the network code &#39;pine-bakery&#39; is taken" in taken.text
            assert await _networks(services) == 1
    finally:
        await services.close()


def test_a_shop_registers_in_the_browser_and_opens_its_terminal(
    sqlite_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "fresh.db"
    shutil.copyfile(sqlite_template, database)
    with LiveServer(f"sqlite:///{database}", open_registration=True) as server:
        page.goto(f"{server.url}/console/login")
        page.get_by_role("link", name="New here? Register a shop").click()
        for name, label in (
            ("shop_name", "Shop name"),
            ("network_code", "Network code"),
            ("owner_name", "Your name"),
            ("owner_login", "Login"),
            ("owner_password", "Password"),
            ("cashier_login", "Cashier login"),
            ("cashier_password", "Cashier password"),
        ):
            page.get_by_label(label, exact=True).fill(FORM[name])
        page.get_by_label("Currency").fill("EUR")
        page.get_by_label("Time zone").fill("Europe/Riga")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Your shop is ready")).to_be_visible()
        outlet_number = page.get_by_test_id("outlet-number").inner_text()
        page.get_by_role("link", name="/terminal").click()
        page.get_by_label("Outlet number").fill(outlet_number)
        page.get_by_label("Cashier login").fill("toms")
        page.get_by_label("Password").fill("toms-secret-1")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{server.url}/terminal")


@pytest.mark.anyio
async def test_a_shop_in_riga_chooses_latvia_and_its_customers_join_with_a_national_phone(settings: Settings) -> None:
    """Issue 18 review: the registration page's country (defaulting to the currency's, RU for RUB) sets how phones
    typed without their country code are read: a EUR shop in Riga picks LV, and "2000 0001" is +371 2000 0001."""
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            page = await http.get("/console/register")
            assert '<option value="RU" selected>' in page.text and '<option value="LV">' in page.text
            wrong = await http.post(
                "/console/register", data={**FORM, "country": "XX", "csrf_token": csrf_token(page.text)}
            )
            assert wrong.status_code == 422 and "XX&#39; is not a country code" in wrong.text
            assert 'aria-invalid="true"' in wrong.text.split('id="country"')[1].split(">")[0]
            assert await _networks(services) == 0
            done = await http.post(
                "/console/register", data={**FORM, "country": "lv", "csrf_token": csrf_token(page.text)}
            )
            assert done.status_code == 201, done.text
            key = done.text.split('data-testid="terminal-key">')[1].split("<")[0]
            enrolled = await http.post(
                "/v1/members",
                json={"kind": "personal", "profile": {"phone": "2000 0001", "consent_data_processing": True}},
                headers=auth(key, new_key()),
            )
            assert enrolled.status_code == 201, enrolled.text
            assert {"kind": "phone", "value": "+37120000001"} in enrolled.json()["identifiers"]
            russian = await http.get("/console/register", headers={"Accept-Language": "ru"})
            assert '<option value="LV">Латвия (LV)</option>' in russian.text
    finally:
        await services.close()
