"""The network's country in the console (issue 18, point 4), in Chromium over the demo network, on a phone and on a
desktop: the terminals page's Country select shows the rouble network's Russia, the administrator picks Germany,
and a phone typed in the German national form is read as a German number at the till from then on; a code that is
not a country is refused beside the field."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import OUTLETS
from tests.web.conftest import LiveServer
from tests.web.test_console_members_browser import screen, sign_in_as_administrator

__all__ = ["screen"]  # the phone and desktop pages fixture
TILL = {"Authorization": f"Bearer {OUTLETS[0].terminal_key}"}


def _member(server: LiveServer, identifier: str) -> httpx.Response:
    return httpx.get(f"{server.url}/v1/members/{identifier}", headers=TILL)


def _enrol(server: LiveServer, card: str, phone: str) -> httpx.Response:
    body = {"kind": "personal", "card_number": card, "profile": {"phone": phone, "consent_data_processing": True}}
    return httpx.post(f"{server.url}/v1/members", json=body, headers=TILL | {"Idempotency-Key": card})


def test_the_administrator_sets_the_country_and_the_tills_read_phones_by_it(
    live_server: LiveServer, screen: Page
) -> None:
    assert _member(live_server, "8 912 000 00 01").json()["member"]["name"] == "Irina Petrova"  # read as Russian
    sign_in_as_administrator(screen, live_server, "/console/terminals")
    country = screen.get_by_label("Country of the phones")
    expect(country).to_have_value("RU")
    country.select_option(label="Germany (DE)")
    screen.get_by_role("button", name="Save the country").click()
    expect(screen.get_by_role("status")).to_have_text(
        "The country was saved: phones typed without their country code are read as its numbers now."
    )
    expect(screen.get_by_label("Country of the phones")).to_have_value("DE")

    enrolled = _enrol(live_server, "4700-0001", "01512 3456789")  # a German mobile in its national form
    assert enrolled.status_code == 201, enrolled.text
    assert {"kind": "phone", "value": "+4915123456789"} in enrolled.json()["identifiers"]
    assert _member(live_server, "+49 1512 3456789").status_code == 200
    assert _member(live_server, "8 912 000 00 01").status_code == 404  # a Munich number now, no member's
    assert _member(live_server, "+7 912 000 00 01").json()["member"]["name"] == "Irina Petrova"

    # a code the select does not offer (a form sent by hand) is refused beside the field, nothing changed
    screen.eval_on_selector("#network-country", "s => { s.add(new Option('XX', 'XX')); s.value = 'XX'; }")
    screen.get_by_role("button", name="Save the country").click()
    expect(screen.get_by_role("alert")).to_contain_text("'XX' is not a country code this server reads phones of")
    expect(screen.get_by_label("Country of the phones")).to_have_attribute("aria-invalid", "true")
    screen.goto(f"{live_server.url}/console/terminals")
    expect(screen.get_by_label("Country of the phones")).to_have_value("DE")
