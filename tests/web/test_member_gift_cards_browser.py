"""A member adds a gift card to /me in Chromium on a phone (360 × 740), over the demo network: the wrong PIN refused
beside the field, the right one lists the card with its balance, and the card removed again."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from coalition.demo import MEMBERS, OUTLETS
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import scroll_width_px

SHOP_KEY = OUTLETS[0].terminal_key


def test_a_member_adds_a_gift_card_on_a_phone_and_removes_it(live_server: LiveServer, browser: Browser) -> None:
    headers = {"Authorization": f"Bearer {SHOP_KEY}", "Idempotency-Key": "member-gift-card-browser"}
    sold = httpx.post(f"{live_server.url}/v1/gift-cards", json={"amount": "750.00", "pin": "2468"}, headers=headers)
    assert sold.status_code == 201, sold.text
    number = sold.json()["number"]
    irina = MEMBERS[0]
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/me/login")
        page.get_by_label("Card number").fill(irina.card)
        page.get_by_label("PIN", exact=True).fill(irina.pin or "")
        page.get_by_role("button", name="Sign in with the PIN").click()
        expect(page).to_have_url(f"{live_server.url}/me")

        page.get_by_label("Gift card number").fill(number)
        page.get_by_label("Its PIN, if it has one").fill("1111")
        page.get_by_role("button", name="Add the gift card").click()
        expect(page.get_by_role("alert")).to_contain_text("4 attempt(s) left")
        expect(page.get_by_label("Its PIN, if it has one")).to_have_attribute("aria-invalid", "true")

        page.get_by_label("Its PIN, if it has one").fill("2468")
        page.get_by_role("button", name="Add the gift card").click()
        expect(page.get_by_role("status")).to_have_text("The gift card is added.")
        row = page.locator("#gift-cards li")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(number)
        expect(row).to_contain_text("750.00")
        width = scroll_width_px(page)
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"

        page.get_by_role("button", name=f"Remove the gift card {number}").click()
        expect(page.get_by_role("status")).to_have_text("The gift card is removed from your page.")
        expect(page.locator("#gift-cards")).to_have_count(0)
    finally:
        context.close()
