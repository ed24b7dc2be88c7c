"""The wallet at the terminal in Chromium on a 360 × 740 phone (issue 14, point 5), over the demo network: Anna at
the corner shop tops Irina's card (1000-0001, 105 points) up with 1,500.50, then sells her 2,000.00 paid 500.00 by the
wallet and 1,500.00 at the till, and refunds it: 500.00 back into the wallet, 1,500.00 handed back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import box_px, styled_evaluate
from tests.web.test_terminal_browser import ANNA, facts, sign_in

A11Y_CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")  # labels, names, one h1, contrast


def _rows(live_server: LiveServer, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        return [tuple(row) for row in connection.execute(sql).fetchall()]


def _top_ups(live_server: LiveServer) -> int:
    return int(_rows(live_server, "SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'top_up'")[0][0])


def _within_the_phone(page: Page, name: str) -> None:
    box = box_px(page.get_by_role("button", name=name))
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44


def _find(page: Page, card: str) -> None:
    page.get_by_label("Card number or phone").fill(card)
    page.get_by_role("button", name="Find the customer").click()


def test_top_up_then_pay_part_by_wallet_and_refund_it(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _find(page, "1000-0001")
    expect(page.locator("#member-wallet")).to_contain_text("can pay RUB\xa00.00 now")
    assert styled_evaluate(page, A11Y_CHECKS) == []

    # the top-up: folded on the customer's screen; the amount typed as people type it, then a confirm
    page.get_by_text("Top up the card").click()
    page.get_by_label("Amount to put on the card").fill("1 500,50")
    page.get_by_role("button", name="Continue to the top-up").click()
    expect(page.locator("#top-up-take")).to_have_text("Take RUB\xa01,500.50")
    assert facts(page)["Wallet after the top-up"] == "RUB\xa01,500.50"
    assert styled_evaluate(page, A11Y_CHECKS) == []
    _within_the_phone(page, "Confirm the top-up")
    assert _top_ups(live_server) == 0  # nothing written before the confirm
    page.get_by_role("button", name="Confirm the top-up").dblclick()  # a double tap tops up once
    expect(page.get_by_role("heading", name="Top-up saved")).to_be_visible()
    assert facts(page) == {
        "Put on the card": "RUB\xa01,500.50",
        "New wallet balance": "RUB\xa01,500.50",
        "Wallet can pay": "RUB\xa01,500.50",
    }
    assert styled_evaluate(page, A11Y_CHECKS) == []
    assert _top_ups(live_server) == 1
    page.reload()  # the receipt read again: the same, nothing more written
    expect(page.get_by_role("heading", name="Top-up saved")).to_be_visible()
    assert _top_ups(live_server) == 1

    # the sale: 2,000.00 without points, 500.00 of it from the wallet
    page.get_by_role("link", name="Next customer").click()
    _find(page, "1000-0001")
    expect(page.locator("#wallet-balance")).to_have_text("RUB\xa01,500.50")
    page.get_by_label("Amount of the check").fill("2000")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="No points").click()
    expect(page.locator("#amount-due")).to_have_text("RUB\xa02,000.00")
    expect(page.get_by_role("button", name="Pay RUB\xa01,500.50 from the wallet")).to_be_visible()
    assert styled_evaluate(page, A11Y_CHECKS) == []
    page.get_by_label("Or an amount from the wallet").fill("1600")  # more than the wallet holds: refused, nothing
    page.get_by_role("button", name="Pay this amount from the wallet").click()
    expect(page.locator("#wallet-error")).to_have_text("The wallet can pay at most RUB\xa01,500.50 now.")
    expect(page.locator("#amount-due")).to_have_text("RUB\xa02,000.00")
    expect(page.get_by_label("Or an amount from the wallet")).to_have_value("1600")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    page.get_by_label("Or an amount from the wallet").fill("500")
    page.get_by_role("button", name="Pay this amount from the wallet").click()
    expect(page.locator("#wallet-notice")).to_have_text("The wallet pays RUB\xa0500.00.")
    expect(page.locator("#amount-due")).to_have_text("RUB\xa01,500.00")  # what to collect at the till
    expect(page.locator("#wallet-part")).to_have_text("RUB\xa0500.00")
    expect(page.locator("#to-collect")).to_have_text("RUB\xa01,500.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    _within_the_phone(page, "Confirm the purchase")
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.get_by_role("heading", name="Purchase saved")).to_be_visible()
    assert facts(page) == {
        "Check": "RUB\xa02,000.00",
        "Points spent": "0 = RUB\xa00.00",
        "Paid": "RUB\xa02,000.00",
        "From the wallet": "RUB\xa0500.00",
        "Collected at the till": "RUB\xa01,500.00",
        "Points earned": "60",  # 3 % of 2,000.00: the wallet's money earns points too
        "New balance": "165 = RUB\xa0165.00",
    }
    assert styled_evaluate(page, A11Y_CHECKS) == []
    assert _rows(live_server, "SELECT balance_minor FROM wallets") == [(1000_50,)]

    # the refund of it all: the wallet's part back into the wallet, the rest handed back at the till
    page.get_by_role("link", name="Today").click()
    page.get_by_role("link", name="Refund the purchase").first.click()
    page.get_by_role("button", name="Refund all: RUB\xa02,000.00").click()
    expect(page.get_by_role("heading", name="Refund saved")).to_be_visible()
    expect(page.locator("#money-back")).to_have_text("Give back RUB\xa01,500.00 at the till")
    expect(page.locator("#to-wallet")).to_have_text("RUB\xa0500.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    assert _rows(live_server, "SELECT balance_minor FROM wallets") == [(1500_50,)]


@pytest.mark.parametrize("locale", ["en-GB", "ru-RU"])
def test_every_wallet_screen_passes_the_accessibility_checks(
    live_server: LiveServer, browser: Browser, locale: str
) -> None:
    """Labels, names, one h1, AA contrast and nothing wider than the phone (tests/web/a11y.js) on each wallet screen,
    refusals beside their fields included, in English and in Russian (longer words)."""
    context = browser.new_context(viewport=PHONE, locale=locale)
    page = context.new_page()
    screens: dict[str, list[str]] = {}

    def check(name: str) -> None:
        screens[name] = styled_evaluate(page, A11Y_CHECKS)

    try:
        page.goto(f"{live_server.url}/terminal/login")
        page.fill("#outlet", "1")
        page.fill("#login", "anna")
        page.fill("#password", ANNA.cashier_password)
        page.locator("main form button[type=submit]").click()
        page.fill("#customer", "1000-0001")
        page.locator("#identify button[type=submit]").click()
        page.locator("#top-up summary").click()
        check("member")
        page.locator("#top-up-amount button[type=submit]").click()  # empty: refused beside the field
        check("top-up refused")
        page.fill("#top_up", "1500.50")
        page.locator("#top-up-amount button[type=submit]").click()
        check("top-up")
        page.locator("#top-up-confirm button").click()
        page.wait_for_selector(".receipt")
        check("topped up")
        page.goto(f"{live_server.url}/terminal")
        page.fill("#customer", "1000-0001")
        page.locator("#identify button[type=submit]").click()
        page.fill("#amount", "2000")
        page.locator("#sale-amount button[type=submit]").click()
        page.locator("main form button[name=points][value='0']").click()
        check("confirm with the wallet's choice")
        page.fill("#wallet_amount", "1600")
        page.locator("#wallet-amount-form button[type=submit]").click()
        page.wait_for_selector("#wallet-error")
        check("wallet refused")
        page.fill("#wallet_amount", "500")
        page.locator("#wallet-amount-form button[type=submit]").click()
        page.wait_for_selector("#wallet-part")
        check("confirm paid by wallet")
        page.locator("#confirm button").click()
        page.wait_for_selector(".receipt")
        check("receipt")
        page.goto(f"{live_server.url}/terminal/today")
        page.locator("a.refund").first.click()
        page.locator("main form button.primary").click()
        page.wait_for_selector("#to-wallet")
        check("refunded")
    finally:
        context.close()
    assert len(screens) == 9
    assert {name: problems for name, problems in screens.items() if problems} == {}
