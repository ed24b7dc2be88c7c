"""The console's Reports page shows what is worth a look in a day (issue 16, point 5), in Chromium at phone width:
a card credited five times at the Corner Shop and a sale its till dated two hours before the server recorded it,
each in one sentence with its receipts, in English and in Russian, without widening the page; a day without anything
unusual shows no such section; the café's owner never sees the shop's flags."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from coalition.demo import OUTLETS
from tests.support import SettableClock
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import scroll_width_px

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = "2025-06-14"  # a day the demo has no sales on
CARD = "3000-0042"
CLOCK = SettableClock()


@pytest.fixture()
def live_server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}", clock=CLOCK) as server:
        yield server


def _crafted_day(url: str) -> None:
    """Five 200.00 sales to CARD at the Corner Shop from 10:00, every 10 minutes (R-A1…R-A5); at 15:00 the server
    records R-LATE, which the till rang up at 13:00."""
    shop = OUTLETS[0]

    def post(path: str, body: dict[str, object], at: datetime) -> None:
        CLOCK.moment = at
        headers = {"Authorization": f"Bearer {shop.terminal_key}", "Idempotency-Key": uuid.uuid4().hex}
        answer = http.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.text

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2025, 6, 14, hour, minute, tzinfo=MOSCOW)

    with httpx.Client(base_url=url) as http:
        post("/v1/members", {"kind": "anonymous", "card_number": CARD}, at(9))
        for index in range(5):
            moment = at(10, 10 * index)
            body = {
                "customer": CARD,
                "amount": "200.00",
                "receipt": f"R-A{index + 1}",
                "occurred_at": moment.isoformat(),
            }
            post("/v1/purchases", body, moment)
        late = {"customer": CARD, "amount": "500.00", "receipt": "R-LATE", "occurred_at": at(13).isoformat()}
        post("/v1/purchases", late, at(15))
    CLOCK.moment = None  # the real time again, for sign-in and sessions


def _sign_in(page: Page, url: str, outlet: int = 0, *, russian: bool = False) -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label("Код сети" if russian else "Network code").fill("demo")
    page.get_by_label("Логин" if russian else "Login").fill(OUTLETS[outlet].owner_login)
    page.get_by_label("Пароль" if russian else "Password").fill(OUTLETS[outlet].owner_password)
    page.get_by_role("button", name="Войти" if russian else "Sign in").click()
    expect(page).to_have_url(f"{url}/console")


def _fits(page: Page) -> None:
    assert scroll_width_px(page) <= PHONE["width"]


def test_the_owner_sees_what_is_worth_a_look_on_a_phone(live_server: LiveServer, browser: Browser) -> None:
    _crafted_day(live_server.url)
    page = browser.new_context(viewport=PHONE).new_page()
    _sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/console/reports?day={DAY}")
    section = page.get_by_role("region", name="Worth a look")
    expect(section).to_be_visible()
    flags = section.get_by_role("listitem")
    expect(flags).to_have_count(2)
    expect(flags.nth(0)).to_contain_text(
        "Card 30000042 was credited at Corner Shop till 6 times in the day: 45 points on RUB\xa01,500.00 of checks."
    )
    expect(flags.nth(0)).to_contain_text("Transactions: R-A1, R-A2, R-A3, R-A4, R-A5, R-LATE")
    expect(flags.nth(1)).to_contain_text(
        "Sales at Corner Shop till whose till time and server time differ by more than an hour: 1, the widest 120 "
        "minutes (receipt R-LATE, rung up 6/14/25, 1:00\u202fPM, recorded 6/14/25, 3:00\u202fPM)."
    )
    expect(flags.nth(1)).to_contain_text("Transactions: R-LATE")
    _fits(page)

    # the day before: nothing unusual, no section
    page.goto(f"{live_server.url}/console/reports?day=2025-06-13")
    expect(page.locator("#summary-heading")).to_be_visible()
    expect(page.get_by_role("region", name="Worth a look")).to_have_count(0)

    # the café's owner: the shop's day is not theirs
    cafe = browser.new_context(viewport=PHONE).new_page()
    _sign_in(cafe, live_server.url, outlet=1)
    cafe.goto(f"{live_server.url}/console/reports?day={DAY}")
    expect(cafe.locator("#summary-heading")).to_be_visible()
    expect(cafe.get_by_role("region", name="Worth a look")).to_have_count(0)


def test_the_flags_in_russian(live_server: LiveServer, browser: Browser) -> None:
    _crafted_day(live_server.url)
    page = browser.new_context(viewport=PHONE, locale="ru-RU").new_page()
    _sign_in(page, live_server.url, russian=True)
    page.goto(f"{live_server.url}/console/reports?day={DAY}")
    section = page.get_by_role("region", name="Стоит проверить")
    expect(section.get_by_role("listitem").nth(1)).to_contain_text(
        "Продажи в Corner Shop till, у которых время кассы и время сервера расходятся больше чем на час: 1, "
        "наибольшее расхождение в минутах — 120 (чек R-LATE, пробит 14.06.2025, 13:00, записан 14.06.2025, 15:00)."
    )
    expect(section.get_by_role("listitem").nth(1)).to_contain_text("Операции: R-LATE")
    _fits(page)
