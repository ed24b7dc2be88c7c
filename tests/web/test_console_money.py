"""Money on cards in the console and on the member's page, over HTTP on both engines (issue 14): the liability, the
top-ups and wallet payments per outlet (an owner sees their partner's only), a member's wallet with its limits form
and its closing, the reports' till money apart from the wallet's, and /me.

Today at the test network: 100.00 topped up at the shop; a 50.00 check at the café, 30.00 of it from the wallet
(20.00 at the till); 200.00 at the shop's till; 25.00 of the café's check refunded — half of each tender: 15.00 back
into the wallet, 10.00 at the till. The wallet holds 100.00 − 30.00 + 15.00 = 85.00."""

from __future__ import annotations

import re
from typing import Any

import pytest

from coalition.adapters.web import formatting
from coalition.wiring import Services
from tests.support import Network, auth, client, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
CARD = "7700-0001"


def rub(minor: int) -> str:
    return formatting.money(minor, "RUB", "en")


# gift cards sold, paid by them, refunded onto them; charged by devices
NO_CARDS = [f"0 · {rub(0)}", rub(0), rub(0), f"0 · {rub(0)}"]


def rows(html: str, table_id: str) -> list[list[str]]:
    """The table's rows (body and foot) as the cells' texts."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert found is not None, f"no table {table_id}"
    body = found.group(0).split("</thead>", 1)[-1]
    return [
        [
            re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


async def _day(services: Services) -> tuple[Network, dict[str, Any]]:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    cafe = listing["partners"][1]["id"]
    await services.web_sessions.add_console_user(net.ref.id, "owner", cafe, "cafe", "Cafe owner", "cafe-secret-1")
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        topped = await http.post(
            "/v1/wallets/top-ups", json={"customer": CARD, "amount": "100.00"}, headers=auth(net.shop_key, new_key())
        )
        assert topped.status_code == 201, topped.text
        body = {
            "customer": CARD,
            "amount": "50.00",
            "receipt": "C-1",
            "tenders": [{"kind": "wallet", "amount": "30.00"}],
        }
        paid = await http.post("/v1/purchases", json=body, headers=auth(net.cafe_key, new_key()))
        assert paid.status_code == 201 and paid.json()["to_collect"] == "20.00", paid.text
        plain = {"customer": CARD, "amount": "200.00", "receipt": "S-1"}
        assert (await http.post("/v1/purchases", json=plain, headers=auth(net.shop_key, new_key()))).status_code == 201
        refund = await http.post(
            f"/v1/purchases/{paid.json()['id']}/refunds",
            json={"amount": "25.00"},
            headers=auth(net.cafe_key, new_key()),
        )
        assert (refund.json()["money_back"], refund.json()["to_wallet"]) == ("10.00", "15.00"), refund.text
    return net, {"member_id": member["member"]["id"], "shop": listing["partners"][0]["id"], "cafe": cafe}


async def test_the_administrator_sees_the_liability_and_every_outlet(services: Services) -> None:
    _net, ids = await _day(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get("/console/money")
        assert page.status_code == 200, page.text
        assert rows(page.text, "liability") == [["RUB", "1", "0", rub(8500), rub(0), rub(8500), rub(0)]]
        assert rows(page.text, "money-per-outlet") == [
            ["Cafe till Cafe", f"0 · {rub(0)}", rub(3000), rub(1500), *NO_CARDS, rub(2000), rub(1000), rub(1000)],
            ["Shop till Shop", f"1 · {rub(10000)}", rub(0), rub(0), *NO_CARDS, rub(20000), rub(0), rub(30000)],
            ["Total", f"1 · {rub(10000)}", rub(3000), rub(1500), *NO_CARDS, rub(22000), rub(1000), rub(31000)],
        ]
        shop_only = await http.get("/console/money", params={"partner": str(ids["shop"])})
        assert [row[0] for row in rows(shop_only.text, "money-per-outlet")] == ["Shop till Shop", "Total"]
        tomorrow = await http.get("/console/money", params={"from": "2100-01-01", "to": "2100-01-02"})
        nothing = [f"0 · {rub(0)}", rub(0), rub(0), *NO_CARDS, *[rub(0)] * 3]
        assert rows(tomorrow.text, "money-per-outlet")[-1][1:] == nothing
        bad = await http.get("/console/money", params={"from": "1.1.2026"})
        assert bad.status_code == 422 and 'id="from-error"' in bad.text and 'aria-invalid="true"' in bad.text
        backwards = await http.get("/console/money", params={"from": "2026-03-10", "to": "2026-03-01"})
        assert backwards.status_code == 422 and 'id="to-error"' in backwards.text

        reports = await http.get("/console/reports")
        assert re.search(r'id="total-collected">([^<]+)<', reports.text).group(1) == rub(22000)  # not the wallet's
        assert re.search(r'id="total-wallets">([^<]+)<', reports.text).group(1) == rub(3000)
        assert re.search(r'id="total-cash">([^<]+)<', reports.text).group(1) == rub(31000)


async def test_an_owner_sees_their_outlets_and_not_the_liability(services: Services) -> None:
    _net, ids = await _day(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "cafe", "cafe-secret-1")).status_code == 303
        page = await http.get("/console/money", params={"partner": str(ids["shop"])})  # not theirs: ignored
        assert page.status_code == 200
        assert "Wallet liability" not in page.text and 'id="liability"' not in page.text
        assert rows(page.text, "money-per-outlet") == [
            ["Cafe till", f"0 · {rub(0)}", rub(3000), rub(1500), *NO_CARDS, rub(2000), rub(1000), rub(1000)],
            ["Total", f"0 · {rub(0)}", rub(3000), rub(1500), *NO_CARDS, rub(2000), rub(1000), rub(1000)],
        ]
        assert (await http.get(f"/console/members/{ids['member_id']}")).status_code in (403, 404)


async def test_gift_card_money_per_outlet_beside_the_wallets(services: Services) -> None:
    """The shop sells a 60.00 card; the café takes 40.00 of it on a 50.00 check (10.00 at the till), then refunds
    25.00 of that check: half of each tender, 20.00 back onto the card and 5.00 at the till. The shop's till holds
    the card's 60.00; the café's 10.00 − 5.00 = 5.00."""
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        sold = await http.post("/v1/gift-cards", json={"amount": "60.00"}, headers=auth(net.shop_key, new_key()))
        assert sold.status_code == 201, sold.text
        card = {"kind": "gift_card", "number": sold.json()["number"], "amount": "40.00"}
        body = {"customer": CARD, "amount": "50.00", "receipt": "C-1", "tenders": [card]}
        paid = await http.post("/v1/purchases", json=body, headers=auth(net.cafe_key, new_key()))
        assert paid.status_code == 201 and paid.json()["to_collect"] == "10.00", paid.text
        refund = await http.post(
            f"/v1/purchases/{paid.json()['id']}/refunds",
            json={"amount": "25.00"},
            headers=auth(net.cafe_key, new_key()),
        )
        assert refund.status_code == 201 and refund.json()["money_back"] == "5.00", refund.text
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get("/console/money")
        idle = f"0 · {rub(0)}"  # no device charged
        none = [f"0 · {rub(0)}", rub(0), rub(0)]  # no wallet moved: top-ups, paid from wallets, refunded into them
        assert rows(page.text, "money-per-outlet") == [
            ["Cafe till Cafe", *none, f"0 · {rub(0)}", rub(4000), rub(2000), idle, rub(1000), rub(500), rub(500)],
            ["Shop till Shop", *none, f"1 · {rub(6000)}", rub(0), rub(0), idle, rub(0), rub(0), rub(6000)],
            ["Total", *none, f"1 · {rub(6000)}", rub(4000), rub(2000), idle, rub(1000), rub(500), rub(6500)],
        ]
        reports = await http.get("/console/reports")
        figure = {
            name: re.search(rf'id="{name}">([^<]+)<', reports.text).group(1)  # type: ignore[union-attr]
            for name in ("total-collected", "total-gift-cards-paid", "total-gift-cards-sold", "total-cash")
        }
        assert figure == {
            "total-collected": rub(1000),  # the card's money is not the till's
            "total-gift-cards-paid": rub(4000),
            "total-gift-cards-sold": f"1 · {rub(6000)}",
            "total-cash": rub(6500),
        }
        assert "Paid by gift cards" in reports.text and "Gift cards sold" in reports.text


async def test_reports_without_wallets_read_as_before(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        plain = {"customer": CARD, "amount": "200.00", "receipt": "S-1"}
        assert (await http.post("/v1/purchases", json=plain, headers=auth(net.shop_key, new_key()))).status_code == 201
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        reports = await http.get("/console/reports")
        assert (
            reports.status_code == 200
            and "Cash in hand" not in reports.text
            and "Paid from wallets" not in reports.text
        )
        money = await http.get("/console/money")
        assert rows(money.text, "liability") == [["No member has a wallet yet."]]


async def test_the_members_wallet_limits_and_close_in_the_console(services: Services) -> None:
    net, ids = await _day(services)
    member_page = f"/console/members/{ids['member_id']}"
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get(member_page)
        assert re.search(r'id="wallet-balance">([^<]+)<', page.text).group(1) == rub(8500)
        assert [row[1:] for row in rows(page.text, "wallet-history")] == [
            ["refund · Cafe till", "+" + rub(1500), rub(8500)],
            ["payment · Cafe till", rub(-3000), rub(7000)],
            ["top-up · Shop till", "+" + rub(10000), rub(10000)],
        ]
        token = csrf_token(page.text)
        form = {"credit_limit": "20.00", "daily_spend_limit": "50.00", "csrf_token": token}
        saved = await http.post(f"{member_page}/wallet", data=form)
        assert saved.status_code == 303 and "done=wallet-limits" in saved.headers["location"]
        page = await http.get(member_page + "?done=wallet-limits")
        assert "The wallet&#39;s limits were saved." in page.text or "The wallet's limits were saved." in page.text
        assert re.search(r'id="wallet-credit">([^<]+)<', page.text).group(1) == rub(2000)
        assert re.search(r'id="wallet-available">([^<]+)<', page.text).group(1) == rub(2000)  # 50.00 − 30.00 today
        assert 'name="credit_limit" inputmode="decimal" autocomplete="off" value="20.00"' in page.text

        refused = await http.post(f"{member_page}/wallet", data=form | {"credit_limit": "abc"})
        assert refused.status_code == 422
        assert re.search(r'id="credit_limit"[^>]*aria-invalid="true"', refused.text)
        answer = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(net.shop_key))
        assert answer.json()["credit_limit"] == "20.00"  # the refusal wrote nothing

        closed = await http.post(f"{member_page}/wallet/close", data={"csrf_token": token})
        assert closed.status_code == 303
        page = await http.get(member_page)
        assert re.search(r'id="wallet-status">([^<]+)<', page.text).group(1) == "closed"
        assert 'id="wallet-limits"' not in page.text
        liability = rows((await http.get("/console/money")).text, "liability")
        assert liability == [["RUB", "1", "1", rub(8500), rub(0), rub(8500), rub(2000)]]


async def test_the_member_sees_their_wallet_on_their_page(services: Services) -> None:
    _net, ids = await _day(services)
    await services.member_page.set_pin(ids["member_id"], "2580", "2580")
    async with client(services) as http:
        login = await http.get("/me/login")
        signed = await http.post(
            "/me/login", data={"card": CARD, "pin": "2580", "method": "pin", "csrf_token": csrf_token(login.text)}
        )
        assert signed.status_code == 303, signed.text
        page = await http.get("/me")
        assert re.search(r'id="wallet-balance">([^<]+)<', page.text).group(1) == rub(8500)
        assert f"You can pay {rub(8500)} now" in page.text
        assert [row[1:] for row in rows(page.text, "wallet-history")] == [
            ["+" + rub(1500), rub(8500)],
            [rub(-3000), rub(7000)],
            ["+" + rub(10000), rub(10000)],
        ]
        russian = await http.get("/me", params={"lang": "ru"})
        assert "Деньги на моей карте" in russian.text


async def test_what_devices_charged_from_wallets_is_the_devices_partners_taking_in_no_till(services: Services) -> None:
    """A water dispenser (slot W, 1.20) pours twice from a wallet topped up with 10.00 at the shop: its outlet shows
    2 charges for 2.40, none of it in a till's cash; a hold of 5.00 captured for 3.50 counts 3.50."""
    from tests.http.device_charge_support import add_device

    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    dispenser = await add_device(
        services, net.ref, "Water", "dispenser", {"slots": {"W": {"name": "Water", "price": "1.20"}}}
    )
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        body = {"customer": CARD, "amount": "10.00"}
        assert (
            await http.post("/v1/wallets/top-ups", json=body, headers=auth(net.shop_key, new_key()))
        ).status_code == 201
        device = auth(dispenser.key, new_key())
        for _ in range(2):
            poured = await http.post(
                "/v1/devices/charges", json={"customer": CARD, "product": "W"}, headers=auth(dispenser.key, new_key())
            )
            assert poured.status_code == 201, poured.text
        held = await http.post("/v1/devices/holds", json={"customer": CARD, "amount": "5.00"}, headers=device)
        assert held.status_code == 201, held.text
        captured = await http.post(
            f"/v1/devices/holds/{held.json()['hold']}/capture",
            json={"amount": "3.50"},
            headers=auth(dispenser.key, new_key()),
        )
        assert captured.status_code in (200, 201), captured.text
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get("/console/money")
        by_outlet = {row[0]: row for row in rows(page.text, "money-per-outlet")}
        assert by_outlet["Water machine Water"][7] == f"3 · {rub(590)}"  # 1.20 + 1.20 + 3.50
        assert by_outlet["Water machine Water"][-1] == rub(0)  # no till's cash
        assert by_outlet["Total"][-1] == rub(1000)  # the shop's top-up only
        reports = await http.get("/console/reports")
        shown = re.search(r'id="total-device-charges">([^<]+)<', reports.text)
        assert shown is not None and shown.group(1) == f"3 · {rub(590)}"
