"""Issue 18's "Done when", walked in one go in Chromium at a phone's width (390 × 844), as a new shop owner would:

1. the owner registers the shop and reads, from the page, the terminal key, the outlet number and the cashier's login;
2. sets the brief's small-shop program through the editor's form (up to 10,000 spent: 3 % back and points pay up to
   15 % of a check from 1,500; 10,000–50,000: 5 % and 30 %; over 50,000: 7 % and 50 %), sees its conflicts in words
   and what it would have cost last month, and publishes it: the editor then opens with that program;
3. sells through the POS API with the key from the page: a new customer's 9,000.00 earns 270 points (3 %);
4. the cashier signs in to the web terminal with the login from the page: on a 1,500.00 check points may pay at most
   225 (15 %, a point worth 1.00), a check below 1,500.00 not at all; paying 225 leaves 1,275.00, which earns 38
   (3 % of 1,275.00 = 38.25, rounded down);
5. the owner reads the day's report on the phone, its figures exact and no sideways scrolling;
6. a customer joins by the counter's QR form and shows the card on /me: its QR code and a barcode of its number.
"""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, Page, expect

from coalition.domain.code128 import decode_b
from tests.web.conftest import RULES_SAVE_TIMEOUT_MS, LiveServer
from tests.web.layout import scroll_width_px, viewport_width_px
from tests.web.screenshots import REGISTRATION
from tests.web.test_terminal_browser import facts

PHONE = {"width": 390, "height": 844}
RIGA = ZoneInfo("Europe/Riga")
EUR = "€"
# the brief's small shop, typed into the form: tier → (from a lifetime spend of, points %, points may pay up to %)
TIERS = {1: ("0.00", "3", "15"), 2: ("10000.00", "5", "30"), 3: ("50000.01", "7", "50")}


def _no_sideways_scroll(page: Page) -> None:
    assert scroll_width_px(page) <= viewport_width_px(page)


def _register(owner: Page, url: str) -> dict[str, str]:
    owner.goto(f"{url}/console/register")
    for label, value in REGISTRATION.items():
        owner.get_by_label(label, exact=True).fill(value)
    owner.get_by_role("button", name="Register").click()
    expect(owner.get_by_role("heading", name="Your shop is ready")).to_be_visible()
    _no_sideways_scroll(owner)
    shown = {
        name: owner.get_by_test_id(name).inner_text().strip()
        for name in ("terminal-key", "outlet-number", "cashier-login", "cashier-password")
    }
    assert shown["terminal-key"].startswith("term_")
    assert (shown["cashier-login"], shown["cashier-password"]) == ("toms", "toms-secret-1")
    return shown


def _set_the_brief_program(owner: Page, url: str) -> None:
    owner.goto(f"{url}/console/rules/editor")
    expect(owner.get_by_role("heading", name="Program editor")).to_be_visible()
    expect(owner.locator("#editor-start")).to_have_text(
        "No program has been published yet, by this form or as YAML: the form starts from the example program."
    )
    for number, (start, accrual, cap) in TIERS.items():
        tier = owner.get_by_role("group", name=f"Tier {number}")
        tier.get_by_label("From a lifetime spend of").fill(start)
        tier.get_by_label("Points, % of the check").fill(accrual)
        tier.get_by_label("Fixed points per check").fill("")
        tier.get_by_label("Points may pay up to, % of the check").fill(cap)
    for number in (4, 5):
        tier = owner.get_by_role("group", name=f"Tier {number}")
        for label in ("From a lifetime spend of", "Points, % of the check", "Points may pay up to, % of the check"):
            expect(tier.get_by_label(label)).to_have_value("")
    owner.get_by_label("Minimum check for paying with points").fill("1500.00")
    owner.get_by_role("button", name="Save as draft").click()
    expect(owner.get_by_role("status")).to_have_text(
        re.compile(r"^Draft version \d+ saved\.$"), timeout=RULES_SAVE_TIMEOUT_MS
    )
    expect(owner.locator("#program-yaml")).to_contain_text(
        "member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000001"
    )
    expect(owner.get_by_role("region", name="Conflicts")).to_have_text(re.compile(r"Conflicts\s+No conflicts found\."))
    _no_sideways_scroll(owner)

    owner.get_by_role("button", name="Price last month").click()  # a new shop: no purchases last month
    simulation = owner.locator("#editor-simulation")
    expect(simulation).to_contain_text(
        f"Discounts and points: {EUR}0.00 with the draft, {EUR}0.00 as recorded.", timeout=RULES_SAVE_TIMEOUT_MS
    )
    expect(simulation).to_contain_text("Members: 0, of whom 0 would get a different outcome.")

    owner.get_by_role("link", name="Publish…").click()
    owner.get_by_role("button", name="Publish", exact=True).click()
    expect(owner.get_by_role("status")).to_have_text(
        re.compile(r"^Version \d+ is published\.$"), timeout=RULES_SAVE_TIMEOUT_MS
    )

    owner.goto(f"{url}/console/rules/editor")  # it opens with the program in force, as typed
    expect(owner.locator("#editor-start")).to_have_text(re.compile(r"^The form shows the program in force"))
    for number, (start, accrual, cap) in TIERS.items():
        tier = owner.get_by_role("group", name=f"Tier {number}")
        expect(tier.get_by_label("From a lifetime spend of")).to_have_value(start)
        expect(tier.get_by_label("Points, % of the check")).to_have_value(accrual)
        expect(tier.get_by_label("Points may pay up to, % of the check")).to_have_value(cap)
    expect(owner.get_by_label("Minimum check for paying with points")).to_have_value("1500.00")


def _away_from_midnight_in_riga(margin_seconds: int = 300) -> None:
    now = datetime.now(RIGA)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    left = (midnight - now).total_seconds()
    if left < margin_seconds:
        time.sleep(left + 1)


def test_a_new_owner_walks_issue_18_on_a_phone(sqlite_template: Path, tmp_path: Path, browser: Browser) -> None:
    database = tmp_path / "fresh.db"
    shutil.copyfile(sqlite_template, database)
    with LiveServer(f"sqlite:///{database}", open_registration=True) as server:
        owner = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
        shown = _register(owner, server.url)
        _set_the_brief_program(owner, server.url)

        _away_from_midnight_in_riga()  # the sales and the day's report must fall on one day
        # 3. the POS API, with the key read from the page
        with httpx.Client(base_url=server.url) as api:
            headers = {"Authorization": f"Bearer {shown['terminal-key']}"}
            profile = {"name": "Ilze", "consent_data_processing": True}
            body = {"kind": "personal", "card_number": "PB-1", "profile": profile}
            enrolled = api.post("/v1/members", json=body, headers=headers | {"Idempotency-Key": "enrol-pb-1"})
            assert enrolled.status_code == 201, enrolled.text
            sale = {"customer": "PB-1", "amount": "9000.00", "receipt": "R-1", "cashier": "toms"}
            bought = api.post("/v1/purchases", json=sale, headers=headers | {"Idempotency-Key": "sale-r-1"})
            assert bought.status_code == 201, bought.text
            assert (bought.json()["points_earned"], bought.json()["points_redeemed"]) == (270, 0)  # 3 % of 9,000.00

            def quote(amount: str, **more: int) -> httpx.Response:
                body = {"customer": "PB-1", "amount": amount} | more
                return api.post("/v1/purchases/quote", json=body, headers=headers)

            at_minimum = quote("1500.00").json()
            assert (at_minimum["points_balance"], at_minimum["max_redeemable_points"]) == (270, 225)  # 15 %
            assert (at_minimum["points_to_earn"], at_minimum["applied_rules"]) == (45, ["bonus-tier-1"])
            assert quote("1499.99").json()["max_redeemable_points"] == 0  # below the minimum check
            over = quote("1500.00", redeem_points=226)
            assert over.status_code == 422
            assert over.json()["detail"] == "at most 225 points (15 % of this check) may be redeemed"
            assert over.json()["field"] == "redeem_points"

        # 4. the web terminal, with the outlet number, login and password read from the page
        till = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
        till.goto(f"{server.url}/terminal/login")
        till.get_by_label("Outlet number").fill(shown["outlet-number"])
        till.get_by_label("Cashier login").fill(shown["cashier-login"])
        till.get_by_label("Password").fill(shown["cashier-password"])
        till.get_by_role("button", name="Sign in").click()
        till.get_by_label("Card number or phone").fill("PB-1")
        till.get_by_role("button", name="Find the customer").click()
        expect(till.get_by_role("heading", name="Ilze")).to_be_visible()
        card = facts(till)
        assert (card["Points"], card["Tier"]) == ("270 = €270.00", "earns 3%, points pay up to 15% of a check")
        till.get_by_label("Amount of the check").fill("1500")
        till.get_by_role("button", name="Continue").click()
        expect(till.locator("#max-points")).to_have_text("225")  # 15 % of 1,500.00, though she has 270
        till.get_by_role("button", name="Use 225 points").click()
        expect(till.locator("#amount-due")).to_have_text("€1,275.00")
        expect(till.locator("#points-to-earn")).to_have_text("38")  # 3 % of 1,275.00 = 38.25
        till.get_by_role("button", name="Confirm the purchase").click()
        expect(till.get_by_role("heading", name="Purchase saved")).to_be_visible()
        assert facts(till) == {
            "Check": "€1,500.00",
            "Points spent": "225 = €225.00",
            "Paid": "€1,275.00",
            "Points earned": "38",
            "New balance": "83 = €83.00",  # 270 − 225 + 38
        }
        _no_sideways_scroll(till)

        # 5. the day's report on the owner's phone: 9,000.00 + 1,500.00 from one new member
        today = datetime.now(RIGA)
        owner.goto(f"{server.url}/console/reports?day={today.date().isoformat()}")
        expect(owner.locator("#total-revenue")).to_have_text("€10,500.00")
        expect(owner.locator("#total-checks")).to_have_text("2")
        expect(owner.locator("#total-average")).to_have_text("€5,250.00")
        expect(owner.locator("#total-issued")).to_have_text("308")  # 270 + 38
        expect(owner.locator("#total-spent")).to_have_text("225")
        expect(owner.locator("#total-discounts")).to_have_text("€0.00")
        expect(owner.locator("#total-collected")).to_have_text("€10,275.00")  # 10,500.00 − 225 points at 1.00
        weekdays = owner.locator("#attendance-weekdays")
        expect(weekdays.get_by_role("row", name=f"{today.strftime('%A')} 2 €10,500.00")).to_be_visible()
        expect(owner.locator("#new-customers")).to_have_text("1 · 2 checks · €10,500.00")
        expect(owner.locator("#returning-customers")).to_have_text("0 · 0 checks · €0.00")
        expect(owner.locator("#member-checks")).to_have_text("2 · €10,500.00 · average €5,250.00")
        expect(owner.locator("#program-cost")).to_have_text("€308.00 = €308.00 (308 points) + €0.00 discounts")
        expect(owner.locator("#cost-per-revenue")).to_have_text("2.93%")  # 308.00 / 10,500.00
        _no_sideways_scroll(owner)

        # 6. a customer joins by the counter's QR code and shows the card on their phone
        owner.goto(f"{server.url}/console/join")
        owner.get_by_label("Customers may sign themselves up by the QR code").check()
        owner.get_by_role("button", name="Save").click()
        expect(owner.get_by_role("status")).to_contain_text("Sign-up is on")
        expect(owner.locator("#join-qr svg")).to_be_visible()
        join_url = owner.locator("#join-url").inner_text()
        assert join_url.endswith("/join/pine-bakery")
        _no_sideways_scroll(owner)

        customer = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
        customer.goto(f"{server.url}/join/pine-bakery")
        customer.get_by_label("Your name").fill("Anna Berzina")
        customer.get_by_label("Phone", exact=True).fill("+371 2000 0001")
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
        assert widths is not None and decode_b(widths) == number  # the barcode the till scans is the card's number
        _no_sideways_scroll(customer)

        with httpx.Client(base_url=server.url) as api:  # the till finds her by that number: 3 % of 100.00
            sale = {"customer": number, "amount": "100.00", "receipt": "R-3"}
            headers = {"Authorization": f"Bearer {shown['terminal-key']}", "Idempotency-Key": "sale-r-3"}
            bought = api.post("/v1/purchases", json=sale, headers=headers)
            assert bought.status_code == 201, bought.text
            assert (bought.json()["points_earned"], bought.json()["points_redeemed"]) == (3, 0)
