"""The member's sign-in and page over HTTP on both engines: one-time codes through a real SMTP server (aiosmtpd),
PINs, limits on guessing, and a member who only ever sees their own data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.mail_support import Inbox, smtp
from tests.support import auth, buy, client, make_network, new_key
from tests.web.support import csrf_token

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


def text_of(response: httpx.Response) -> str:
    """The page's text as a reader sees it: tags dropped, spaces (non-breaking too) collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).replace("\xa0", " ")


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
async def mailing(settings: Settings, smtp: tuple[Inbox, int], clock: Clock) -> AsyncIterator[Services]:
    _inbox, port = smtp
    built = build_services(
        replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_from="cards@shop.example"), clock
    )
    try:
        yield built
    finally:
        await built.close()


async def enrol_with_email(http: httpx.AsyncClient, key: str, card: str, name: str, address: str | None) -> None:
    profile: dict[str, Any] = {"name": name, "consent_data_processing": True}
    if address:
        profile["email"] = address
    body = {"kind": "personal", "card_number": card, "profile": profile}
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text


async def ask_code(http: httpx.AsyncClient, card: str) -> httpx.Response:
    page = await http.get("/me/login")
    return await http.post("/me/login", data={"card": card, "method": "code", "csrf_token": csrf_token(page.text)})


async def send_code(http: httpx.AsyncClient, card: str, code: str) -> httpx.Response:
    page = await http.get("/me/login")
    return await http.post("/me/login/code", data={"card": card, "code": code, "csrf_token": csrf_token(page.text)})


async def sign_in_with_pin(http: httpx.AsyncClient, card: str, pin: str) -> httpx.Response:
    page = await http.get("/me/login")
    return await http.post(
        "/me/login", data={"card": card, "pin": pin, "method": "pin", "csrf_token": csrf_token(page.text)}
    )


async def code_sign_in(http: httpx.AsyncClient, inbox: Inbox, card: str, address: str) -> None:
    asked = await ask_code(http, card)
    assert asked.status_code == 200, asked.text
    signed = await send_code(http, card, inbox.last_code_for(address))
    assert signed.status_code == 303 and signed.headers["location"] == "/me", signed.text


async def test_a_code_by_email_signs_in_once_and_a_pin_set_on_the_page_signs_in_next_time(
    mailing: Services, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0001", "Irina", "irina@mail.example")
        assert (await buy(http, network.shop_key, "5500-0001", "1000.00")).status_code == 201
        asked = await ask_code(http, "5500 0001")  # typed with a space: the card number is normalised
        assert asked.status_code == 200
        assert "i***@mail.example" in asked.text
        [message] = inbox.messages
        assert message["From"] == "cards@shop.example"
        code = inbox.last_code_for("irina@mail.example")
        assert code in message.get_content() and "10 minutes" in message.get_content()

        signed = await send_code(http, "5500-0001", code)
        assert signed.status_code == 303
        home = await http.get("/me")
        assert home.status_code == 200
        shown = text_of(home)
        assert "30 points Worth RUB 30.00 at the till" in shown  # 3 % of 1,000.00, a point worth 1.00
        assert "Card 55000001" in shown
        assert re.search(
            r"Shop till [\d/]+, [\d:]+\s?[AP]M RUB 1,000.00 \+30 earned", shown
        )  # where, when, check, points

        saved = await http.post(
            "/me/pin", data={"pin": "4831", "pin_repeat": "4831", "csrf_token": csrf_token(home.text)}
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/me?saved=pin"
        out = await http.post("/me/logout", data={"csrf_token": csrf_token(home.text)})
        assert out.status_code == 303
        http.cookies.delete("coalition_me", path="/me")
        assert (await http.get("/me")).status_code == 303

        reused = await send_code(http, "5500-0001", code)  # a code works once
        assert reused.status_code == 401 and "the code is wrong or has expired" in reused.text
        wrong_pin = await sign_in_with_pin(http, "5500-0001", "1111")
        assert wrong_pin.status_code == 401 and "the card number or the PIN is wrong" in wrong_pin.text
        with_pin = await sign_in_with_pin(http, "5500-0001", "4831")
        assert with_pin.status_code == 303
        assert "Irina" in (await http.get("/me")).text


async def test_a_code_expires_after_ten_minutes_and_only_the_newest_counts(
    mailing: Services, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0002", "Oleg", "oleg@mail.example")
        await ask_code(http, "5500-0002")
        first = inbox.last_code_for("oleg@mail.example")
        clock.moment += timedelta(minutes=10, seconds=1)
        late = await send_code(http, "5500-0002", first)
        assert late.status_code == 401 and "expired" in late.text
        await ask_code(http, "5500-0002")
        second = inbox.last_code_for("oleg@mail.example")
        await ask_code(http, "5500-0002")
        third = inbox.last_code_for("oleg@mail.example")
        if second != third:  # (the same six digits twice is a one-in-a-million chance)
            assert (await send_code(http, "5500-0002", second)).status_code == 401
        flood = await ask_code(http, "5500-0002")  # a fourth code within 15 minutes
        assert flood.status_code == 429 and "several codes were sent already" in flood.text
        assert (await send_code(http, "5500-0002", third)).status_code == 303


async def test_guessing_codes_is_refused_for_a_while_even_with_the_right_code(
    mailing: Services, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0003", "Maria", "maria@mail.example")
        await ask_code(http, "5500-0003")
        code = inbox.last_code_for("maria@mail.example")
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            refused = await send_code(http, "5500-0003", wrong)
            assert refused.status_code == 401
        blocked = await send_code(http, "5500-0003", code)
        assert blocked.status_code == 429
        assert "too many wrong codes or PINs for this card; try again in 15 minutes" in blocked.text
        clock.moment += timedelta(minutes=16)  # the refusal lasts 15 minutes; the old code expired meanwhile
        await ask_code(http, "5500-0003")
        assert (await send_code(http, "5500-0003", inbox.last_code_for("maria@mail.example"))).status_code == 303


async def test_without_a_pin_or_an_email_the_page_says_to_ask_a_cashier(mailing: Services) -> None:
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0004", "No Mail", None)
        for response in (await ask_code(http, "5500-0004"), await sign_in_with_pin(http, "5500-0004", "1234")):
            assert response.status_code == 409
            assert "ask a cashier to add your e-mail address" in response.text
        unknown = await sign_in_with_pin(http, "9999-9999", "1234")
        assert unknown.status_code == 404 and "no card with this number" in unknown.text


async def test_a_blocked_card_opens_nothing(mailing: Services, smtp: tuple[Inbox, int]) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0007", "Lost Card", "lost@mail.example")
        blocked = await http.post("/v1/cards/5500-0007/block", headers=auth(network.shop_key, new_key()))
        assert blocked.status_code == 200, blocked.text
        refused = await ask_code(http, "5500-0007")
        assert refused.status_code == 409 and "this card is not active" in refused.text
        assert inbox.messages == []


async def test_a_bad_pin_is_refused_with_the_field_named(mailing: Services, smtp: tuple[Inbox, int]) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0005", "Vera", "vera@mail.example")
        await code_sign_in(http, inbox, "5500-0005", "vera@mail.example")
        token = csrf_token((await http.get("/me")).text)
        for pin, repeat, message in (
            ("12a4", "12a4", "a PIN has 4 to 8 digits"),
            ("7777", "7777", "too easy to guess"),
            ("2468", "2469", "the two PINs differ"),
        ):
            refused = await http.post("/me/pin", data={"pin": pin, "pin_repeat": repeat, "csrf_token": token})
            assert refused.status_code == 422 and message in refused.text
        forged = await http.post("/me/pin", data={"pin": "2468", "pin_repeat": "2468", "csrf_token": "guessed"})
        assert forged.status_code == 403
        assert "Set a PIN" in (await http.get("/me")).text  # nothing was saved


async def test_a_member_session_shows_only_that_members_data(mailing: Services, smtp: tuple[Inbox, int]) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as first, client(mailing) as second:
        await enrol_with_email(first, network.shop_key, "5500-0101", "Anna First", "anna@mail.example")
        await enrol_with_email(first, network.shop_key, "5500-0102", "Boris Second", "boris@mail.example")
        assert (await buy(first, network.shop_key, "5500-0101", "1100.00")).status_code == 201
        assert (await buy(first, network.cafe_key, "5500-0102", "2300.00")).status_code == 201
        await code_sign_in(first, inbox, "5500-0101", "anna@mail.example")
        await code_sign_in(second, inbox, "5500-0102", "boris@mail.example")

        anna, boris = text_of(await first.get("/me")), text_of(await second.get("/me"))
        assert "Anna First" in anna and "55000101" in anna and "33 points" in anna and "Shop till" in anna
        assert "Boris Second" not in anna and "55000102" not in anna and "69 points" not in anna
        assert "Cafe till" not in anna
        assert "Boris Second" in boris and "55000102" in boris and "69 points" in boris and "Cafe till" in boris
        assert "Anna First" not in boris and "55000101" not in boris and "33 points" not in boris
        assert "Shop till" not in boris
        # the page reads the member from the session only: a card number in the query changes nothing
        assert "Boris Second" not in (await first.get("/me?card=5500-0102&member_id=2")).text
        # a member's cookie opens neither the terminal nor the console
        assert (await first.get("/terminal")).status_code == 303
        assert (await first.get("/console")).status_code == 303


async def test_guessing_pins_is_refused_for_a_while(mailing: Services, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, _port = smtp
    network = await make_network(mailing)
    async with client(mailing) as http:
        await enrol_with_email(http, network.shop_key, "5500-0006", "Pavel", "pavel@mail.example")
        await code_sign_in(http, inbox, "5500-0006", "pavel@mail.example")
        token = csrf_token((await http.get("/me")).text)
        assert (
            await http.post("/me/pin", data={"pin": "9135", "pin_repeat": "9135", "csrf_token": token})
        ).status_code == 303
        http.cookies.clear()
        for _ in range(5):
            assert (await sign_in_with_pin(http, "5500-0006", "0000")).status_code == 401
        refused = await sign_in_with_pin(http, "5500-0006", "9135")
        assert refused.status_code == 429 and "too many wrong codes or PINs for this card" in refused.text
        clock.moment += timedelta(minutes=16)
        assert (await sign_in_with_pin(http, "5500-0006", "9135")).status_code == 303


async def test_with_several_networks_the_member_names_theirs(mailing: Services, smtp: tuple[Inbox, int]) -> None:
    inbox, _port = smtp
    shop = await make_network(mailing, "shop")
    park = await make_network(mailing, "park")
    async with client(mailing) as http:
        await enrol_with_email(http, shop.shop_key, "5500-0200", "Shop Member", "shop@mail.example")
        await enrol_with_email(http, park.shop_key, "5500-0200", "Park Member", "park@mail.example")
        form = await http.get("/me/login?network=park")
        assert 'id="network"' in form.text and 'value="park"' in form.text  # a link can fill the network in
        without = await ask_code(http, "5500-0200")
        assert without.status_code == 422 and "type the network code" in without.text
        unknown = await http.post(
            "/me/login",
            data={"network": "nowhere", "card": "5500-0200", "method": "code", "csrf_token": csrf_token(form.text)},
        )
        assert unknown.status_code == 404 and "no network has the code" in unknown.text
        asked = await http.post(
            "/me/login",
            data={"network": "park", "card": "5500-0200", "method": "code", "csrf_token": csrf_token(form.text)},
        )
        assert asked.status_code == 200 and "p***@mail.example" in asked.text
        assert inbox.messages[-1]["To"] == "park@mail.example"  # the same card number in the park's network
        signed = await http.post(
            "/me/login/code",
            data={
                "network": "park",
                "card": "5500-0200",
                "code": inbox.last_code_for("park@mail.example"),
                "csrf_token": csrf_token(asked.text),
            },
        )
        assert signed.status_code == 303
        home = text_of(await http.get("/me"))
        assert "Park Member" in home and "Shop Member" not in home
