"""Issue 18 in Chromium on a phone (360 × 740): a shop registers, reads its terminal key and sells through the API
with it; its administrator turns on the counter's QR code; a customer joins on their phone and finds the card's QR
code and barcode on their page, which the till then identifies."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from coalition.domain.code128 import decode_b
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import box_px
from tests.web.screenshots import REGISTRATION


def test_a_shop_signs_up_sells_with_its_key_and_a_customer_joins_by_the_qr_code(
    sqlite_template: Path, tmp_path: Path, browser: Browser
) -> None:
    database = tmp_path / "fresh.db"
    shutil.copyfile(sqlite_template, database)
    with LiveServer(f"sqlite:///{database}", open_registration=True) as server:
        owner = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
        owner.goto(f"{server.url}/console/register")
        for label, value in REGISTRATION.items():
            owner.get_by_label(label, exact=True).fill(value)
        owner.get_by_role("button", name="Register").click()
        expect(owner.get_by_role("heading", name="Your shop is ready")).to_be_visible()
        expect(owner.get_by_role("heading", name="The terminal key for your POS software")).to_be_visible()
        terminal_key = owner.get_by_test_id("terminal-key").inner_text()
        admin_key = owner.get_by_test_id("admin-key").inner_text()
        assert terminal_key.startswith("term_") and admin_key.startswith("adm_")
        expect(owner.get_by_test_id("cashier-password")).to_have_text("toms-secret-1")
        expect(owner.get_by_role("link", name="Print the start sheet")).to_be_visible()

        with httpx.Client(base_url=server.url) as api:
            headers = {"Authorization": f"Bearer {terminal_key}"}
            body = {
                "kind": "personal",
                "card_number": "PB-7",
                "profile": {"name": "Ilze", "consent_data_processing": True},
            }
            enrolled = api.post("/v1/members", json=body, headers=headers | {"Idempotency-Key": "enrol-pb-7"})
            assert enrolled.status_code == 201, enrolled.text
            sale = {"customer": "PB-7", "amount": "200.00", "receipt": "R-1"}
            bought = api.post("/v1/purchases", json=sale, headers=headers | {"Idempotency-Key": "sale-r-1"})
            assert bought.status_code == 201, bought.text
            assert bought.json()["points_earned"] == 6  # 3 % of 200.00 EUR

        owner.goto(f"{server.url}/console/join")
        owner.get_by_label("Customers may sign themselves up by the QR code").check()
        owner.get_by_role("button", name="Save").click()
        expect(owner.get_by_role("status")).to_contain_text("Sign-up is on")
        expect(owner.locator("#join-qr svg")).to_be_visible()
        join_url = owner.locator("#join-url").inner_text()
        assert join_url.endswith("/join/pine-bakery")

        customer = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
        customer.goto(f"{server.url}/join/pine-bakery")
        customer.get_by_label("Your name").fill("Anna Berzina")
        customer.get_by_label("Phone", exact=True).fill("+371 2000 0001")
        customer.get_by_role("button", name="Get my card").click()  # the browser asks for the consent first
        expect(customer.get_by_role("heading", name="Welcome, Anna Berzina!")).not_to_be_visible()
        customer.get_by_label("I agree to the processing of my data").check()
        customer.get_by_role("button", name="Get my card").click()
        expect(customer.get_by_role("heading", name="Welcome, Anna Berzina!")).to_be_visible()
        number = customer.locator("#card-number").inner_text()
        assert len(number) == 12 and number.isdigit()
        customer.get_by_role("link", name="Open my card's page").click()
        expect(customer).to_have_url(f"{server.url}/me/n/pine-bakery")
        expect(customer.locator("#card-qr svg")).to_be_visible()
        expect(customer.locator("#card-barcode svg")).to_be_visible()
        widths = customer.locator("#card-barcode svg").get_attribute("data-widths")
        assert widths is not None and decode_b(widths) == number
        box = box_px(customer.locator("#card-qr svg"))
        assert box is not None and box["width"] >= 200 and box["x"] + box["width"] <= PHONE["width"]

        with httpx.Client(base_url=server.url) as api:
            sale = {"customer": number, "amount": "100.00", "receipt": "R-2"}
            headers = {"Authorization": f"Bearer {terminal_key}", "Idempotency-Key": "sale-r-2"}
            bought = api.post("/v1/purchases", json=sale, headers=headers)
            assert bought.status_code == 201, bought.text
            assert bought.json()["points_earned"] == 3
