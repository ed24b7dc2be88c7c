"""The owner's daily report by e-mail (the brief's "control and fraud protection"), through a real SMTP server, on
both engines: the day's totals, per outlet and per cashier, and every purchase and refund of the day in the outlet's
own time, exactly; sent once per partner and day; the API, the CLI and bad input.

The shop runs the seed's small-shop program: 3 % of what is paid in money, points pay up to 15 % of checks from
1,500.00. On 10 March 2026 (Moscow): 2,000.00 at 10:05 earns 60; 1,500.00 at 14:10 with 30 points paid earns 3 % of
1,470.00 = 44; at 16:00 500.00 of the first is refunded (money back 500.00, 60 × 500 / 2,000 = 15 points back).
Sales at 23:50 the day before and 00:10 the day after, and the café's, are not the shop's day."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2026, 3, 10)
SHOP_ADDRESS = "owner@shop.example"


def _moscow(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MOSCOW)


async def _buy(http: httpx.AsyncClient, key: str, amount: str, at: datetime, **extra: Any) -> dict[str, Any]:
    body = {"customer": "7001", "amount": amount, "receipt": f"R-{at:%d%H%M}", "occurred_at": at.isoformat(), **extra}
    answer = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _the_day(http: httpx.AsyncClient, services: Any, clock: SettableClock) -> tuple[Any, dict[str, Any]]:
    """The shop's day of 10 March, with a sale on each side of it and one at the café."""
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop_partner = listing["partners"][0]["id"]
    await services.admin.create_cashier(net.ref, listing["outlets"][0]["id"], "anna", "Anna", "anna-secret-1")
    await services.admin.create_cashier(net.ref, listing["outlets"][0]["id"], "vera", "Vera", "vera-secret-1")
    stored = await http.put(
        f"/v1/admin/partners/{shop_partner}/email", json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key)
    )
    assert stored.status_code == 200, stored.text
    await enrol(http, net.shop_key, "7001")

    async def sale(key: str, amount: str, at: datetime, **extra: Any) -> dict[str, Any]:
        clock.moment = at  # recorded as it happens: the report goes by the server's time
        return await _buy(http, key, amount, at, **extra)

    await sale(net.shop_key, "900.00", _moscow(9, 23, 50))
    first = await sale(net.shop_key, "2000.00", _moscow(10, 10, 5), cashier="anna")
    second = await sale(net.shop_key, "1500.00", _moscow(10, 14, 10), cashier="anna", redeem_points=30)
    await sale(net.cafe_key, "300.00", _moscow(10, 12))
    assert (first["points_earned"], second["points_earned"], second["amount_due"]) == (60, 44, "1470.00")
    clock.moment = _moscow(10, 16)
    refunds = f"/v1/purchases/{first['id']}/refunds"
    before = await table_counts(services)
    stranger = await http.post(
        refunds, json={"amount": "500.00", "cashier": "boris"}, headers=auth(net.shop_key, new_key())
    )
    assert_problem(stranger, 422, "invalid-input", "cashier")
    assert await table_counts(services) == before
    # Vera gives the money back for Anna's sale: the report holds Vera to account for it
    refund = await http.post(
        refunds, json={"amount": "500.00", "cashier": "vera"}, headers=auth(net.shop_key, new_key())
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["money_back"], refund.json()["points_clawed_back"]) == ("500.00", 15)
    await sale(net.shop_key, "700.00", _moscow(11, 0, 10))
    clock.moment = _moscow(11, 2)  # after closing: "yesterday" is the 10th in Moscow (the 10th's 23:00 UTC)
    return net, first


async def test_each_partner_with_an_address_gets_its_day_once(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net, _ = await _the_day(http, services, clock)
            jobs = "/v1/admin/jobs/daily-reports"
            sent = await http.post(jobs, json={}, headers=auth(net.admin_key))
            assert sent.status_code == 200, sent.text
            expected = {"day": "2026-03-10", "sent": ["Shop"], "sent_before": [], "without_address": ["Cafe"]}
            assert sent.json() == expected
            [mail] = inbox.to(SHOP_ADDRESS)
            assert mail["Subject"] == "Daily report 2026-03-10: Shop"
            text = mail.get_body(("plain",)).get_content()
            for line in (
                "Total",
                "  revenue through the system: RUB\xa03,500.00",
                "  checks: 2",
                "  paid in money: RUB\xa03,470.00",
                "  average check: RUB\xa01,750.00",
                "  points issued: 104",
                "  points spent: 30",
                "  refunds: 1 for RUB\xa0500.00",
                "  Anna (anna), Shop till: checks 2, revenue RUB\xa03,500.00, paid in money RUB\xa03,470.00, "
                "refunds 0 for RUB\xa00.00",
                "  Vera (vera), Shop till: checks 0, revenue RUB\xa00.00, paid in money RUB\xa00.00, "
                "refunds 1 for RUB\xa0500.00",
                "  10:05\u202fAM purchase, Shop till, receipt R-101005, cashier anna: check RUB\xa02,000.00, "
                "paid in money RUB\xa02,000.00, points earned 60, points spent 0",
                "  2:10\u202fPM purchase, Shop till, receipt R-101410, cashier anna: check RUB\xa01,500.00, "
                "paid in money RUB\xa01,470.00, points earned 44, points spent 30",
                "  4:00\u202fPM refund, Shop till, receipt R-101005, cashier vera: RUB\xa0500.00 of the check, "
                "money back RUB\xa0500.00, points taken back 15, points returned 0",
            ):
                assert line in text.splitlines(), (line, text)
            assert "Purchases and refunds: 3 (the same in the attached CSV)" in text
            assert "R-092350" not in text and "R-110010" not in text
            assert "Cafe" not in text
            [attachment] = [part for part in mail.iter_attachments()]
            assert attachment.get_filename() == "report-2026-03-10.csv"
            rows = list(csv.reader(io.StringIO(attachment.get_content())))
            assert [",".join(row) for row in rows] == [
                "time,kind,outlet,receipt,cashier,check,money,wallet,points_earned,points_spent,gift_card,till_time",
                "2026-03-10T10:05:00+03:00,purchase,Shop till,R-101005,anna,2000.00,2000.00,0.00,60,0,0.00,",
                "2026-03-10T14:10:00+03:00,purchase,Shop till,R-101410,anna,1500.00,1470.00,0.00,44,30,0.00,",
                "2026-03-10T16:00:00+03:00,refund,Shop till,R-101005,vera,500.00,500.00,0.00,15,0,0.00,",
            ]

            again = await http.post(jobs, json={"day": "2026-03-10"}, headers=auth(net.admin_key))
            assert again.json()["sent"] == [] and again.json()["sent_before"] == ["Shop"]
            assert len(inbox.to(SHOP_ADDRESS)) == 1  # a re-run of the job sends no copy
            forced = await http.post(jobs, json={"day": "2026-03-10", "again": True}, headers=auth(net.admin_key))
            assert forced.json()["sent"] == ["Shop"] and len(inbox.to(SHOP_ADDRESS)) == 2

            future = await http.post(jobs, json={"day": "2026-03-12"}, headers=auth(net.admin_key))
            assert_problem(future, 422, "invalid-input", "day")
            malformed = await http.post(jobs, json={"day": "10.03.2026"}, headers=auth(net.admin_key))
            assert malformed.status_code == 422 and "day" in malformed.text
            stranger = await http.post(jobs, json={}, headers=auth(net.shop_key))
            assert stranger.status_code in (401, 403)
            assert len(inbox.to(SHOP_ADDRESS)) == 2

        environment = {"COALITION_SMTP_HOST": "127.0.0.1", "COALITION_SMTP_PORT": str(port)}

        def run(*words: str) -> Any:
            return CliRunner().invoke(cli, [*words, "--database-url", settings.database_url], env=environment)

        shown = await anyio.to_thread.run_sync(lambda: run("daily-reports", "shop", "--day", "2026-03-10"))
        assert shown.exit_code == 0, shown.output
        assert "2026-03-10: sent to nobody" in shown.output
        assert "sent before (use --again to resend): Shop" in shown.output
        resent = await anyio.to_thread.run_sync(lambda: run("daily-reports", "shop", "--day", "2026-03-10", "--again"))
        assert resent.exit_code == 0 and "sent to Shop" in resent.output, resent.output
        assert len(inbox.to(SHOP_ADDRESS)) == 3
        wrong = await anyio.to_thread.run_sync(lambda: run("daily-reports", "shop", "--day", "March"))
        assert wrong.exit_code == 2 and "expected YYYY-MM-DD" in wrong.output
    finally:
        await services.close()


async def test_without_smtp_the_job_says_how_to_turn_it_on(settings: Settings) -> None:
    services = build_services(settings)
    try:
        async with client(services) as http:
            net = await make_network(services)
            refused = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(net.admin_key))
            assert_problem(refused, 409, "conflict", "smtp")
            assert "COALITION_SMTP_HOST" in refused.text
    finally:
        await services.close()


async def test_a_partner_whose_language_is_russian_gets_its_report_in_russian(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(_moscow(10, 9))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        async with client(services) as http:
            net, _ = await _the_day(http, services, clock)
            shop = (await services.admin.listing(net.ref))["partners"][0]["id"]
            email = f"/v1/admin/partners/{shop}/email"
            wrong = await http.put(email, json={"email": SHOP_ADDRESS, "language": "de"}, headers=auth(net.admin_key))
            assert_problem(wrong, 422, "invalid-input", "language")
            russian = await http.put(email, json={"email": SHOP_ADDRESS, "language": "ru"}, headers=auth(net.admin_key))
            assert russian.json() == {"id": shop, "email": SHOP_ADDRESS, "language": "ru"}
            kept = await http.put(email, json={"email": SHOP_ADDRESS}, headers=auth(net.admin_key))
            assert kept.status_code == 200  # the language stays when only the address is given
            sent = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(net.admin_key))
            assert sent.json()["sent"] == ["Shop"]
        [mail] = inbox.to(SHOP_ADDRESS)
        assert mail["Subject"] == "Отчёт за день 2026-03-10: Shop"
        lines = mail.get_body(("plain",)).get_content().splitlines()
        assert lines[0] == "Shop: вторник, 10 марта 2026\u202fг."
        for line in (
            "Итого",
            "  выручка через систему: 3\xa0500,00\xa0₽",
            "  чеков: 2",
            "  оплачено деньгами: 3\xa0470,00\xa0₽",
            "  возвратов: 1 на 500,00\xa0₽",
            "По кассирам",
            "Покупки и возвраты: 3 (то же во вложенном CSV)",
            "  16:00 возврат, Shop till, чек R-101005, кассир vera: 500,00\xa0₽ от суммы чека, "
            "возвращено деньгами 500,00\xa0₽, списано баллов 15, возвращено баллов 0",
        ):
            assert line in lines, (line, lines)
    finally:
        await services.close()
