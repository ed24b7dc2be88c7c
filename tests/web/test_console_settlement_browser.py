"""Closing a period in Chromium after purchases made through the JSON API: the statement's exact numbers and
transfer plans for the administrator, and only their own line for a partner's owner."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PHONE, LiveServer

ADMIN_KEY = "adm_demo_network"
SHOP_KEY, CAFE_KEY = "term_demo_corner_shop", "term_demo_cafe"


def _purchase(http: httpx.Client, key: str, card: str, amount: str, redeem: int, receipt: str) -> dict[str, object]:
    body = {"customer": card, "amount": amount, "redeem_points": redeem, "receipt": receipt}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": receipt}
    answer = http.post("/v1/purchases", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, object] = answer.json()
    return result


def _period_of_two_purchases(server: LiveServer, demo_loaded_at: float) -> datetime:
    """The demo's own purchases go into statement 1 (closed through the API); then the corner shop grants 60 points
    (3 % of 2,000.00 for Irina, whose lifetime spend is 3,500.00) and the café honours 800 of Maria's points on
    1,600.00 and grants 56 (7 % of the 800.00 paid). Answers the end of the period, a second after them."""
    # statement 1 must hold every purchase of the demo: its end, at least 5 s ago, after the demo was loaded
    time.sleep(max(0.0, demo_loaded_at + 5.3 - time.time()))
    with httpx.Client(base_url=server.url) as http:
        first_end = datetime.now(UTC) - timedelta(seconds=5.1)
        closed = http.post(
            "/v1/admin/settlement/periods",
            json={"end": first_end.isoformat()},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert closed.status_code == 201, closed.text
        shop = _purchase(http, SHOP_KEY, "1000-0001", "2000.00", 0, "web-settle-shop")
        cafe = _purchase(http, CAFE_KEY, "1000-0003", "1600.00", 800, "web-settle-cafe")
    assert (shop["points_earned"], cafe["points_earned"], cafe["points_redeemed"]) == (60, 56, 800)
    end = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (end + timedelta(seconds=5.2) - datetime.now(UTC)).total_seconds()))
    return end


def _sign_in(page: Page, server: LiveServer, login: str, password: str, target: str) -> None:
    page.goto(f"{server.url}{target}")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _cells(page: Page, table: str, row: str) -> list[str]:
    cells = page.locator(f"#{table}").get_by_role("row", name=re.compile(f"^{re.escape(row)}")).get_by_role("cell")
    return [text.strip() for text in cells.all_inner_texts()]


def test_close_a_period_and_read_its_statement_by_role(
    page: Page, browser: Browser, live_server: LiveServer, demo_template: Path
) -> None:
    end = _period_of_two_purchases(live_server, demo_template.stat().st_mtime)
    _sign_in(page, live_server, "admin", "admin-demo-1", "/console/settlement")
    expect(page.get_by_role("heading", name="Periods and settlement")).to_be_visible()
    expect(page.locator("#statement-list").get_by_role("link", name="Statement 1")).to_be_visible()

    page.get_by_label("End of the period (UTC, not included)").fill("2020-01-01T00:00:00")
    page.get_by_role("button", name="Close the period").click()
    expect(page.locator("#end-error")).to_contain_text("is closed already")

    page.get_by_label("End of the period (UTC, not included)").fill(end.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Close the period").click()
    expect(page.get_by_role("heading", name="Statement 2")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("The period is closed.")
    zero = ["RUB0.00"] * 5
    assert _cells(page, "statement-lines", "Corner Shop") == ["RUB60.00", *zero, "-RUB60.00", "1"]
    assert _cells(page, "statement-lines", "Blue Cup Café") == [
        "RUB56.00",
        "RUB0.00",
        "RUB800.00",
        "RUB0.00",
        "RUB0.00",
        "RUB0.00",
        "RUB744.00",
        "1",
    ]
    assert _cells(page, "statement-lines", "Aqua Park") == [*zero, "RUB0.00", "RUB0.00", "0"]
    assert _cells(page, "statement-lines", "Settlement node")[-2:] == ["-RUB684.00", ""]
    through = page.locator("#through-node").get_by_role("row")
    expect(through).to_have_text(
        [
            re.compile("From.*To.*Amount"),
            re.compile("Settlement node.*Blue Cup Café.*RUB744.00"),
            re.compile("Corner Shop.*Settlement node.*RUB60.00"),
        ]
    )
    direct = page.locator("#direct").get_by_role("row")
    expect(direct).to_have_count(3)
    expect(direct.filter(has_text="Corner Shop")).to_have_text(re.compile("Corner Shop.*Blue Cup Café.*RUB60.00"))
    expect(direct.filter(has_text="RUB684.00")).to_have_text(re.compile("Settlement node.*Blue Cup Café"))
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Download PDF").click()
    assert pdf.value.suggested_filename == "statement-2.pdf"

    owner = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        cafe = owner.new_page()
        _sign_in(cafe, live_server, "cafe-owner", "cafe-demo-1", "/console/statements")
        cafe.get_by_role("link", name="Statement 2").click()
        lines = cafe.locator("#statement-lines").get_by_role("row")
        expect(lines).to_have_count(2)  # the header and the café's own line
        assert _cells(cafe, "statement-lines", "Blue Cup Café")[-2:] == ["RUB744.00", "1"]
        expect(cafe.locator("#through-node").get_by_role("row")).to_have_count(2)
        expect(cafe.get_by_text("RUB684.00")).to_have_count(1)  # what the node pays the café, directly
        expect(cafe.get_by_text("-RUB60.00")).to_have_count(0)  # the shop's position is not the café's business

        csv_text = cafe.request.get(f"{live_server.url}/console/statements/2/statement.csv").text()
        assert "Blue Cup Café,56.00,0.00,800.00,0.00,0.00,0.00,744.00,1" in csv_text
        assert "Corner Shop,60.00" not in csv_text and "settlement node,,,,,,,-684.00" not in csv_text
        shop_id = _partner_id(live_server, "Corner Shop")
        for path in (f"partners/{shop_id}", f"partners/{shop_id}/entries.csv"):
            refused = cafe.request.get(f"{live_server.url}/console/statements/2/{path}")
            assert refused.status == 404, path
        assert cafe.request.get(f"{live_server.url}/console/settlement").status == 403
        with cafe.expect_download() as own_pdf:
            cafe.get_by_role("link", name="Download PDF").click()
        assert re.fullmatch(r"statement-2-partner-\d+\.pdf", own_pdf.value.suggested_filename)
    finally:
        owner.close()


def _partner_id(server: LiveServer, name: str) -> int:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:
        partners = http.get("/v1/admin/network").json()["partners"]
    return int(next(p["id"] for p in partners if p["name"] == name))
