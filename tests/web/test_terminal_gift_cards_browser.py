"""Gift cards at the terminal in Chromium on a 360 × 740 phone (issue 14, point 5), over the demo network: Anna at
the corner shop sells a card of 1,000.00 with the PIN 4321 typed at the confirm, asks its balance, then sells Irina
(1000-0001) 1,200.00 paid 1,000.00 by the card and 200.00 at the till; a wrong PIN is refused, nothing written."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import box_px, styled_evaluate
from tests.web.test_terminal_browser import facts, sign_in
from tests.web.test_terminal_wallet_browser import A11Y_CHECKS


def _count(live_server: LiveServer, sql: str) -> int:
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute(sql).fetchone()[0])


def _within_the_phone(page: Page, name: str) -> None:
    box = box_px(page.get_by_role("button", name=name))
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44


def test_sell_a_card_ask_its_balance_and_pay_by_it(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    page.get_by_role("link", name="Gift cards").click()
    expect(page.get_by_role("heading", name="Sell a gift card")).to_be_visible()
    assert styled_evaluate(page, A11Y_CHECKS) == []
    cards = "SELECT COUNT(*) FROM gift_cards"
    before = _count(live_server, cards)

    page.get_by_label("Amount on the card").fill("1 000")
    page.get_by_role("button", name="Next: take the money").click()
    expect(page.locator("#gift-card-take")).to_have_text("Take RUB\xa01,000.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    _within_the_phone(page, "Confirm the sale")
    assert _count(live_server, cards) == before  # nothing written before the confirm
    page.get_by_label("PIN (optional)").fill("4321")
    page.get_by_role("button", name="Confirm the sale").dblclick()  # a double tap sells once
    expect(page.get_by_role("heading", name="Gift card sold")).to_be_visible()
    shown = facts(page)
    number = shown["Card number"].replace(" ", "")  # shown in groups of four
    assert len(number) == 19 and shown["On the card"] == "RUB\xa01,000.00" and shown["PIN"] == "asked at every use"
    assert styled_evaluate(page, A11Y_CHECKS) == []
    assert _count(live_server, cards) == before + 1
    page.reload()
    expect(page.get_by_role("heading", name="Gift card sold")).to_be_visible()
    assert _count(live_server, cards) == before + 1

    # the balance, with a wrong PIN first
    page.get_by_role("link", name="Next gift card").click()
    page.get_by_label("Gift card number").fill(number)
    page.get_by_label("PIN (if the card has one)").fill("1111")
    page.get_by_role("button", name="Show the balance").click()
    expect(page.locator("#pin-error")).to_contain_text("4 attempt(s) left")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    page.get_by_label("PIN (if the card has one)").fill("4321")
    page.get_by_role("button", name="Show the balance").click()
    expect(page.locator("#gift-card-balance")).to_have_text("RUB\xa01,000.00")
    expect(page.locator("#gift-card-status")).to_have_text("can pay")
    assert styled_evaluate(page, A11Y_CHECKS) == []

    # a sale of 1,200.00 without points, 1,000.00 of it from the card
    page.get_by_role("link", name="New sale").click()
    page.get_by_label("Card number or phone").fill("1000-0001")
    page.get_by_role("button", name="Find the customer").click()
    page.get_by_label("Amount of the check").fill("1200")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name=re.compile(r"^(No points|Continue without points)$")).click()
    expect(page.locator("#amount-due")).to_have_text("RUB\xa01,200.00")
    pay = page.locator("#gift-card-pay")
    pay.get_by_label("Gift card number").fill(number)
    pay.get_by_label("PIN (if the card has one)").fill("9999")
    page.get_by_role("button", name="Pay all it can from the gift card").click()
    expect(page.locator("#gift_card-error")).to_contain_text("wrong PIN")
    expect(page.locator("#amount-due")).to_have_text("RUB\xa01,200.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    pay.get_by_label("Gift card number").fill(number)
    pay.get_by_label("PIN (if the card has one)").fill("4321")
    page.get_by_role("button", name="Pay all it can from the gift card").click()
    expect(page.locator("#gift-card-part")).to_have_text("RUB\xa01,000.00")
    expect(page.locator("#to-collect")).to_have_text("RUB\xa0200.00")
    expect(page.locator("#amount-due")).to_have_text("RUB\xa0200.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    _within_the_phone(page, "Confirm the purchase")
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.locator("#receipt-tender-1")).to_have_text("RUB\xa01,000.00")
    expect(page.locator("#receipt-to-collect")).to_have_text("RUB\xa0200.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    spent = f"SELECT COUNT(*) FROM gift_cards WHERE number = '{number}' AND balance_minor = 0 AND status = 'spent'"
    assert _count(live_server, spent) == 1
