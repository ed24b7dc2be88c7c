"""Gifts and coupons at the terminal in Chromium on a 360 × 740 phone (issue 14, point 6): the demo's corner shop
publishes rules that give a free coffee for a check from 1,000.00 and 10 % off with a spring coupon; the cashier hands
the coffee over from the customer's screen and takes a coupon on the purchase screen."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import DEMO_ADMIN_KEY, OUTLETS
from tests.web.conftest import PHONE, RULES_API_TIMEOUT_S, LiveServer
from tests.web.layout import box_px, styled_evaluate
from tests.web.test_terminal_browser import facts, sign_in

SHOP = OUTLETS[0]
A11Y_CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")  # labels, names, one h1, contrast
RULES = {
    "rules": [
        {
            "code": "coffee",
            "name": "Coffee for a big check",
            "condition": "basket.total_minor >= 100000",
            "effects": [{"grant_gift": {"gift_type": "free-coffee", "valid_days": 7}}],
        },
        {
            "code": "spring",
            "name": "Spring coupon",
            "condition": '"spring" in coupon_campaigns',
            "effects": [{"discount": {"percent": "10"}}],
        },
        {"code": "points", "name": "Points", "effects": [{"accrue_percent": {"percent": "3"}}]},
    ]
}


def _admin(live_server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {DEMO_ADMIN_KEY}"},
        timeout=RULES_API_TIMEOUT_S,
    )


def _publish_with_gifts(live_server: LiveServer, gifts: int) -> None:
    """The gift type and the rules; `gifts` purchases of 1,000.00 by Irina (1000-0001) at the corner shop's till."""
    with _admin(live_server) as http:
        created = http.post(
            "/v1/admin/gift-types",
            json={
                "code": "free-coffee",
                "name": "A free coffee",
                "price": "150.00",
                "valid_days": 7,
                "partners": [SHOP.partner],
            },
        )
        assert created.status_code == 201, created.text
        saved = http.put("/v1/admin/rule-sets/draft", json=RULES)
        assert saved.status_code == 200 and saved.json()["errors"] == 0, saved.text
        assert http.post("/v1/admin/rule-sets/draft/publish").status_code == 200
    for _ in range(gifts):
        bought = httpx.post(
            f"{live_server.url}/v1/purchases",
            json={"customer": "1000-0001", "amount": "1000.00", "receipt": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {SHOP.terminal_key}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert bought.status_code == 201 and len(bought.json()["gifts_granted"]) == 1, bought.text


def _matrix(live_server: LiveServer, entries: list[dict[str, object]]) -> None:
    with _admin(live_server) as http:
        assert http.put("/v1/admin/permissions", json={"entries": entries}).status_code == 200


def _gift_states(live_server: LiveServer) -> list[str]:
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        return [row[0] for row in connection.execute("SELECT state FROM gifts ORDER BY granted_at, id")]


def _find(page: Page, card: str) -> None:
    page.get_by_label("Card number or phone").fill(card)
    page.get_by_role("button", name="Find the customer").click()


def test_a_gift_is_handed_over_from_the_customers_screen(live_server: LiveServer, page: Page) -> None:
    _publish_with_gifts(live_server, gifts=2)
    sign_in(page, live_server)
    _find(page, "1000-0001")
    expect(page.get_by_role("heading", name="Gifts to hand over")).to_be_visible()
    buttons = page.get_by_role("button", name="Hand over: A free coffee")
    expect(buttons).to_have_count(2)
    box = box_px(buttons.first)
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44
    assert styled_evaluate(page, A11Y_CHECKS) == []

    # the matrix lets only the café hand coffees over: refused, named, nothing handed over, the list kept
    _matrix(live_server, [{"outlet": "Café counter", "counter": "gift:free-coffee", "operations": ["honour"]}])
    buttons.first.click()
    expect(page.locator("#gift-error")).to_contain_text("may not honour gift:free-coffee")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    expect(page.get_by_role("button", name="Hand over: A free coffee")).to_have_count(2)
    assert _gift_states(live_server) == ["granted", "granted"]

    _matrix(live_server, [])  # every outlet may do everything again
    page.get_by_role("button", name="Hand over: A free coffee").first.click()
    expect(page.locator("#gift-notice")).to_have_text("Handed over: A free coffee.")
    expect(page.get_by_role("button", name="Hand over: A free coffee")).to_have_count(1)
    assert _gift_states(live_server) == ["honoured", "granted"]
    page.get_by_role("button", name="Hand over: A free coffee").dblclick()  # a double tap hands it over once
    expect(page.get_by_text("No gifts left to hand over.")).to_be_visible()
    assert _gift_states(live_server) == ["honoured", "honoured"]
    # the sale goes on from the same screen
    expect(page.get_by_label("Amount of the check")).to_be_visible()


def test_a_coupon_is_quoted_with_its_effect_and_recorded_on_the_receipt(live_server: LiveServer, page: Page) -> None:
    _publish_with_gifts(live_server, gifts=0)
    with _admin(live_server) as http:
        until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        registered = http.post(
            "/v1/admin/coupons", json={"campaign": "spring", "codes": ["SPRING10"], "valid_until": until}
        )
        assert registered.status_code == 201, registered.text
    sign_in(page, live_server)
    _find(page, "1000-0001")
    page.get_by_label("Amount of the check").fill("800")
    page.get_by_label("Coupon code").fill("nope-1")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#coupons-error")).to_have_text("there is no coupon 'NOPE-1' in this network")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    expect(page.get_by_label("Coupon code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Amount of the check")).to_have_value("800")

    page.get_by_label("Coupon code").fill("spring10")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#coupon-effect")).to_contain_text("SPRING10")
    expect(page.locator("#coupon-effect")).to_contain_text("discount RUB\xa080.00")
    expect(page.locator("#coupon-effect")).to_contain_text("3 fewer points to earn")  # 3 % of 800.00 − 720.00
    expect(page.locator("#quote-discount")).to_have_text("RUB\xa080.00")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    page.get_by_role("button", name="Continue without points").click()
    expect(page.locator("#amount-due")).to_have_text("RUB\xa0720.00")
    expect(page.locator("#coupon-effect")).to_contain_text("SPRING10")
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.get_by_role("heading", name="Purchase saved")).to_be_visible()
    assert facts(page) == {
        "Check": "RUB\xa0800.00",
        "Discount": "RUB\xa080.00",
        "Coupons used": "SPRING10",
        "Points spent": "0 = RUB\xa00.00",
        "Paid": "RUB\xa0720.00",
        "Points earned": "21",  # 3 % of 720.00
        "New balance": "126 = RUB\xa0126.00",
    }
    # its one use is spent: the next sale is refused beside the coupon field, nothing booked
    page.get_by_role("link", name="Next customer").click()
    _find(page, "1000-0001")
    page.get_by_label("Amount of the check").fill("800")
    page.get_by_label("Coupon code").fill("SPRING10")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#coupons-error")).to_have_text("coupon 'SPRING10' is used up (1 of 1 uses)")
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        assert connection.execute("SELECT COUNT(*) FROM coupon_uses").fetchone() == (1,)


def test_card_actions_are_folded_on_the_customers_screen(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _find(page, "1000-0001")
    block = page.get_by_role("button", name="Block 10000001")
    expect(block).to_be_hidden()  # folded away during a sale
    page.get_by_text("Cards and card actions").click()
    block.click()
    expect(page.locator("#card-notice")).to_have_text("Card 10000001 is blocked.")
    assert styled_evaluate(page, A11Y_CHECKS) == []
    expect(page.get_by_text("This card is blocked; it cannot earn or pay with points.")).to_be_visible()
    page.get_by_role("button", name="Unblock 10000001").click()
    expect(page.locator("#card-notice")).to_have_text("Card 10000001 is unblocked.")
    page.get_by_label("New card number for 10000001").fill("1000-0009")
    page.get_by_role("button", name="Replace the card").click()
    expect(page.locator("#card-notice")).to_have_text("Card 10000001 is replaced by 10000009.")
    page.get_by_label("Add a card to this customer").fill("1000-0002")  # Oleg's card
    page.get_by_role("button", name="Add the card").click()
    expect(page.locator("#card-error")).to_be_visible()
    expect(page.get_by_label("Add a card to this customer")).to_have_value("1000-0002")
    page.get_by_label("Amount of the check").fill("100")  # the sale goes on with the new card
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Continue without points")).to_be_visible()
