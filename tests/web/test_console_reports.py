"""Reports on both engines: a day's and a period's figures from purchases made through the JSON API, exact to the
minor unit, per outlet and per cashier, in the outlet's time zone; an owner never sees another partner's figures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.mail_support import Inbox, smtp
from tests.support import Network, SettableClock, auth, client, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2026, 3, 10)


CLOCK = SettableClock()


@pytest.fixture()
async def services(settings: Settings) -> AsyncIterator[Services]:
    """conftest's, on CLOCK."""
    CLOCK.moment = None
    built = build_services(settings, clock=CLOCK)
    try:
        yield built
    finally:
        await built.close()


RULES = {
    "rules": [
        {"code": "ten-off", "effects": [{"discount": {"percent": "10"}}]},
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "5"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "100.00"}},
            ],
        },
    ]
}


def minor(text: str) -> int:
    return int(Decimal(text) * 100)


async def _setting(services: Services) -> tuple[Network, int, int]:
    """The test network (Shop and Cafe, both in Moscow) with a cashier each, an owner each, a 10 % discount rule."""
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop_partner, cafe_partner = (partner["id"] for partner in listing["partners"])
    shop_outlet, cafe_outlet = (outlet["id"] for outlet in listing["outlets"])
    await services.admin.create_cashier(net.ref, shop_outlet, "anna", "Anna Shop", "anna-secret-1")
    await services.admin.create_cashier(net.ref, cafe_outlet, "boris", "Boris Cafe", "boris-secret-1")
    web = services.web_sessions
    await web.add_console_user(net.ref.id, "owner", shop_partner, "shop-owner", "Shop owner", "shop-secret-1")
    await web.add_console_user(net.ref.id, "owner", cafe_partner, "cafe-owner", "Cafe owner", "cafe-secret-1")
    await web.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    CLOCK.moment = datetime(2026, 3, 1, tzinfo=UTC)  # in force before the sales: each is priced at its own time
    await services.rules.publish(net.ref, None)
    CLOCK.moment = None
    return net, shop_partner, cafe_partner


async def _buy(
    http: httpx.AsyncClient, key: str, card: str, amount: str, at: datetime, cashier: str | None, redeem: int = 0
) -> dict[str, Any]:
    CLOCK.moment = at  # recorded as it happens
    body: dict[str, Any] = {"customer": card, "amount": amount, "receipt": new_key(), "occurred_at": at.isoformat()}
    if cashier:
        body["cashier"] = cashier
    if redeem:
        body["redeem_points"] = redeem
    response = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _moscow(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MOSCOW)


def _sums(answers: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "checks": len(answers),
        "revenue": sum(minor(a["amount"]) for a in answers),
        "discount": sum(minor(a["discount"]) for a in answers),
        "issued": sum(a["points_earned"] for a in answers),
        "spent": sum(a["points_redeemed"] for a in answers),
        "collected": sum(minor(a["amount_due"]) for a in answers),
    }


async def test_a_days_figures_are_the_sums_of_its_purchases_per_outlet_cashier_and_hour(services: Services) -> None:
    net, shop_partner, _cafe_partner = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7001")
        anna_9 = await _buy(http, net.shop_key, "7001", "1000.00", _moscow(DAY, 9, 15), "anna")
        anna_10 = await _buy(http, net.shop_key, "7001", "2500.00", _moscow(DAY, 10, 40), "anna", redeem=20)
        till_10 = await _buy(http, net.shop_key, "7001", "700.00", _moscow(DAY, 10, 5), None)
        late = await _buy(http, net.shop_key, "7001", "300.00", _moscow(DAY, 23, 30), "anna")  # 20:30 UTC
        # the day before and after in Moscow, though the second is still 10 March in UTC
        await _buy(http, net.shop_key, "7001", "111.00", _moscow(date(2026, 3, 9), 23, 59), "anna")
        await _buy(http, net.shop_key, "7001", "222.00", _moscow(date(2026, 3, 11), 0, 30), "anna")
        cafe = await _buy(http, net.cafe_key, "7001", "400.00", _moscow(DAY, 12), "boris")

    shop_day = [anna_9, anna_10, till_10, late]
    report = await services.reports.report(net.ref.id, shop_partner, DAY)
    expected = _sums(shop_day)
    total = report.total
    assert (total.checks, total.revenue_minor, total.discount_minor) == (4, minor("4500.00"), expected["discount"])
    assert expected["discount"] == minor("450.00")  # the rule's 10 % off each check
    assert (total.points_issued, total.points_spent) == (expected["issued"], expected["spent"])
    assert total.points_spent == 20 and total.points_issued > 0
    assert total.collected_minor == expected["collected"]
    assert total.average_check_minor == minor("1125.00")
    assert [outlet.name for outlet, _ in report.by_outlet] == ["Shop till"]  # the owner's partner only
    by_cashier = {line.login: line.figures for line in report.by_cashier}
    assert set(by_cashier) == {"anna", None}
    assert by_cashier["anna"].revenue_minor == minor("3800.00") and by_cashier["anna"].checks == 3
    assert by_cashier[None].revenue_minor == minor("700.00")
    hours = {point.key: (point.revenue_minor, point.checks) for point in report.chart}
    assert len(report.chart) == 24
    assert hours[9] == (minor("1000.00"), 1)
    assert hours[10] == (minor("3200.00"), 2)
    assert hours[23] == (minor("300.00"), 1)
    assert sum(revenue for revenue, _ in hours.values()) == total.revenue_minor

    network_day = await services.reports.report(net.ref.id, None, DAY)
    assert network_day.total.revenue_minor == minor("4500.00") + minor(cafe["amount"])
    assert network_day.total.checks == 5

    period = await services.reports.report(net.ref.id, shop_partner, date(2026, 3, 9), date(2026, 3, 11))
    assert period.chart_unit == "day"
    assert [(point.key, point.revenue_minor) for point in period.chart] == [
        (date(2026, 3, 9), minor("111.00")),
        (date(2026, 3, 10), minor("4500.00")),
        (date(2026, 3, 11), minor("222.00")),
    ]


async def test_refunds_count_on_the_day_they_are_made(services: Services) -> None:
    net, shop_partner, _ = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7002")
        bought = await http.post(
            "/v1/purchases",
            json={"customer": "7002", "amount": "1200.00", "receipt": "R-1", "cashier": "anna"},
            headers=auth(net.shop_key, new_key()),
        )
        assert bought.status_code == 201, bought.text
        refund = await http.post(
            f"/v1/purchases/{bought.json()['id']}/refunds",
            json={"amount": "200.00"},
            headers=auth(net.shop_key, new_key()),
        )
        assert refund.status_code == 201, refund.text
    today = datetime.fromisoformat(bought.json()["occurred_at"]).astimezone(MOSCOW).date()
    report = await services.reports.report(net.ref.id, shop_partner, today)
    assert (report.total.refunds, report.total.refund_minor) == (1, minor("200.00"))
    anna = next(line for line in report.by_cashier if line.login == "anna")
    assert (anna.figures.refunds, anna.figures.refund_minor, anna.figures.checks) == (1, minor("200.00"), 1)


async def test_an_owner_sees_only_their_partners_figures_and_the_administrator_filters(services: Services) -> None:
    net, shop_partner, cafe_partner = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7003")
        await _buy(http, net.shop_key, "7003", "1234.00", _moscow(DAY, 11), "anna")
        await _buy(http, net.cafe_key, "7003", "987.00", _moscow(DAY, 11), "boris")
        assert (await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")).status_code == 303
        # an owner's ?partner= is ignored: the scope is the session's partner
        page = await http.get(f"/console/reports?day={DAY.isoformat()}&partner={cafe_partner}")
        assert page.status_code == 200
        assert "Shop till" in page.text and "Cafe till" not in page.text
        assert "1,234.00" in page.text and "987.00" not in page.text
        assert "boris" not in page.text and "Boris" not in page.text
        http.cookies.clear()
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        everything = await http.get(f"/console/reports?day={DAY.isoformat()}")
        assert "1,234.00" in everything.text and "987.00" in everything.text
        cafe_only = await http.get(f"/console/reports?day={DAY.isoformat()}&partner={cafe_partner}")
        assert "987.00" in cafe_only.text and "1,234.00" not in cafe_only.text
        unknown = await http.get(f"/console/reports?day={DAY.isoformat()}&partner=99999")
        assert unknown.status_code == 404
        assert "no partner 99999" in unknown.text
    assert shop_partner != cafe_partner


async def test_the_report_page_draws_its_chart_with_the_numbers_in_a_table(services: Services) -> None:
    net, _, _ = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7004")
        await _buy(http, net.shop_key, "7004", "500.00", _moscow(DAY, 14, 10), "anna")
        await _buy(http, net.shop_key, "7004", "250.00", _moscow(DAY, 14, 50), "anna")
        await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")
        page = await http.get(f"/console/reports?day={DAY.isoformat()}", headers={"Accept-Language": "en-GB"})
    assert page.status_code == 200
    svg = re.search(r'<svg role="img" aria-label="([^"]+)"', page.text)
    assert svg is not None
    assert "Revenue per hour" in svg.group(1) and "highest RUB\xa0750.00 (14:00), total RUB\xa0750.00" in svg.group(1)
    assert page.text.count('class="bar"') == 1  # one hour had sales
    cells = r'<th scope="row">14:00</th>\s*<td class="num"[^>]*>([^<]+)</td>\s*<td class="num"[^>]*>(\d+)</td>'
    row = re.search(cells, page.text)
    assert row is not None and row.groups() == ("RUB\xa0750.00", "2")
    assert '<th scope="row">13:00</th>' not in page.text  # an hour without sales is no row of zeros
    assert "Hours without sales or refunds are left out." in page.text
    assert page.text.count("Download CSV") == 6  # the hours, outlets, cashiers, attendance, customers, effectiveness


async def test_bad_dates_are_refused_beside_their_field(services: Services) -> None:
    await _setting(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")
        bad = await http.get("/console/reports?day=10.03.2026")
        assert bad.status_code == 422
        assert 'id="day-error"' in bad.text and "YYYY-MM-DD" in bad.text
        backwards = await http.get("/console/reports?from=2026-03-10&to=2026-03-01")
        assert backwards.status_code == 422
        assert 'id="to-error"' in backwards.text and "comes before its first" in backwards.text
        too_long = await http.get("/console/reports?from=2026-01-01&to=2026-12-31")
        assert too_long.status_code == 422 and "at most 92 days" in too_long.text


async def test_the_report_in_russian_formats_money_and_numbers_for_russian(services: Services) -> None:
    net, _, _ = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7005")
        await _buy(http, net.shop_key, "7005", "12345.60", _moscow(DAY, 9), "anna")
        await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")
        page = await http.get(f"/console/reports?day={DAY.isoformat()}", headers={"Accept-Language": "ru-RU"})
    assert page.headers["content-language"] == "ru"
    assert "Выручка через систему" in page.text
    assert "12\xa0345,60\xa0₽" in page.text  # Russian grouping, decimal comma, the rouble sign after
    assert "Выручка по часам" in page.text


async def test_outlets_in_other_time_zones_count_their_own_local_day(services: Services) -> None:
    net, _, _ = await _setting(services)
    delhi_partner = await services.admin.create_partner(net.ref, "Delhi Tea")
    outlet = await services.admin.create_outlet(net.ref, delhi_partner["id"], "Tea stall", "Asia/Kolkata")
    delhi_key = (await services.admin.create_terminal(net.ref, outlet["id"], "POS"))["key"]
    kolkata = ZoneInfo("Asia/Kolkata")
    async with client(services) as http:
        await enrol(http, net.shop_key, "7006")
        # 00:15 in Delhi on 10 March is 18:45 UTC on the 9th; 23:50 is 18:20 UTC on the 10th
        first = await _buy(http, delhi_key, "7006", "150.00", datetime(2026, 3, 10, 0, 15, tzinfo=kolkata), None)
        last = await _buy(http, delhi_key, "7006", "250.00", datetime(2026, 3, 10, 23, 50, tzinfo=kolkata), None)
        await _buy(http, delhi_key, "7006", "999.00", datetime(2026, 3, 11, 0, 5, tzinfo=kolkata), None)
        moscow = await _buy(http, net.shop_key, "7006", "400.00", _moscow(DAY, 0, 10), "anna")
    report = await services.reports.report(net.ref.id, None, DAY)
    by_outlet = {outlet.name: figures for outlet, figures in report.by_outlet}
    assert by_outlet["Tea stall"].revenue_minor == minor(first["amount"]) + minor(last["amount"])
    assert by_outlet["Shop till"].revenue_minor == minor(moscow["amount"])
    hours = {point.key: point.revenue_minor for point in report.chart}
    assert hours[0] == minor("150.00") + minor("400.00")  # midnight's hour in each outlet's own time
    assert hours[23] == minor("250.00")
    delhi_only = await services.reports.report(net.ref.id, delhi_partner["id"], DAY)
    assert [outlet.name for outlet, _ in delhi_only.by_outlet] == ["Tea stall"]
    assert delhi_only.total.checks == 2


async def test_the_chart_shows_each_figure_per_hour_as_chosen(services: Services) -> None:
    """Checks 10:00 1 and 14:00 2; a 10 % discount; 5 % of what is paid: 45 points, then 22 and 11."""
    net, _, _ = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7005")
        answers = [
            await _buy(http, net.shop_key, "7005", "1000.00", _moscow(DAY, 10, 5), "anna"),
            await _buy(http, net.shop_key, "7005", "500.00", _moscow(DAY, 14, 10), "anna"),
            await _buy(http, net.shop_key, "7005", "250.00", _moscow(DAY, 14, 50), "anna"),
        ]
        assert [a["points_earned"] for a in answers] == [45, 22, 11]
        await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")

        async def chart(measure: str, language: str = "en-GB") -> tuple[str, int, str]:
            query = {"day": DAY.isoformat(), "measure": measure}
            page = await http.get("/console/reports", params=query, headers={"Accept-Language": language})
            assert page.status_code == 200, page.text
            label = re.search(r'<svg role="img" aria-label="([^"]+)"', page.text)
            assert label is not None
            return label.group(1), page.text.count('class="bar"'), page.text

        day = "Mar 10, 2026"
        label, bars, page = await chart("checks")
        assert (label, bars) == (f"Checks per hour, {day} — highest 2 (14:00), total 3", 2)
        assert f'href="/console/reports?day={DAY.isoformat()}&amp;measure=checks" aria-current="true"' in page
        assert f'href="/console/reports?day={DAY.isoformat()}&amp;measure=revenue">' in page
        label, _, _ = await chart("average")
        assert label == f"Average check per hour, {day} — highest RUB\xa01,000.00 (10:00), overall RUB\xa0583.33"
        label, _, _ = await chart("points-issued")
        assert label == f"Points issued per hour, {day} — highest 45 (10:00), total 78"
        label, _, _ = await chart("discounts")
        assert label == f"Discounts per hour, {day} — highest RUB\xa0100.00 (10:00), total RUB\xa0175.00"
        label, bars, _ = await chart("points-spent")
        assert (label, bars) == (f"Points spent per hour, {day} — highest 0 (00:00), total 0", 0)
        label, _, _ = await chart("checks", "ru")
        assert label == "Чеки по часам, 10 мар. 2026\u202fг. — больше всего 2 (14:00), всего 3"

        wrong = await http.get("/console/reports", params={"day": DAY.isoformat(), "measure": "profit"})
        assert wrong.status_code == 422 and "&#39;profit&#39; is not a measure the chart can show" in wrong.text


async def test_an_owner_sets_the_report_address_and_mails_a_day_from_the_reports_page(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    CLOCK.moment = None
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=CLOCK)
    try:
        net, _, cafe_partner = await _setting(services)
        async with client(services) as http:
            await enrol(http, net.shop_key, "7006")
            await _buy(http, net.shop_key, "7006", "500.00", _moscow(DAY, 14, 10), "anna")
            await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")
            page = await http.get("/console/reports", params={"day": DAY.isoformat()})
            assert "Shop: no address yet" in page.text
            token = csrf_token(page.text)
            form = {"csrf_token": token, "day": DAY.isoformat()}

            bad = await http.post("/console/reports/address", data=form | {"email": "owner@@shop"})
            assert bad.status_code == 422 and "&#39;owner@@shop&#39; is not an e-mail address" in bad.text
            saved = await http.post(
                "/console/reports/address", data=form | {"email": "owner@shop.example", "language": "en"}
            )
            assert saved.status_code == 303
            assert saved.headers["location"] == f"/console/reports?day={DAY.isoformat()}&done=address-saved"
            page = await http.get(saved.headers["location"])
            assert "The report e-mail address was saved." in page.text
            assert "Shop: <strong>owner@shop.example</strong>" in page.text and "Cafe" not in page.text

            # an owner's request names no other partner: a forged one is ignored, the mail goes to their own
            sent = await http.post("/console/reports/send", data=form | {"partner": str(cafe_partner)})
            assert sent.status_code == 303 and sent.headers["location"].endswith("&done=report-sent")
            [mail] = inbox.to("owner@shop.example")
            assert mail["Subject"] == f"Daily report {DAY.isoformat()}: Shop"
            text = mail.get_body(("plain",)).get_content()
            assert "  revenue through the system: RUB\xa0500.00" in text.splitlines()  # the check, not what was paid
            assert "  paid in money: RUB\xa0450.00" in text.splitlines() and "receipt" in text
            assert len(inbox.messages) == 1

            http.cookies.clear()
            await sign_in_console(http, "shop", "admin", "admin-secret-1")
            token = csrf_token((await http.get("/console/reports", params={"day": DAY.isoformat()})).text)
            everyone = await http.post("/console/reports/send", data={"csrf_token": token, "day": DAY.isoformat()})
            assert everyone.status_code == 303 and everyone.headers["location"].endswith("&done=report-sent")
            assert len(inbox.to("owner@shop.example")) == 2 and len(inbox.messages) == 2  # the café has no address
            nowhere = await http.post(
                "/console/reports/address", data={"csrf_token": token, "day": DAY.isoformat(), "email": "x@y.example"}
            )
            assert nowhere.status_code == 422 and "choose a partner from the list" in nowhere.text
    finally:
        await services.close()


async def test_without_smtp_the_reports_page_says_how_to_turn_it_on(services: Services) -> None:
    net, _, _ = await _setting(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")
        token = csrf_token((await http.get("/console/reports", params={"day": DAY.isoformat()})).text)
        refused = await http.post("/console/reports/send", data={"csrf_token": token, "day": DAY.isoformat()})
        assert refused.status_code == 409 and "e-mail is off: set COALITION_SMTP_HOST" in refused.text
        assert net.ref.code == "shop"


def _section(page: str, heading: str) -> str:
    found = re.search(rf'<section class="card" aria-labelledby="{heading}">(.*?)</section>', page, re.S)
    assert found is not None, heading
    return found.group(1)


async def test_outlets_and_cashiers_without_sales_are_left_out_of_the_tables_but_not_the_downloads(
    services: Services,
) -> None:
    """Issue 18 review (g): the administrator's tables list the outlets and cashiers with figures and say how many are
    left out; a day without sales says so and shows no table of zeros; the CSV keeps every row."""
    net, _, _ = await _setting(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7005")
        await _buy(http, net.shop_key, "7005", "500.00", _moscow(DAY, 14, 10), "anna")
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        page = (await http.get(f"/console/reports?day={DAY.isoformat()}", headers={"Accept-Language": "en"})).text
        outlets = _section(page, "outlets-heading")
        assert outlets.count('<th scope="row">') == 1 and "Shop till" in outlets and "Cafe till" not in outlets
        assert '<p class="hint" id="idle-outlets">1 outlet without sales is left out.</p>' in outlets
        cashiers = _section(page, "cashiers-heading")
        assert cashiers.count('<th scope="row">') == 1 and "Anna Shop" in cashiers and "Boris" not in cashiers
        assert '<p class="hint" id="idle-cashiers">1 cashier without sales is left out.</p>' in cashiers
        csv = await http.get(f"/console/exports/sales-by-outlet?from={DAY.isoformat()}")
        assert csv.status_code == 200 and "Cafe till" in csv.text and "Shop till" in csv.text  # every row
        cashier_csv = await http.get(f"/console/exports/sales-by-cashier?from={DAY.isoformat()}")
        assert "boris" in cashier_csv.text

        empty = (await http.get("/console/reports?day=2026-03-12", headers={"Accept-Language": "en"})).text
        assert "No sales or refunds this day." in empty
        assert 'id="outlets-heading"' not in empty and 'id="cashiers-heading"' not in empty
        russian = (await http.get(f"/console/reports?day={DAY.isoformat()}", headers={"Accept-Language": "ru"})).text
        assert "1 точка продаж без продаж не показана." in russian
