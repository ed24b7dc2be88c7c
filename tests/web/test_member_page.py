"""The member's page in Chromium on a phone: a code by e-mail (a real SMTP server), a PIN set on the page, sign-out
and sign-in with the PIN, and the exact numbers of a purchase, a gift and a visit made through the JSON API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from coalition.adapters.web import formatting
from coalition.demo import MEMBERS
from tests.mail_support import Inbox, smtp
from tests.web.conftest import LiveServer
from tests.web.member_support import member_with_history

__all__ = ["smtp"]  # the fixture, imported for pytest to find

CARD, ADDRESS, TIMEZONE = "7700-0001", "olga@mail.example", "Europe/Moscow"


@pytest.fixture()
def member_server(demo_template: Path, tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[LiveServer]:
    """The demo network served with e-mail through the test's SMTP server."""
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}", smtp_host="127.0.0.1", smtp_port=smtp[1]) as server:
        yield server


def _moment(text: str, language: str = "en") -> str:
    return formatting.moment(datetime.fromisoformat(text), TIMEZONE, language, "short")


def _sign_in_with_code(page: Page, url: str, inbox: Inbox) -> None:
    page.goto(f"{url}/me")
    expect(page).to_have_url(f"{url}/me/login?next=/me")
    page.get_by_label("Card number").fill(CARD)
    page.get_by_role("button", name="E-mail me a one-time code").click()
    expect(page.get_by_role("status")).to_have_text(
        "We sent a 6-digit code to o***@mail.example. It is valid for 10 minutes."
    )
    page.get_by_label("One-time code").fill(inbox.last_code_for(ADDRESS))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/me")


def test_a_member_signs_in_with_a_code_sets_a_pin_and_sees_their_points_gifts_and_visits(
    member_server: LiveServer, page: Page, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    url = member_server.url
    made = member_with_history(url, CARD, ADDRESS)
    purchase, visit = made["purchase"], made["visit"]
    assert purchase["points_earned"] == 124  # 5 % of 2,480.00
    [lot] = purchase["points_expiring"]
    [gift] = purchase["gifts_granted"]

    _sign_in_with_code(page, url, inbox)
    expect(page.get_by_role("heading", name="My card", level=1)).to_be_visible()
    expect(page.locator("#points-balance")).to_have_text("124 points")
    expect(page.locator("#points-value")).to_have_text(f"Worth {formatting.money(12400, 'RUB', 'en')} at the till")
    expect(page.locator("#expiring tbody tr")).to_have_text([f"124 {_moment(lot['expires_at'])}"], use_inner_text=True)
    expect(page.locator("#gifts li")).to_have_text(
        [f"A free coffee Where: Café counter Until {_moment(gift['valid_until'])}"], use_inner_text=True
    )
    purchase_row = (
        f"Corner Shop till {_moment(purchase['occurred_at'])} {formatting.money(248000, 'RUB', 'en')} +124 earned"
    )
    expect(page.locator("#purchases tbody tr")).to_have_text([purchase_row.replace("\xa0", " ")], use_inner_text=True)
    expect(page.locator("#visits tbody tr")).to_have_text(
        [f"Ticket office {_moment(visit['started_at'])} still inside"], use_inner_text=True
    )

    page.get_by_label("New PIN (4 to 8 digits)").fill("2580")
    page.get_by_label("The same PIN again").fill("2581")
    page.get_by_role("button", name="Save the PIN").click()
    expect(page.get_by_role("alert")).to_have_text("the two PINs differ; type the same PIN twice")
    page.get_by_label("New PIN (4 to 8 digits)").fill("2580")
    page.get_by_label("The same PIN again").fill("2580")
    page.get_by_role("button", name="Save the PIN").click()
    expect(page.get_by_role("status")).to_have_text("Your PIN is saved.")
    expect(page.get_by_role("heading", name="Change your PIN")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{url}/me/login")
    page.get_by_label("Card number").fill(CARD)
    page.get_by_label("PIN", exact=True).fill("2589")
    page.get_by_role("button", name="Sign in with the PIN").click()
    expect(page.get_by_role("alert")).to_have_text("the card number or the PIN is wrong")
    expect(page.get_by_label("Card number")).to_have_value(CARD)
    page.get_by_label("PIN", exact=True).fill("2580")
    page.get_by_role("button", name="Sign in with the PIN").click()
    expect(page).to_have_url(f"{url}/me")
    expect(page.locator("#points-balance")).to_have_text("124 points")


def test_wrong_codes_and_pins_get_a_clear_message_then_a_pause(
    member_server: LiveServer, page: Page, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    url = member_server.url
    member_with_history(url, CARD, ADDRESS)
    page.goto(f"{url}/me/login")
    page.get_by_label("Card number").fill(CARD)
    page.get_by_role("button", name="E-mail me a one-time code").click()
    right = inbox.last_code_for(ADDRESS)
    wrong = "123456" if right != "123456" else "654321"
    page.get_by_label("One-time code").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("the code is wrong or has expired; ask for a new one")
    for _ in range(4):
        page.get_by_label("One-time code").fill(wrong)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("One-time code").fill(right)  # the right code, too late: guessing is refused for a while
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "too many wrong codes or PINs for this card; try again in 15 minutes"
    )
    page.goto(f"{url}/me")
    expect(page).to_have_url(f"{url}/me/login?next=/me")


def test_a_card_without_pin_or_email_is_told_to_ask_a_cashier(member_server: LiveServer, page: Page) -> None:
    page.goto(f"{member_server.url}/me/login")
    page.get_by_label("Card number").fill("1000-0004")  # the demo's anonymous card
    page.get_by_role("button", name="E-mail me a one-time code").click()
    expect(page.get_by_role("alert")).to_have_text(
        "this card has no PIN and no e-mail address: ask a cashier to add your e-mail address"
    )
    expect(page.get_by_label("Card number")).to_have_value("1000-0004")


def test_the_page_in_russian_with_russian_numbers_money_and_dates(
    member_server: LiveServer, page: Page, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    url = member_server.url
    made = member_with_history(url, CARD, ADDRESS)
    _sign_in_with_code(page, url, inbox)
    page.goto(f"{url}/me?lang=ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Моя карта", level=1)).to_be_visible()
    expect(page.locator("#points-balance")).to_have_text("124 балла")
    money = formatting.money(12400, "RUB", "ru")
    assert money == "124,00\xa0₽"
    expect(page.locator("#points-value")).to_have_text(f"Это {money} при оплате на кассе")
    expires_at = made["purchase"]["points_expiring"][0]["expires_at"]
    expect(page.locator("#expiring tbody tr")).to_have_text([f"124 {_moment(expires_at, 'ru')}"], use_inner_text=True)
    row = page.locator("#purchases tbody tr").first
    expect(row).to_contain_text(formatting.money(248000, "RUB", "ru"))
    expect(row).to_contain_text("2\xa0480,00")
    expect(page.get_by_role("button", name="Сохранить ПИН-код")).to_be_visible()


def test_the_demo_member_signs_in_with_the_pin_the_demo_prints(live_server: LiveServer, page: Page) -> None:
    """`make run` sends no e-mail: the README's member page works with the demo's published PIN."""
    [irina] = [member for member in MEMBERS if member.card == "1000-0001"]
    assert irina.pin is not None
    page.goto(f"{live_server.url}/me/login")
    page.get_by_label("Card number").fill(irina.card)
    page.get_by_label("PIN", exact=True).fill(irina.pin)
    page.get_by_role("button", name="Sign in with the PIN").click()
    expect(page).to_have_url(f"{live_server.url}/me")
    expect(page.get_by_role("heading", name="My card", level=1)).to_be_visible()
    # 3 % of the demo's two checks (1,200.00 and 2,300.00), as `coalition demo` lists her balance
    expect(page.locator("#points-balance")).to_have_text("105 points")
    expect(page.locator("#purchases tbody tr")).to_have_count(2)
