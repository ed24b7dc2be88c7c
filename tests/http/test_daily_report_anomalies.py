"""The owner's daily report flags what is worth a look (issue 16, point 5), through a real SMTP server on both engines:
each flag raised by a crafted day, in one sentence with exact figures and the transactions behind it, in the e-mail
("Worth a look", English and Russian) and in a second CSV; a normal day raises none and reads as before.

The shop (the seed's small-shop program: 3 % of what is paid in money) on 10 March 2026, Moscow time:
  10:05 Vera sells card 7001 2,000.00 (R-1): 60 points.   11:00 Vera sells 7001 2,000.00 paying 60 points (R-3):
  1,940.00 paid, 58 points, so 7001 holds 58.   10:10–10:30 Anna credits card 7002 five times, 100.00 each (R-2a…e):
  15 points.   12:00 Vera sells 7004 300.00 (R-4).   15:00 the server records Anna's sale R-5 of 400.00 that the
  till rang up at 13:30.   16:00 Vera refunds all of R-1: 60 points taken back from a member holding 58.
  16:10 and 16:20 Vera refunds 100.00 of R-4 and of R-2a: three refunds (2,200.00) against her 3 sales (4,300.00);
  Anna none against her 6 sales (900.00).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.device_charge_support import CARD, add_device, park_with_wallet
from tests.http.test_daily_reports import MOSCOW, SHOP_ADDRESS, _moscow
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find

JOBS = "/v1/admin/jobs/daily-reports"


class Shop:
    def __init__(self, http: httpx.AsyncClient, clock: SettableClock, key: str) -> None:
        self.http, self.clock, self.key = http, clock, key

    async def sale(
        self, card: str, amount: str, at: datetime, receipt: str, *, till_at: datetime | None = None, **extra: Any
    ) -> dict[str, Any]:
        self.clock.moment = at  # the server records it now; the till may say another time
        body = {
            "customer": card,
            "amount": amount,
            "receipt": receipt,
            "occurred_at": (till_at or at).isoformat(),
            **extra,
        }
        answer = await self.http.post("/v1/purchases", json=body, headers=auth(self.key, new_key()))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def refund(self, purchase: dict[str, Any], amount: str, at: datetime, cashier: str) -> dict[str, Any]:
        self.clock.moment = at
        answer = await self.http.post(
            f"/v1/purchases/{purchase['id']}/refunds",
            json={"amount": amount, "cashier": cashier},
            headers=auth(self.key, new_key()),
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


async def _shop(http: httpx.AsyncClient, services: Any, clock: SettableClock, cards: list[str]) -> tuple[Any, Shop]:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    outlet, partner = listing["outlets"][0]["id"], listing["partners"][0]["id"]
    for login in ("anna", "vera"):
        await services.admin.create_cashier(net.ref, outlet, login, login.title(), f"{login}-secret-1")
    stored = await http.put(
        f"/v1/admin/partners/{partner}/email", json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key)
    )
    assert stored.status_code == 200, stored.text
    for card in cards:
        await enrol(http, net.shop_key, card)
    return net, Shop(http, clock, net.shop_key)


def _text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _worth_a_look(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Worth a look") if "Worth a look" in lines else lines.index("Стоит проверить")
    return lines[start + 1 : lines.index("", start)]


def _csv(mail: EmailMessage, name: str) -> list[list[str]]:
    [part] = [part for part in mail.iter_attachments() if part.get_filename() == name]
    return list(csv.reader(io.StringIO(part.get_content())))


async def test_a_crafted_day_raises_each_flag_with_its_transactions(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net, shop = await _shop(http, services, clock, ["7001", "7002", "7004", "7005"])
            first = await shop.sale("7001", "2000.00", _moscow(10, 10, 5), "R-1", cashier="vera")
            credited = [
                await shop.sale("7002", "100.00", _moscow(10, 10, 10 + 5 * i), f"R-2{letter}", cashier="anna")
                for i, letter in enumerate("abcde")
            ]
            paid = await shop.sale("7001", "2000.00", _moscow(10, 11), "R-3", cashier="vera", redeem_points=60)
            assert (first["points_earned"], paid["amount_due"], paid["points_earned"]) == (60, "1940.00", 58)
            small = await shop.sale("7004", "300.00", _moscow(10, 12), "R-4", cashier="vera")
            await shop.sale("7005", "400.00", _moscow(10, 15), "R-5", cashier="anna", till_at=_moscow(10, 13, 30))
            back = await shop.refund(first, "2000.00", _moscow(10, 16), "vera")
            assert back["points_clawed_back"] == 60  # from a member holding 58: 2 points of debt
            await shop.refund(small, "100.00", _moscow(10, 16, 10), "vera")
            await shop.refund(credited[0], "100.00", _moscow(10, 16, 20), "vera")
            await shop.sale("7004", "100.00", _moscow(11, 0, 10), "R-6")  # the 11th's: not the 10th's
            clock.moment = _moscow(11, 2)

            sent = await http.post(JOBS, json={"day": "2026-03-10"}, headers=auth(net.admin_key))
            assert sent.status_code == 200, sent.text
            [mail] = inbox.to(SHOP_ADDRESS)
            assert _worth_a_look(_text(mail)) == [
                "  Refund of receipt R-1 at Shop till took back 60 points, but the member held only 58: the points "
                "the purchase earned had already been spent.",
                "    transactions: R-1",
                "  Card 7002 was credited at Shop till 5 times in the day: 15 points on RUB\xa0500.00 of checks.",
                "    transactions: R-2a, R-2b, R-2c, R-2d, R-2e",
                "  Sales at Shop till whose till time and server time differ by more than an hour: 1, the widest 90 "
                "minutes (receipt R-5, rung up 3/10/26, 1:30\u202fPM, recorded 3/10/26, 3:00\u202fPM).",
                "    transactions: R-5",
                "  Cashier vera at Shop till gave 3 refunds for RUB\xa02,200.00 against 3 sales of their own for "
                "RUB\xa04,300.00; the other cashiers together gave 0 for RUB\xa00.00 against 6 sales for "
                "RUB\xa0900.00.",
                "    transactions: R-1, R-4, R-2a",
            ]
            rows = _csv(mail, "anomalies-2026-03-10.csv")
            assert rows[0] == ["kind", "outlet", "explanation", "transactions"]
            assert [(row[0], row[1], row[3]) for row in rows[1:]] == [
                ("refund_of_spent_points", "Shop till", "R-1"),
                ("card_repeated", "Shop till", "R-2a R-2b R-2c R-2d R-2e"),
                ("till_clock_gap", "Shop till", "R-5"),
                ("cashier_refunds", "Shop till", "R-1 R-4 R-2a"),
            ]
            assert (
                rows[2][2]
                == "Card 7002 was credited at Shop till 5 times in the day: 15 points on RUB\xa0500.00 of checks."
            )
            assert _csv(mail, "report-2026-03-10.csv")[0][0] == "time"  # the day's list is still there

            # in the partner's language
            listing = await services.admin.listing(net.ref)
            stored = await http.put(
                f"/v1/admin/partners/{listing['partners'][0]['id']}/email",
                json={"email": SHOP_ADDRESS, "language": "ru"},
                headers=auth(net.admin_key),
            )
            assert stored.status_code == 200, stored.text
            again = {"day": "2026-03-10", "again": True}
            assert (await http.post(JOBS, json=again, headers=auth(net.admin_key))).status_code == 200
            russian = _worth_a_look(_text(inbox.to(SHOP_ADDRESS)[-1]))
            assert russian[0] == (
                "  Возврат по чеку R-1, Shop till: списано баллов 60, а у участника было только 58 — баллы, "
                "начисленные за покупку, уже были потрачены."
            )
            assert russian[1] == "    операции: R-1"
            assert len(russian) == 8
            assert russian[6] == (
                "  Кассир vera, Shop till: возвратов 3 на 2\xa0200,00\xa0₽ при своих продажах: 3 на 4\xa0300,00\xa0₽; "
                "у остальных кассиров вместе возвратов 0 на 0,00\xa0₽ при продажах: 6 на 900,00\xa0₽."
            )

            # the 11th: only R-6, nothing worth a look
            assert (await http.post(JOBS, json={"day": "2026-03-11"}, headers=auth(net.admin_key))).status_code == 200
            mail = inbox.to(SHOP_ADDRESS)[-1]
            assert "Стоит проверить" not in _text(mail)
            assert [part.get_filename() for part in mail.iter_attachments()] == ["report-2026-03-11.csv"]
    finally:
        await services.close()


async def test_points_far_above_the_usual_rate_and_a_normal_day(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    """The 30 days before the 10th: three 1,000.00 checks at 3 % (90 points: 3.00 per 100.00). On the 10th a card
    in the top tier (7 %: more than 50,000.00 spent, on 5 February, outside the 30 days) buys three times 1,000.00:
    210 points, 7.00 per 100.00, more than twice the usual. The 1st (the history's day) is a normal day."""
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net, shop = await _shop(http, services, clock, ["7010", "7011", "7012", "7013"])
            await shop.sale("7010", "50000.01", datetime(2026, 2, 5, 12, tzinfo=MOSCOW), "R-big")
            for index, card in enumerate(("7011", "7012", "7013")):
                made = await shop.sale(card, "1000.00", _moscow(1, 12 + index), f"R-h{index}", cashier="anna")
                assert made["points_earned"] == 30
            for index in range(3):
                made = await shop.sale("7010", "1000.00", _moscow(10, 12 + index), f"R-d{index}", cashier="anna")
                assert made["points_earned"] == 70
            clock.moment = _moscow(11, 2)

            assert (await http.post(JOBS, json={"day": "2026-03-01"}, headers=auth(net.admin_key))).status_code == 200
            normal = inbox.to(SHOP_ADDRESS)[-1]
            assert "Worth a look" not in _text(normal)
            assert [part.get_filename() for part in normal.iter_attachments()] == ["report-2026-03-01.csv"]

            assert (await http.post(JOBS, json={"day": "2026-03-10"}, headers=auth(net.admin_key))).status_code == 200
            assert _worth_a_look(_text(inbox.to(SHOP_ADDRESS)[-1])) == [
                "  Shop till granted 210 points on RUB\xa03,000.00 of checks: 7.00 points per RUB\xa0100.00, against "
                "3.00 over the previous 30 days (90 points on RUB\xa03,000.00).",
                "    transactions: R-d0, R-d1, R-d2",
            ]
    finally:
        await services.close()


async def test_a_device_used_outside_its_opening_hours(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    """An arcade open 10:00–22:00 uploads three offline uses the next morning: at 21:30, 22:15 and 23:40 on 1 July
    (Moscow). The two after closing are flagged, by the ledger transactions the uploads wrote."""
    inbox, port = smtp
    day_start = datetime(2026, 7, 1, 9, tzinfo=MOSCOW)
    clock = SettableClock(day_start)
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net, keys, partners = await park_with_wallet(services, http)
            hours = {day: [["10:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
            arcade = await add_device(
                services,
                net,
                "Arcade 1",
                "arcade",
                {"per_use": "2.50"},
                hours=hours,
                partner_id=partners["Arcade"],
                created_at=day_start - timedelta(days=1),
            )
            stored = await http.put(
                f"/v1/admin/partners/{partners['Arcade']}/email",
                json={"email": "arcade@park.example"},
                headers=auth(keys["admin"]),
            )
            assert stored.status_code == 200, stored.text
            clock.moment = datetime(2026, 7, 1, 23, 50, tzinfo=MOSCOW)  # uploaded before midnight: the 1st's
            uses = [
                {"key": f"u-{i}", "customer": CARD, "occurred_at": at.isoformat()}
                for i, at in enumerate(
                    datetime(2026, 7, 1, h, m, tzinfo=MOSCOW) for h, m in ((21, 30), (22, 15), (23, 40))
                )
            ]
            uploaded = await http.post("/v1/devices/offline-uses", json={"uses": uses}, headers=auth(arcade.key))
            assert uploaded.status_code == 200, uploaded.text
            transactions = [str(result["transaction"]) for result in uploaded.json()["results"]]
            clock.moment = datetime(2026, 7, 2, 2, tzinfo=MOSCOW)

            sent = await http.post(JOBS, json={"day": "2026-07-01"}, headers=auth(keys["admin"]))
            assert sent.status_code == 200, sent.text
            [mail] = inbox.to("arcade@park.example")
            assert _worth_a_look(_text(mail)) == [
                "  Arcade 1 machine worked outside its opening hours: 2 transactions, the first at 7/1/26, "
                "10:15\u202fPM.",
                f"    transactions: {transactions[1]}, {transactions[2]}",
            ]
    finally:
        await services.close()


def test_the_days_are_the_ones_in_the_docstring() -> None:
    assert date(2026, 3, 10).weekday() == 1 and date(2026, 7, 1).weekday() == 2
