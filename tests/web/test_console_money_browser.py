"""Money on cards in Chromium over the demo network (issue 14): Irina tops 100.00 up at the ticket office and pays
30.00 of a 50.00 check from it at the café. The administrator reads her wallet on her console page, gives her
20.00 of credit, and reads the network's liability and the outlets' top-ups and wallet payments on the money page
(phone and desktop); Irina reads her wallet on /me (phone). Each page passes the accessibility checks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from coalition.adapters.web import formatting
from coalition.demo import MEMBERS, OUTLETS
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import styled_evaluate
from tests.web.test_accessibility import CHECKS
from tests.web.test_console_members_browser import DESKTOP, sign_in_as_administrator

IRINA = MEMBERS[0]
PARK_KEY, CAFE_KEY = OUTLETS[2].terminal_key, OUTLETS[1].terminal_key


def rub(minor: int) -> str:
    return formatting.money(minor, "RUB", "en")


def _top_up_and_pay(server: LiveServer) -> None:
    topped = httpx.post(
        f"{server.url}/v1/wallets/top-ups",
        json={"customer": IRINA.card, "amount": "100.00"},
        headers={"Authorization": f"Bearer {PARK_KEY}", "Idempotency-Key": "park-top-up"},
    )
    assert topped.status_code == 201, topped.text
    body = {
        "customer": IRINA.card,
        "amount": "50.00",
        "receipt": "wallet-1",
        "tenders": [{"kind": "wallet", "amount": "30.00"}],
    }
    paid = httpx.post(
        f"{server.url}/v1/purchases",
        json=body,
        headers={"Authorization": f"Bearer {CAFE_KEY}", "Idempotency-Key": "w1"},
    )
    assert paid.status_code == 201, paid.text


@pytest.fixture(params=["phone", "desktop"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE if request.param == "phone" else DESKTOP, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_administrator_reads_a_wallet_sets_credit_and_reads_the_money_page(
    live_server: LiveServer, screen: Page
) -> None:
    _top_up_and_pay(live_server)
    sign_in_as_administrator(screen, live_server, "/console/members")
    screen.get_by_label("Card number, phone, scanned code, NFC UID or name").fill(IRINA.card)
    screen.get_by_role("button", name="Find").click()
    wallet = screen.get_by_role("region", name="Wallet")
    expect(wallet.locator("#wallet-balance")).to_have_text(rub(7000))
    history = wallet.get_by_role("table", name="Wallet history, newest first")
    expect(history.get_by_role("row")).to_have_count(3)  # the header, the payment, the top-up
    expect(history.get_by_role("row").nth(1)).to_contain_text("payment · Café counter")
    expect(history.get_by_role("row").nth(2)).to_contain_text("top-up · Ticket office")
    assert styled_evaluate(screen, CHECKS) == []

    wallet.get_by_label("Credit limit (0: none)").fill("20.00")
    wallet.get_by_role("button", name="Save the limits").click()
    expect(screen.get_by_role("status")).to_have_text("The wallet's limits were saved.")
    expect(wallet.locator("#wallet-credit")).to_have_text(rub(2000))
    expect(wallet.locator("#wallet-available")).to_have_text(rub(9000))
    wallet.get_by_label("Credit limit (0: none)").fill("-5")
    wallet.get_by_role("button", name="Save the limits").click()
    expect(screen.get_by_role("alert")).to_be_visible()
    expect(wallet.get_by_label("Credit limit (0: none)")).to_have_attribute("aria-invalid", "true")

    screen.get_by_role("navigation", name="Console sections").get_by_role("link", name="Money on cards").click()
    expect(screen.get_by_role("heading", name="Money on cards", level=1)).to_be_visible()
    liability = screen.get_by_role("region", name="Wallet liability")
    expect(liability.get_by_role("row").nth(1)).to_contain_text(rub(7000))
    expect(liability.get_by_role("row").nth(1)).to_contain_text(rub(2000))  # the credit extended
    outlets = screen.locator("#money-per-outlet")
    expect(outlets.get_by_role("row", name="Ticket office")).to_contain_text(f"1 · {rub(10000)}")
    expect(outlets.get_by_role("row", name="Café counter")).to_contain_text(rub(3000))
    assert styled_evaluate(screen, CHECKS) == []


def test_the_member_reads_their_wallet_on_their_page(live_server: LiveServer, browser: Browser) -> None:
    _top_up_and_pay(live_server)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/me/login")
        page.get_by_label("Card number").fill(IRINA.card)
        page.get_by_label("PIN").fill(IRINA.pin or "")
        page.get_by_role("button", name="Sign in with the PIN").click()
        expect(page).to_have_url(f"{live_server.url}/me")
        wallet = page.get_by_role("region", name="Money on my card")
        expect(wallet.locator("#wallet-balance")).to_have_text(rub(7000))
        expect(wallet.locator("#wallet-available")).to_have_text(f"You can pay {rub(7000)} now")
        rows = wallet.locator("#wallet-history").get_by_role("row")
        expect(rows).to_have_count(3)
        expect(rows.nth(1)).to_contain_text("Payment, Café counter")
        expect(rows.nth(1)).to_contain_text(rub(-3000))
        expect(rows.nth(2)).to_contain_text("Top-up, Ticket office")
        assert styled_evaluate(page, CHECKS) == []
        page.goto(f"{live_server.url}/me?lang=ru")
        expect(page.get_by_role("region", name="Деньги на моей карте")).to_be_visible()
    finally:
        context.close()
