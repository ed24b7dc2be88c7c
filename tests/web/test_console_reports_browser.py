"""The report in Chromium: purchases made through the JSON API in the test show up exactly in the owner's report, its
chart and the chart's table; another partner's sales never do; the Russian page formats money the Russian way."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from coalition.demo import OUTLETS
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import scroll_width_px, viewport_width_px
from tests.web.test_console_staff_browser import sign_in_owner

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = "2025-06-14"  # a day the demo has no sales on
CARD = "3000-0001"
__all__ = ["smtp"]  # the fixture, imported for pytest to find


def _purchases(url: str) -> list[dict[str, Any]]:
    """Three sales at the Corner Shop by Anna on DAY (two at 9 o'clock, one at 18) and one at the café."""

    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}

    def at(hour: int, minute: int) -> str:
        return datetime(2025, 6, 14, hour, minute, tzinfo=MOSCOW).isoformat()

    shop, cafe = OUTLETS[0], OUTLETS[1]
    answers = []
    with httpx.Client(base_url=url) as http:
        enrolled = http.post(
            "/v1/members", json={"kind": "anonymous", "card_number": CARD}, headers=headers(shop.terminal_key)
        )
        assert enrolled.status_code == 201, enrolled.text
        for amount, hour, minute, redeem in (("1000.00", 9, 10, 0), ("2345.67", 9, 40, 0), ("1500.00", 18, 5, 60)):
            body = {"customer": CARD, "amount": amount, "receipt": uuid.uuid4().hex, "cashier": shop.cashier_login}
            body |= {"occurred_at": at(hour, minute)} | ({"redeem_points": redeem} if redeem else {})
            CLOCK.moment = datetime.fromisoformat(at(hour, minute))  # recorded as it happens: reports go by it
            bought = http.post("/v1/purchases", json=body, headers=headers(shop.terminal_key))
            assert bought.status_code == 201, bought.text
            answers.append(bought.json())
        at_cafe = {"customer": CARD, "amount": "777.00", "receipt": "x-1", "occurred_at": at(12, 0), "cashier": "boris"}
        CLOCK.moment = datetime.fromisoformat(at(12, 0))
        assert http.post("/v1/purchases", json=at_cafe, headers=headers(cafe.terminal_key)).status_code == 201
    CLOCK.moment = None  # the real time again, for sign-in and sessions
    return answers


CLOCK = SettableClock()


@pytest.fixture()
def live_server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """conftest's, on CLOCK."""
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}", clock=CLOCK) as server:
        yield server


def _minor(text: str) -> int:
    return int(Decimal(text) * 100)


def test_the_owners_report_and_chart_show_exactly_the_purchases_made(live_server: LiveServer, page: Page) -> None:
    answers = _purchases(live_server.url)
    revenue = sum(_minor(a["amount"]) for a in answers)
    assert revenue == _minor("4845.67")
    issued = sum(a["points_earned"] for a in answers)
    spent = sum(a["points_redeemed"] for a in answers)
    assert spent == 60 and issued > 0

    sign_in_owner(page, live_server.url)
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_label("Day", exact=True).fill(DAY)
    page.get_by_role("button", name="Show the day").click()
    expect(page).to_have_url(re.compile(rf"/console/reports\?day={DAY}"))

    expect(page.locator("#total-revenue")).to_have_text("RUB\xa04,845.67")
    expect(page.locator("#total-checks")).to_have_text("3")
    expect(page.locator("#total-average")).to_have_text("RUB\xa01,615.22")  # 4,845.67 / 3, half up
    expect(page.locator("#total-issued")).to_have_text(str(issued))
    expect(page.locator("#total-spent")).to_have_text("60")
    expect(page.locator("#total-discounts")).to_have_text("RUB\xa00.00")
    chart = page.get_by_role("img", name=re.compile("Revenue per hour"))
    expect(chart).to_have_attribute(
        "aria-label", "Revenue per hour, Jun 14, 2025 — highest RUB\xa03,345.67 (09:00), total RUB\xa04,845.67"
    )
    expect(chart.locator("rect.bar")).to_have_count(2)
    table = page.get_by_role("table", name="Figures per hour")
    expect(table.get_by_role("row", name="09:00 RUB\xa03,345.67 2")).to_be_visible()
    expect(table.get_by_role("row", name="18:00 RUB\xa01,500.00 1")).to_be_visible()
    # the café's sale is not the shop's, and an hour without sales is no row of zeros
    expect(table.get_by_role("row", name=re.compile("^12:00"))).to_have_count(0)
    expect(table.get_by_role("row")).to_have_count(3)  # the head and 09:00, 18:00
    cashiers = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Cashier"))
    expect(
        cashiers.get_by_role("row", name=re.compile(r"^Anna \(anna\) Corner Shop till RUB\s4,845.67 3 "))
    ).to_be_visible()
    expect(page.get_by_text("777.00")).to_have_count(0)
    expect(page.get_by_text("Café counter")).to_have_count(0)

    page.get_by_role("navigation", name="What the chart shows").get_by_role("link", name="Points issued").click()
    expect(page).to_have_url(re.compile(rf"day={DAY}&measure=points-issued"))
    expect(page.get_by_role("heading", name="Points issued per hour")).to_be_visible()
    points_chart = page.get_by_role("img", name=re.compile("Points issued per hour"))
    expect(points_chart).to_have_attribute(
        "aria-label", re.compile(rf"^Points issued per hour, Jun 14, 2025 — highest \d+ \(\d\d:00\), total {issued}$")
    )
    expect(page.locator("#total-issued")).to_have_text(str(issued))  # the day's figures stay as they were


def test_the_report_in_russian(live_server: LiveServer, browser: Browser) -> None:
    _purchases(live_server.url)
    page = browser.new_context(viewport=PHONE, locale="ru-RU").new_page()
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("Код сети").fill("demo")
    page.get_by_label("Логин").fill(OUTLETS[0].owner_login)
    page.get_by_label("Пароль").fill(OUTLETS[0].owner_password)
    page.get_by_role("button", name="Войти").click()
    page.goto(f"{live_server.url}/console/reports?day={DAY}")
    expect(page.get_by_role("heading", name="Отчёты")).to_be_visible()
    expect(page.locator("#summary-heading")).to_contain_text("суббота, 14 июня 2025")
    expect(page.locator("#total-revenue")).to_have_text("4\xa0845,67\xa0₽")
    expect(page.locator("#total-average")).to_have_text("1\xa0615,22\xa0₽")
    chart = page.get_by_role("img", name=re.compile("Выручка по часам"))
    expect(chart).to_have_attribute(
        "aria-label",
        "Выручка по часам, 14 июн. 2025\u202fг. — больше всего 3\xa0345,67\xa0₽ (09:00), всего 4\xa0845,67\xa0₽",
    )
    expect(
        page.get_by_role("table", name="Показатели по часам").get_by_role("row", name="09:00 3 345,67 ₽ 2")
    ).to_be_visible()
    expect(page.get_by_role("columnheader", name="Средний чек").first).to_be_visible()


def test_the_owner_mails_the_days_report_to_the_address_they_set(
    demo_template: Path, tmp_path: Path, browser: Browser, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}", clock=CLOCK, smtp_host="127.0.0.1", smtp_port=port) as server:
        answers = _purchases(server.url)
        page = browser.new_context(viewport=PHONE).new_page()
        sign_in_owner(page, server.url)
        page.goto(f"{server.url}/console/reports?day={DAY}")
        mail = page.get_by_role("region", name="The day's report by e-mail")
        expect(mail.get_by_role("listitem")).to_have_text(["Corner Shop: no address yet"])
        mail.get_by_label("Report e-mail address").fill("owner@corner.example")
        mail.get_by_role("button", name="Save the address").click()
        expect(page.get_by_role("status")).to_have_text("The report e-mail address was saved.")
        expect(mail.get_by_role("listitem")).to_have_text(["Corner Shop: owner@corner.example"])
        mail.get_by_role("button", name="E-mail this day's report now").click()
        expect(page.get_by_role("status")).to_have_text("The day's report was e-mailed.")
        expect(page).to_have_url(re.compile(rf"day={DAY}"))
    [sent] = inbox.to("owner@corner.example")
    assert sent["Subject"] == f"Daily report {DAY}: Corner Shop"
    text = sent.get_body(("plain",)).get_content()
    revenue = sum(_minor(a["amount"]) for a in answers)
    assert f"  revenue through the system: RUB\xa0{revenue // 100:,}.{revenue % 100:02d}" in text.splitlines()
    assert "  checks: 3" in text.splitlines()
    assert text.count(" purchase, Corner Shop till, receipt ") == 3 and "Café" not in text


def test_on_a_phone_the_report_never_scrolls_sideways_and_each_section_downloads(
    live_server: LiveServer, browser: Browser
) -> None:
    _purchases(live_server.url)
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB").new_page()
    sign_in_owner(page, live_server.url)
    page.goto(f"{live_server.url}/console/reports?day={DAY}")
    expect(page.locator("#total-revenue")).to_have_text("RUB\xa04,845.67")
    assert scroll_width_px(page) <= viewport_width_px(page)
    expect(page.locator("#hidden-hours")).to_have_text("Hours without sales or refunds are left out.")
    outlets = page.get_by_role("region", name="Per outlet")
    link = outlets.get_by_role("link", name="Sales per outlet as CSV")
    expect(link).to_have_text("Download CSV")
    with page.expect_download() as waiting:
        link.click()
    saved = Path(waiting.value.path()).read_text(encoding="utf-8")
    assert saved.splitlines()[0].startswith("outlet_id,outlet,partner_id,partner,currency,checks,revenue_minor")
    assert ",Corner Shop till," in saved and ",484567," in saved
    # the program's reports below: the shop's three checks at 09:00 (two) and 18:00, and the threshold helper
    hours = page.get_by_role("table", name="Checks per hour")
    expect(hours.get_by_role("row")).to_have_count(3)  # the head, 09:00 and 18:00: no rows of zeros
    helper = page.get_by_role("region", name="Entry threshold from the average check")
    helper.get_by_label("Old threshold").fill("1000.00")
    helper.get_by_label("Base period: first day").fill(DAY)
    helper.get_by_role("button", name="Work out the threshold").click()
    expect(page.locator("#threshold-answer")).to_contain_text(
        "The average check went from RUB\xa01,615.22 (Jun 14, 2025 – Jun 14, 2025) to RUB\xa01,615.22"
    )
    expect(page.locator("#threshold-answer")).to_contain_text(
        "The entry threshold of RUB\xa01,000.00 becomes RUB\xa01,000.00"
    )
    assert scroll_width_px(page) <= viewport_width_px(page)
    with page.expect_download() as waiting:
        attendance = page.get_by_role("region", name="Checks per hour and weekday")
        attendance.get_by_role("link", name="Checks per hour and weekday as XLSX").click()
    assert Path(waiting.value.path()).read_bytes().startswith(b"PK")
    page.goto(f"{live_server.url}/console/reports?from=2025-06-01&to=2025-06-30")
    assert scroll_width_px(page) <= viewport_width_px(page)
