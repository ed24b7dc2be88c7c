"""The gift cards a member keeps on /me, over HTTP on both engines: added with the right PIN and listed with the
balance a purchase left, refusals beside the form (wrong PIN, unknown number, another network's card, the cap, the
misses), added twice is once, and removed."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from coalition.application import member_gift_cards
from coalition.wiring import Services
from tests.http.test_gift_card_tenders import pay, sell
from tests.support import client, enrol, make_network
from tests.web.support import csrf_token

pytestmark = pytest.mark.anyio

CARD, PIN = "7700-0001", "4831"


def text_of(response: httpx.Response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).replace("\xa0", " ")


async def signed_in_member(services: Services, http: httpx.AsyncClient, key: str, network: str = "shop") -> int:
    card = CARD
    await enrol(http, key, card)
    async with services.engine.connect() as connection:
        member_id = int(await connection.scalar(sa.text("SELECT MAX(id) FROM members")))  # the one just enrolled
    await services.member_page.set_pin(member_id, PIN, PIN)
    page = await http.get("/me/login")
    signed = await http.post(
        "/me/login",
        data={"network": network, "card": card, "pin": PIN, "method": "pin", "csrf_token": csrf_token(page.text)},
    )
    assert signed.status_code == 303, signed.text
    return member_id


async def add(http: httpx.AsyncClient, number: str, pin: str = "") -> httpx.Response:
    home = await http.get("/me")
    return await http.post("/me/gift-cards", data={"number": number, "pin": pin, "csrf_token": csrf_token(home.text)})


async def links(services: Services) -> int:
    async with services.engine.connect() as connection:
        return int(await connection.scalar(sa.text("SELECT COUNT(*) FROM member_gift_cards")))


async def test_a_card_added_with_its_pin_shows_the_balance_a_purchase_left_and_is_removed(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await signed_in_member(services, http, net.shop_key)
        number = await sell(http, net.shop_key, "500.00", pin="1234")
        wrong = await add(http, number, "9999")
        assert (
            wrong.status_code == 422 and "wrong PIN for gift card" in wrong.text and "4 attempt(s) left" in wrong.text
        )
        assert 'id="gift_card_pin" name="pin" type="password" inputmode="numeric" autocomplete="off" aria-invalid' in (
            wrong.text
        )
        assert await links(services) == 0
        added = await add(http, number, "1234")
        assert added.status_code == 303 and added.headers["location"].startswith("/me?saved=gift_card")
        again = await add(http, number)  # added before: nothing changes, no PIN asked
        assert again.status_code == 303 and await links(services) == 1
        shown = text_of(await http.get("/me"))
        assert f"{number} RUB 500.00 of RUB 500.00, active" in shown

        paid = await pay(http, net.cafe_key, "120.00", [{"kind": "gift_card", "number": number, "pin": "1234"}])
        assert paid.status_code == 201, paid.text
        assert f"{number} RUB 380.00 of RUB 500.00, active" in text_of(await http.get("/me"))

        home = await http.get("/me")
        removed = await http.post("/me/gift-cards/remove", data={"number": number, "csrf_token": csrf_token(home.text)})
        assert removed.status_code == 303 and await links(services) == 0
        assert number not in (await http.get("/me")).text
        forged = await http.post("/me/gift-cards", data={"number": number, "csrf_token": "guessed"})
        assert forged.status_code == 403 and await links(services) == 0


async def test_unknown_numbers_and_other_networks_cards_are_not_found_and_spend_misses(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        theirs = await sell(http, other.shop_key, "100.00")
        await signed_in_member(services, http, net.shop_key)
        foreign = await add(http, theirs)
        assert foreign.status_code == 404 and f"this network has no gift card {theirs}" in foreign.text
        for attempt in range(member_gift_cards.MISSES.capacity - 1):
            unknown = await add(http, f"GC-NOPE-{attempt}")
            assert unknown.status_code == 404, unknown.text
        refused = await add(http, "GC-NOPE-LAST")
        assert refused.status_code == 429 and "too many gift card numbers" in refused.text
        assert "retry-after" in refused.headers
        assert await links(services) == 0


async def test_a_member_keeps_at_most_twenty_cards(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await signed_in_member(services, http, net.shop_key)
        for _ in range(member_gift_cards.CARDS_MAX):
            assert (await add(http, await sell(http, net.shop_key, "10.00"))).status_code == 303
        one_more = await add(http, await sell(http, net.shop_key, "10.00"))
        assert one_more.status_code == 422 and "at most 20 gift cards on one page" in one_more.text
        assert await links(services) == member_gift_cards.CARDS_MAX
