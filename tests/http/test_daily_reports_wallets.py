"""The owner's daily report with money on the card (issue 14), through a real SMTP server on both engines: the till's
money apart from the wallet's, top-ups taken, and the cash in hand the drawer should hold.

The shop's day of 10 March 2026 (Moscow), on the seed's small-shop program (3 % of the check in points):
09:30 Anna tops up 300.00 at the shop's till; 10:05 Anna sells 2,000.00, of which the wallet pays 250.00 (1,750.00
at the till, 60 points); 11:00 Anna sells 500.00, all at the till (15 points); 16:00 Vera refunds 1,000.00 of the
first: half of each tender, last first — 125.00 back into the wallet and 875.00 at the till, 30 points taken back.
Paid in money 1,750.00 + 500.00 = 2,250.00; cash in hand 2,250.00 + 300.00 − 875.00 = 1,675.00."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.test_daily_reports import SHOP_ADDRESS, _buy, _moscow
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]


async def test_the_report_shows_wallet_money_apart_and_the_cash_in_hand(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net = await make_network(services)
            listing = await services.admin.listing(net.ref)
            shop_partner, shop_outlet = listing["partners"][0]["id"], listing["outlets"][0]["id"]
            for login, name in (("anna", "Anna"), ("vera", "Vera")):
                await services.admin.create_cashier(net.ref, shop_outlet, login, name, f"{login}-secret-1")
            await http.put(
                f"/v1/admin/partners/{shop_partner}/email", json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key)
            )
            await enrol(http, net.shop_key, "7001")
            clock.moment = _moscow(10, 9, 30)
            topped = await http.post(
                "/v1/wallets/top-ups",
                json={"customer": "7001", "amount": "300.00", "cashier": "anna"},
                headers=auth(net.shop_key, new_key()),
            )
            assert topped.status_code == 201, topped.text
            clock.moment = _moscow(10, 10, 5)
            first = await _buy(
                http,
                net.shop_key,
                "2000.00",
                _moscow(10, 10, 5),
                cashier="anna",
                tenders=[{"kind": "wallet", "amount": "250.00"}],
            )
            assert (first["to_collect"], first["points_earned"]) == ("1750.00", 60)
            clock.moment = _moscow(10, 11)
            await _buy(http, net.shop_key, "500.00", _moscow(10, 11), cashier="anna")
            clock.moment = _moscow(10, 16)
            refund = await http.post(
                f"/v1/purchases/{first['id']}/refunds",
                json={"amount": "1000.00", "cashier": "vera"},
                headers=auth(net.shop_key, new_key()),
            )
            assert refund.status_code == 201, refund.text
            assert (refund.json()["money_back"], refund.json()["to_wallet"]) == ("875.00", "125.00")
            clock.moment = _moscow(11, 2)
            sent = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(net.admin_key))
            assert sent.json()["sent"] == ["Shop"], sent.text
        [mail] = inbox.to(SHOP_ADDRESS)
        text = mail.get_body(("plain",)).get_content()
        lines = text.splitlines()
        total = lines[lines.index("Total") + 1 : lines.index("Total") + 14]
        assert total == [
            "  revenue through the system: RUB\xa02,500.00",
            "  checks: 2",
            "  paid in money: RUB\xa02,250.00",
            "  paid from wallets: RUB\xa0250.00",
            "  average check: RUB\xa01,250.00",
            "  points issued: 75",
            "  points spent: 0",
            "  discounts: RUB\xa00.00",
            "  refunds: 1 for RUB\xa01,000.00",
            "  money back at the till: RUB\xa0875.00",
            "  refunded into wallets: RUB\xa0125.00",
            "  wallet top-ups: 1 for RUB\xa0300.00",
            "  cash in hand: RUB\xa01,675.00",
        ]
        for line in (
            "  Anna (anna), Shop till: checks 2, revenue RUB\xa02,500.00, paid in money RUB\xa02,250.00, "
            "refunds 0 for RUB\xa00.00, from wallets RUB\xa0250.00, top-ups RUB\xa0300.00, "
            "cash in hand RUB\xa02,550.00",
            "  Vera (vera), Shop till: checks 0, revenue RUB\xa00.00, paid in money RUB\xa00.00, "
            "refunds 1 for RUB\xa01,000.00, from wallets RUB\xa00.00, top-ups RUB\xa00.00, cash in hand -RUB\xa0875.00",
            "Purchases and refunds: 4 (the same in the attached CSV)",
            "  10:05\u202fAM purchase, Shop till, receipt R-101005, cashier anna: check RUB\xa02,000.00, "
            "paid in money RUB\xa01,750.00, points earned 60, points spent 0, from the wallet RUB\xa0250.00",
            "  4:00\u202fPM refund, Shop till, receipt R-101005, cashier vera: RUB\xa01,000.00 of the check, "
            "money back RUB\xa0875.00, points taken back 30, points returned 0, back into the wallet RUB\xa0125.00",
        ):
            assert line in lines, (line, text)
        [top_up_line] = [line for line in lines if "wallet top-up, " in line]
        assert top_up_line.startswith("  9:30\u202fAM wallet top-up, Shop till, transaction ")
        assert top_up_line.endswith(": taken RUB\xa0300.00, cashier anna")  # the cashier who took the money
        assert not [line for line in lines if line.startswith("  no cashier named")]
        assert "'cash in hand'" in lines[-1]
        [attachment] = list(mail.iter_attachments())
        rows = list(csv.reader(io.StringIO(attachment.get_content())))
        assert rows[0][:10] == [
            "time", "kind", "outlet", "receipt", "cashier", "check", "money", "wallet", "points_earned", "points_spent"
        ]  # fmt: skip
        assert [(row[1], row[4], row[5], row[6], row[7]) for row in rows[1:]] == [
            ("top_up", "anna", "0.00", "300.00", "0.00"),
            ("purchase", "anna", "2000.00", "1750.00", "250.00"),
            ("purchase", "anna", "500.00", "500.00", "0.00"),
            ("refund", "vera", "1000.00", "875.00", "125.00"),
        ]
    finally:
        await services.close()


async def test_the_report_shows_gift_card_money_apart_and_who_sold_the_card(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    """09:40 Anna sells a 500.00 gift card at the shop's till; 10:05 she sells 1,000.00 of goods, 300.00 paid by a
    gift card (700.00 at the till, 30 points on the whole check: the card is payment, not discount). Paid in money
    700.00; cash in hand 700.00 + 500.00 = 1,200.00, all of it Anna's."""
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net = await make_network(services)
            listing = await services.admin.listing(net.ref)
            shop_partner, shop_outlet = listing["partners"][0]["id"], listing["outlets"][0]["id"]
            await services.admin.create_cashier(net.ref, shop_outlet, "anna", "Anna", "anna-secret-1")
            await http.put(
                f"/v1/admin/partners/{shop_partner}/email", json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key)
            )
            await enrol(http, net.shop_key, "7001")
            clock.moment = _moscow(10, 9, 40)
            sold = await http.post(
                "/v1/gift-cards", json={"amount": "500.00", "cashier": "anna"}, headers=auth(net.shop_key, new_key())
            )
            assert sold.status_code == 201, sold.text
            stranger = await http.post(
                "/v1/gift-cards", json={"amount": "500.00", "cashier": "nobody"}, headers=auth(net.shop_key, new_key())
            )
            assert (stranger.status_code, stranger.json()["field"]) == (422, "cashier")  # and no card is sold
            clock.moment = _moscow(10, 10, 5)
            card = {"kind": "gift_card", "number": sold.json()["number"], "amount": "300.00"}
            bought = await _buy(http, net.shop_key, "1000.00", _moscow(10, 10, 5), cashier="anna", tenders=[card])
            assert (bought["to_collect"], bought["points_earned"]) == ("700.00", 30)
            clock.moment = _moscow(11, 2)
            sent = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(net.admin_key))
            assert sent.json()["sent"] == ["Shop"], sent.text
        [mail] = inbox.to(SHOP_ADDRESS)
        lines = mail.get_body(("plain",)).get_content().splitlines()
        total = lines[lines.index("Total") + 1 : lines.index("Total") + 17]
        assert total == [
            "  revenue through the system: RUB\xa01,000.00",
            "  checks: 1",
            "  paid in money: RUB\xa0700.00",
            "  paid from wallets: RUB\xa00.00",
            "  paid by gift cards: RUB\xa0300.00",
            "  average check: RUB\xa01,000.00",
            "  points issued: 30",
            "  points spent: 0",
            "  discounts: RUB\xa00.00",
            "  refunds: 0 for RUB\xa00.00",
            "  money back at the till: RUB\xa00.00",
            "  refunded into wallets: RUB\xa00.00",
            "  wallet top-ups: 0 for RUB\xa00.00",
            "  refunded onto gift cards: RUB\xa00.00",
            "  gift cards sold: 1 for RUB\xa0500.00",
            "  cash in hand: RUB\xa01,200.00",
        ]
        assert (
            "  Anna (anna), Shop till: checks 1, revenue RUB\xa01,000.00, paid in money RUB\xa0700.00, refunds 0 for "
            "RUB\xa00.00, by gift cards RUB\xa0300.00, gift cards sold RUB\xa0500.00, from wallets RUB\xa00.00, "
            "top-ups RUB\xa00.00, cash in hand RUB\xa01,200.00"
        ) in lines
        [sale_line] = [line for line in lines if "gift card sold, " in line]
        assert sale_line.startswith("  9:40\u202fAM gift card sold, Shop till, transaction ")
        assert sale_line.endswith(": taken RUB\xa0500.00, cashier anna")
        assert (
            "  10:05\u202fAM purchase, Shop till, receipt R-101005, cashier anna: check RUB\xa01,000.00, "
            "paid in money RUB\xa0700.00, points earned 30, points spent 0, by gift cards RUB\xa0300.00"
        ) in lines
        assert "gift cards sold less the money given back" in lines[-1]
        [attachment] = list(mail.iter_attachments())
        rows = list(csv.reader(io.StringIO(attachment.get_content())))
        assert rows[0][-2:] == ["gift_card", "till_time"]
        assert [(row[1], row[4], row[6], row[-2]) for row in rows[1:]] == [
            ("gift_card_sale", "anna", "500.00", "0.00"),
            ("purchase", "anna", "700.00", "300.00"),
        ]
    finally:
        await services.close()
