"""Members and cards in Chromium, on a phone (360 × 740) and on a desktop (1280 × 800), over the demo network:
find a member by phone, read their statement, block the card (refused at the till), replace a lost card."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, OUTLETS
from tests.web.conftest import PHONE, LiveServer

DESKTOP = {"width": 1280, "height": 800}
SHOP_KEY = OUTLETS[0].terminal_key


@pytest.fixture(params=["phone", "desktop"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A page of its own browser context, phone-sized or desktop-sized, in English."""
    context = browser.new_context(viewport=PHONE if request.param == "phone" else DESKTOP, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in_as_administrator(page: Page, server: LiveServer, target: str) -> None:
    page.goto(f"{server.url}{target}")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill(DEMO_ADMIN_LOGIN)
    page.get_by_label("Password").fill(DEMO_ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}{target}")


def purchase(server: LiveServer, card: str, amount: str, receipt: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {SHOP_KEY}", "Idempotency-Key": receipt}
    body = {"customer": card, "amount": amount, "receipt": receipt}
    return httpx.post(f"{server.url}/v1/purchases", json=body, headers=headers)


def test_find_a_member_by_phone_read_the_statement_and_block_the_card(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/members")
    screen.get_by_label("Card number, phone, scanned code, NFC UID or name").fill("+7 912 000 00 01")
    screen.get_by_role("button", name="Find").click()
    expect(screen.get_by_role("heading", name="Irina Petrova")).to_be_visible()
    expect(screen.locator("#points-balance")).to_have_text("105")  # 3 % of 1,200 and of 2,300
    statement = screen.get_by_role("region", name="Points statement")
    expect(statement.get_by_role("row")).to_have_count(3)  # the header and two purchases
    expect(statement.get_by_role("row").nth(1)).to_contain_text("Corner Shop till")
    expect(statement.get_by_role("row").nth(1)).to_contain_text("105")
    screen.get_by_role("button", name="Block 10000001").click()
    expect(screen.get_by_role("status")).to_have_text(
        "The card was blocked: it cannot earn or spend until it is unblocked."
    )
    cards = screen.get_by_role("region", name="Cards")
    expect(cards.get_by_role("row", name="10000001")).to_contain_text("Blocked")
    refused = purchase(live_server, "1000-0001", "500.00", "blocked-card-try")
    assert refused.status_code == 409 and "it is blocked" in refused.json()["detail"]
    screen.get_by_role("button", name="Unblock 10000001").click()
    expect(cards.get_by_role("row", name="10000001")).to_contain_text("Active")
    assert purchase(live_server, "1000-0001", "500.00", "unblocked-card-try").status_code == 201


def test_replace_a_lost_card_and_the_balance_is_on_the_new_card(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/members")
    screen.get_by_label("Card number, phone, scanned code, NFC UID or name").fill("1000-0002")
    screen.get_by_role("button", name="Find").click()
    expect(screen.get_by_role("heading", name="Oleg Smirnov")).to_be_visible()
    balance = screen.locator("#points-balance").inner_text()
    screen.get_by_role("button", name="Report lost 10000002").click()
    expect(screen.get_by_role("status")).to_contain_text("reported lost")
    screen.get_by_text("Replace with a new card").click()
    screen.get_by_label("New card number for 10000002").fill("2000-0002")
    screen.get_by_role("button", name="Replace the card").click()
    expect(screen.get_by_role("status")).to_have_text(
        "The card was replaced: the balance and the history are on the new card."
    )
    expect(screen.locator("#points-balance")).to_have_text(balance)
    expect(screen.get_by_role("region", name="Cards").get_by_role("row", name="20000002")).to_contain_text("Active")
    found = httpx.get(f"{live_server.url}/v1/members/2000-0002", headers={"Authorization": f"Bearer {SHOP_KEY}"})
    assert found.status_code == 200
    assert found.json()["points_balance"] == int(re.sub(r"\D", "", balance)) == 710  # 3 %, 3 %, then 5 %
    assert purchase(live_server, "1000-0002", "100.00", "lost-card-try").status_code == 409


def test_a_search_that_finds_nobody_says_so(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/members")
    screen.get_by_label("Card number, phone, scanned code, NFC UID or name").fill("Nobody Here")
    screen.get_by_role("button", name="Find").click()
    expect(screen.get_by_role("status")).to_have_text("No member of this network matches “Nobody Here”.")
    screen.get_by_label("Card number, phone, scanned code, NFC UID or name").fill("ivanova")
    screen.get_by_role("button", name="Find").click()
    expect(screen.get_by_role("heading", name="Maria Ivanova")).to_be_visible()
