"""Customers join by the counter's QR code (issue 18): off until the administrator turns it on; the phone form enrols
through the till's command, shows the new card large and signs the member in to their network's own page, whose
QR code and Code 128 barcode hold the card number the till identifies (both engines)."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from sqlalchemy import text

from coalition.adapters.http.app import create_app
from coalition.adapters.web import join as join_page
from coalition.application.rate_limits import Rate
from coalition.domain.code128 import decode_b
from coalition.domain.gift_cards import luhn_valid
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import auth, buy, client
from tests.web.support import csrf_token, sign_in_console
from tests.web.test_register import FORM

pytestmark = pytest.mark.anyio


async def _shop(http: httpx.AsyncClient) -> str:
    """A shop registered through its page (its owner signed in): answers its terminal key."""
    page = await http.get("/console/register")
    done = await http.post("/console/register", data={**FORM, "csrf_token": csrf_token(page.text)})
    assert done.status_code == 201, done.text
    return done.text.split('data-testid="terminal-key">')[1].split("<")[0]


async def _turn_on(http: httpx.AsyncClient, on: bool = True) -> httpx.Response:
    page = await http.get("/console/join")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.text)} | ({"enabled": "on"} if on else {})
    return await http.post("/console/join", data=data)


async def _join(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await http.get("/join/pine-bakery")
    assert page.status_code == 200, page.text
    attempt = re.search(r'name="attempt" value="([^"]+)"', page.text)
    assert attempt is not None
    data = {"name": "Anna Berzina", "phone": "+371 2000 0001", "consent_data_processing": "on"} | fields
    return await http.post(
        "/join/pine-bakery", data=data | {"csrf_token": csrf_token(page.text), "attempt": attempt.group(1)}
    )


def _card_number(html: str) -> str:
    found = re.search(r'id="card-number">([0-9]+)<', html)
    assert found is not None, html
    return found.group(1)


def _widths(html: str) -> str:
    found = re.search(r'data-widths="([0-9]+)"', html)
    assert found is not None
    return found.group(1)


async def _members(services: Services) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text("SELECT COUNT(*) FROM members"))).scalar_one())


async def test_a_customer_joins_by_the_form_and_the_till_finds_the_card(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            key = await _shop(http)
            assert (await http.get("/join/pine-bakery")).status_code == 404  # off until the administrator asks
            assert (await http.get("/join/no-such-shop")).status_code == 404
            settings_page = await http.get("/console/join")
            assert "http://testserver/join/pine-bakery" in settings_page.text and "<svg" in settings_page.text
            assert (await _turn_on(http)).status_code == 303
            qr = await http.get("/console/join/qr.svg")
            assert qr.headers["content-type"].startswith("image/svg+xml") and qr.text.startswith("<svg")
            async with client(services) as phone:
                joined = await _join(phone, consent_newsletters="on")
                assert joined.status_code == 201, joined.text
                assert joined.headers["cache-control"] == "no-store"
                number = _card_number(joined.text)
                assert len(number) == 12 and luhn_valid(number)
                assert decode_b(_widths(joined.text)) == number  # the barcode holds the number, its check right
                assert 'href="/me/n/pine-bakery"' in joined.text
                own_page = await phone.get("/me/n/pine-bakery")  # signed in by joining
                assert own_page.status_code == 200
                assert number in own_page.text and 'class="qr"' in own_page.text
                assert decode_b(_widths(own_page.text)) == number
                assert (await phone.get("/me")).status_code == 200
            found = await http.get(f"/v1/members/{number}", headers=auth(key))
            assert found.status_code == 200, found.text
            bought = await buy(http, key, number, "50.00")  # the till identifies by what the codes hold
            assert bought.status_code == 201, bought.text
            assert bought.json()["points_earned"] == 1  # 3 % of 50.00 EUR = 1.50, in whole points worth 1.00
    finally:
        await services.close()


async def test_a_phone_already_enrolled_is_refused_politely_and_bad_fields_are_named(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            await _shop(http)
            await _turn_on(http)
            async with client(services) as phone:
                assert (await _join(phone)).status_code == 201
            async with client(services) as other:
                again = await _join(other, name="Someone Else", phone="+37120000001")
                assert again.status_code == 409
                assert "this phone already has a card" in again.text
                assert "Anna" not in again.text and "card-number" not in again.text  # nothing of the other member
                for field, value, message in (
                    ("name", " ", "write your name"),
                    ("phone", "12", "is not a valid phone number"),
                    ("consent_data_processing", "", "consent to the processing of your data"),
                    ("name", "Anna\u202eanireB", "control characters"),  # a bidirectional override: shown reversed
                ):
                    refused = await _join(other, **{"phone": "+37120000009", field: value})
                    assert refused.status_code == 422, field
                    assert message in refused.text
                    assert f'name="{field}"' in refused.text.split("aria-invalid")[0].rsplit("<input", 1)[-1]
                    assert "\u202e" not in refused.text  # the form comes back without it
            assert await _members(services) == 1
            await _turn_on(http, on=False)
            assert (await http.get("/join/pine-bakery")).status_code == 404
    finally:
        await services.close()


async def test_sign_ups_from_one_address_are_rate_limited(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(join_page, "PER_ADDRESS", Rate(2, 3600))
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            await _shop(http)
            await _turn_on(http)
            for number in range(2):
                assert (await _join(http, phone=f"+3712000010{number}")).status_code == 201
            limited = await _join(http, phone="+37120000109")
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) > 0
            assert await _members(services) == 2
    finally:
        await services.close()


async def test_each_network_has_its_own_address_for_its_members(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            await _shop(http)
            page = await http.get("/console/register")
            other = {**FORM, "network_code": "oak-cafe", "shop_name": "Oak Cafe", "owner_login": "ivars"}
            assert (
                await http.post("/console/register", data=other | {"csrf_token": csrf_token(page.text)})
            ).status_code == 201
            async with client(services) as phone:
                generic = await phone.get("/me/login")
                assert 'id="network"' in generic.text  # two networks: the generic sign-in asks which
                own = await phone.get("/me/n/oak-cafe")
                assert own.status_code == 200
                assert 'id="network"' not in own.text and 'name="network" value="oak-cafe"' in own.text
                assert "Oak Cafe" in own.text
                assert (await phone.get("/me/n/nowhere")).status_code == 404
            assert (await sign_in_console(http, "pine-bakery", "liga", "liga-secret-1")).status_code == 303
    finally:
        await services.close()


async def _network_id(services: Services, code: str = "pine-bakery") -> int:
    async with services.engine.connect() as connection:
        found = await connection.execute(text("SELECT id FROM networks WHERE code = :code"), {"code": code})
        return int(found.scalar_one())


@pytest.mark.parametrize("typed", ["8 912 000 00 03", "9120000003", "89120000003"])
async def test_a_phone_in_its_national_form_joins_a_network_of_that_country(settings: Settings, typed: str) -> None:
    """Issue 18 review (f): the form reads a phone without its country code as a number of the network's country
    (a rouble shop: RU), as the till does, and the till finds the member by any of its forms."""
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            page = await http.get("/console/register")
            form = {**FORM, "currency": "RUB", "timezone": "Europe/Moscow", "csrf_token": csrf_token(page.text)}
            done = await http.post("/console/register", data=form)
            assert done.status_code == 201, done.text
            key = done.text.split('data-testid="terminal-key">')[1].split("<")[0]
            await _turn_on(http)
            async with client(services) as phone:
                joined = await _join(phone, phone=typed)
                assert joined.status_code == 201, joined.text
            found = await http.get("/v1/members/+79120000003", headers=auth(key))
            assert found.status_code == 200, found.text
            await services.member_page.set_pin(int(found.json()["member"]["id"]), "4826", "4826")
            async with client(services) as later:  # their page opens again with the phone as they type it, and a PIN
                page = await later.get("/me/login")
                data = {"network": "pine-bakery", "card": typed, "pin": "4826", "method": "pin"}
                signed = await later.post("/me/login", data=data | {"csrf_token": csrf_token(page.text)})
                assert signed.status_code == 303, signed.text
                assert (await later.get("/me")).status_code == 200
    finally:
        await services.close()


async def test_with_a_card_minimum_the_customer_is_registered_by_phone_and_the_till_issues_the_card(
    settings: Settings,
) -> None:
    """Issue 18 review (c): while a card is issued only with a first purchase of at least 400.00, /join registers
    the customer by their phone (no card number), says the till issues the card with such a purchase, and their page
    opens; the console's join page says so too."""
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            key = await _shop(http)
            await _turn_on(http)
            await services.limits.set_card_minimum(await _network_id(services), "EUR", "400.00")
            console = await http.get("/console/join")
            assert 'id="join-card-minimum"' in console.text and "€400.00" in console.text.replace("\xa0", "")
            async with client(services) as phone:
                form = await phone.get("/join/pine-bakery")
                assert 'id="card-minimum"' in form.text and "€400.00" in form.text.replace("\xa0", "")
                joined = await _join(phone)
                assert joined.status_code == 201, joined.text
                assert 'id="registered-by-phone"' in joined.text and 'id="card-number"' not in joined.text
                assert "first purchase of at least" in joined.text and "€400.00" in joined.text.replace("\xa0", "")
                own_page = await phone.get("/me/n/pine-bakery")
                assert own_page.status_code == 200 and "Anna Berzina" in own_page.text
            found = await http.get("/v1/members/+37120000001", headers=auth(key))
            assert found.status_code == 200, found.text
            assert found.json()["cards"] == []
            assert await _members(services) == 1
    finally:
        await services.close()


async def test_a_browser_gets_an_html_error_page_from_join_and_a_script_still_gets_problem_json(
    settings: Settings,
) -> None:
    """Issue 18 review (h): /join's refusals (an unknown code, sign-up off, a post to it) are pages for a browser;
    a page's own fetch and the API keep RFC 9457 problem+json."""
    services = build_services(dataclasses.replace(settings, open_registration=True))
    try:
        async with client(services) as http:
            await _shop(http)  # sign-up is off until the administrator turns it on
            browser = {"Accept": "text/html"}
            for method, path in (("GET", "/join/nope"), ("GET", "/join/pine-bakery"), ("POST", "/join/pine-bakery")):
                page = await http.request(
                    method, path, headers=browser, data={"name": "A"} if method == "POST" else None
                )
                assert page.status_code == 404, (method, path)
                assert page.headers["content-type"].startswith("text/html"), (method, path, page.text)
                assert "<!doctype html>" in page.text.lower()
            fetched = await http.get("/join/nope", headers={"X-Requested-With": "fetch"})
            assert fetched.status_code == 404 and fetched.headers["content-type"] == "application/problem+json"
            api = await http.get("/v1/members/1", headers=browser)
            assert api.headers["content-type"] == "application/problem+json"
    finally:
        await services.close()


async def test_the_counters_qr_code_and_the_start_sheet_use_the_address_served_unless_one_was_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 review (d): without COALITION_PUBLIC_URL the QR code and /console/join show the address the request
    came to (the start sheet's), not the default http://127.0.0.1:8000; a configured address wins on both."""
    monkeypatch.delenv("COALITION_PUBLIC_URL", raising=False)
    assert Settings.from_env().public_url_set is False
    monkeypatch.setenv("COALITION_PUBLIC_URL", "https://loyalty.example")
    assert (Settings.from_env().public_url, Settings.from_env().public_url_set) == ("https://loyalty.example", True)
    for configured, expected, code in (
        (False, "http://shop.local:8123", "pine-one"),
        (True, "https://loyalty.example", "pine-two"),
    ):
        chosen = dataclasses.replace(
            settings, open_registration=True, public_url="https://loyalty.example", public_url_set=configured
        )
        if not configured:
            chosen = dataclasses.replace(chosen, public_url="http://127.0.0.1:8000")
        services = build_services(chosen)
        try:
            transport = httpx.ASGITransport(app=create_app(services=services))
            async with httpx.AsyncClient(transport=transport, base_url="http://shop.local:8123") as http:
                page = await http.get("/console/register")
                form = {**FORM, "network_code": code, "csrf_token": csrf_token(page.text)}
                done = await http.post("/console/register", data=form)
                assert f"{expected}/terminal/login?outlet=" in done.text, done.text
                shown = await http.get("/console/join")
                assert f'id="join-url">{expected}/join/{code}<' in shown.text
                assert "127.0.0.1:8000" not in shown.text
                qr = await http.get("/console/join/qr.svg")
                assert f"{expected}/join/{code}" in qr.text
        finally:
            await services.close()
