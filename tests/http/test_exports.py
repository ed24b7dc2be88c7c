"""Exports over the API on both engines (issue 17; docs/exports.md): a small crafted day of purchases exported as the
ledger's postings, balances, reports and a statement, exact to the minor unit and the point; scope and period
filters; refusals naming the field; formula-like text neutralised; Windows-1251 and semicolons; XLSX read back."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from sqlalchemy import update

from coalition.adapters.storage import tables as t
from coalition.application.exports import TRANSACTION_COLUMNS
from coalition.application.settlement import statement_csv_rows
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import Network, SettableClock, assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

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


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=MOSCOW)


async def _buy(http: httpx.AsyncClient, key: str, card: str, amount: str, at: datetime, redeem: int = 0) -> Any:
    CLOCK.moment = at
    body: dict[str, Any] = {"customer": card, "amount": amount, "receipt": new_key(), "occurred_at": at.isoformat()}
    if redeem:
        body["redeem_points"] = redeem
    response = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    return response.json()


async def _day(services: Services) -> tuple[Network, dict[str, int]]:
    """Shop and Cafe (Moscow). 10 March: Anna (7001) buys for 1000.00 at the Shop at 10:00 and for 2000.00 at the
    Cafe at 12:00 paying 20 points; Boris (7002) 500.00 at the Cafe at 11:00. 11 March: Boris 300.00 at the Shop."""
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop, cafe = (partner["id"] for partner in listing["partners"])
    shop_till, cafe_till = (outlet["id"] for outlet in listing["outlets"])
    CLOCK.moment = _at(DAY, 9)
    async with client(services) as http:
        anna = (await enrol(http, net.shop_key, "7001"))["member"]["id"]
        boris = (await enrol(http, net.cafe_key, "7002"))["member"]["id"]
        await _buy(http, net.shop_key, "7001", "1000.00", _at(DAY, 10))
        await _buy(http, net.cafe_key, "7002", "500.00", _at(DAY, 11))
        await _buy(http, net.cafe_key, "7001", "2000.00", _at(DAY, 12), redeem=20)
        await _buy(http, net.shop_key, "7002", "300.00", _at(date(2026, 3, 11), 10))
    CLOCK.moment = _at(date(2026, 3, 12), 9)
    ids = {"shop": shop, "cafe": cafe, "shop_till": shop_till, "cafe_till": cafe_till, "anna": anna, "boris": boris}
    return net, ids


async def _csv(http: httpx.AsyncClient, key: str, what: str, **params: Any) -> list[dict[str, str]]:
    response = await http.get(f"/v1/admin/exports/{what}", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def _postings(rows: list[dict[str, str]]) -> list[tuple[str, str, str, str, int]]:
    """(tx kind, outlet, owner, account, unit, amount) without the ids and times, in the export's order."""
    return [(row["outlet"], row["account_owner"], row["account"], row["unit"], int(row["amount"])) for row in rows]


SHOP_1000 = [  # 3 % of 1000.00 = 30 points granted by the Shop, which owes the node 30.00 for them
    ("Shop till", "node", "points_issued", "points", -30),
    ("Shop till", "member", "member_points", "points", 30),
    ("Shop till", "partner", "obligations", "RUB", -3000),
    ("Shop till", "node", "obligations", "RUB", 3000),
]
CAFE_500 = [
    ("Cafe till", "node", "points_issued", "points", -15),
    ("Cafe till", "member", "member_points", "points", 15),
    ("Cafe till", "partner", "obligations", "RUB", -1500),
    ("Cafe till", "node", "obligations", "RUB", 1500),
]


async def test_the_days_transactions_are_its_postings_with_exact_amounts(services: Services) -> None:
    net, ids = await _day(services)
    async with client(services) as http:
        response = await http.get(
            "/v1/admin/exports/transactions", params={"from": "2026-03-10"}, headers=auth(net.admin_key)
        )
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'filename="transactions-2026-03-10-2026-03-10.csv"' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert tuple(csv.reader(io.StringIO(response.text)).__next__()) == TRANSACTION_COLUMNS
        # the three purchases of 10 March in recorded order; 11 March's is another day
        assert [row["kind"] for row in rows] == ["purchase"] * len(rows)
        transactions = list(dict.fromkeys(row["tx_id"] for row in rows))
        assert len(transactions) == 3
        assert _postings(rows[:4]) == SHOP_1000
        assert _postings(rows[4:8]) == CAFE_500
        third = _postings([row for row in rows if row["tx_id"] == transactions[2]])
        # 2000.00 less 20 points (20.00) paid: 3 % of 1980.00 = 59 points; the Cafe is owed the 20 points' 20.00
        assert sorted(third) == sorted(
            [
                ("Cafe till", "node", "points_issued", "points", -59),
                ("Cafe till", "member", "member_points", "points", 59),
                ("Cafe till", "partner", "obligations", "RUB", -5900),
                ("Cafe till", "node", "obligations", "RUB", 5900),
                ("Cafe till", "member", "member_points", "points", -20),
                ("Cafe till", "node", "points_redeemed", "points", 20),
                ("Cafe till", "node", "obligations", "RUB", -2000),
                ("Cafe till", "partner", "obligations", "RUB", 2000),
            ]
        )
        for tx in transactions:  # every transaction balances per unit
            mine = [row for row in rows if row["tx_id"] == tx]
            for unit in {row["unit"] for row in mine}:
                assert sum(int(row["amount"]) for row in mine if row["unit"] == unit) == 0
        first = rows[0]
        assert first["recorded_at"] == "2026-03-10T07:00:00+00:00"  # 10:00 in Moscow
        assert (first["partner_id"], first["partner"], first["outlet_id"]) == (
            str(ids["shop"]),
            "Shop",
            str(ids["shop_till"]),
        )
        assert rows[1]["member_id"] == str(ids["anna"]) and rows[0]["member_id"] == ""


async def test_scope_and_period_filter_the_transactions(services: Services) -> None:
    net, ids = await _day(services)
    async with client(services) as http:
        key = net.admin_key
        cafe = await _csv(http, key, "transactions", **{"from": "2026-03-10", "partner": ids["cafe"]})
        assert {row["partner"] for row in cafe} == {"Cafe"} and len({row["tx_id"] for row in cafe}) == 2
        till = await _csv(
            http, key, "transactions", **{"from": "2026-03-10", "to": "2026-03-11", "outlet": ids["shop_till"]}
        )
        assert {row["outlet"] for row in till} == {"Shop till"} and len({row["tx_id"] for row in till}) == 2
        boris = await _csv(
            http, key, "transactions", **{"from": "2026-03-10", "to": "2026-03-11", "member": ids["boris"]}
        )
        assert len({row["tx_id"] for row in boris}) == 2
        assert {row["member_id"] for row in boris} == {str(ids["boris"]), ""}
        eleventh = await _csv(http, key, "transactions", **{"from": "2026-03-11"})
        assert _postings(eleventh) == [
            ("Shop till", "node", "points_issued", "points", -9),
            ("Shop till", "member", "member_points", "points", 9),
            ("Shop till", "partner", "obligations", "RUB", -900),
            ("Shop till", "node", "obligations", "RUB", 900),
        ]
        assert await _csv(http, key, "transactions", **{"from": "2026-03-09"}) == []


async def test_balances_are_each_members_at_the_end_of_the_day(services: Services) -> None:
    net, ids = await _day(services)
    async with client(services) as http:
        tenth = await _csv(http, net.admin_key, "balances", to="2026-03-10")
        assert tenth == [
            {"member_id": str(ids["anna"]), "name": "Test Member", "points": "69", "wallet": "0", "currency": "RUB",
             "as_of": "2026-03-10T21:00:00+00:00"},
            {"member_id": str(ids["boris"]), "name": "Test Member", "points": "15", "wallet": "0", "currency": "RUB",
             "as_of": "2026-03-10T21:00:00+00:00"},
        ]  # fmt: skip
        eleventh = await _csv(http, net.admin_key, "balances", to="2026-03-11", member=ids["boris"])
        assert [(row["member_id"], row["points"]) for row in eleventh] == [(str(ids["boris"]), "24")]
        ninth = await _csv(http, net.admin_key, "balances", to="2026-03-09")
        assert [row["points"] for row in ninth] == ["0", "0"]


async def test_reports_and_a_statement_download_with_their_figures(services: Services) -> None:
    net, ids = await _day(services)
    async with client(services) as http:
        key = net.admin_key
        outlets = await _csv(http, key, "sales-by-outlet", **{"from": "2026-03-10"})
        figures = {
            row["outlet"]: (row["checks"], row["revenue_minor"], row["points_issued"], row["points_spent"])
            for row in outlets
        }
        assert figures == {"Shop till": ("1", "100000", "30", "0"), "Cafe till": ("2", "250000", "74", "20")}
        assert outlets[0]["currency"] == "RUB"
        cafe = await _csv(
            http, key, "sales-by-cashier", **{"from": "2026-03-10", "to": "2026-03-11", "partner": ids["cafe"]}
        )
        assert [(row["outlet"], row["checks"], row["revenue_minor"]) for row in cafe] == [("Cafe till", "2", "250000")]
        chart = await _csv(http, key, "sales-chart", **{"from": "2026-03-10", "to": "2026-03-11"})
        assert [(row["day"], row["revenue_minor"]) for row in chart] == [
            ("2026-03-10", "350000"),
            ("2026-03-11", "30000"),
        ]
        listed = await _csv(http, key, "day-transactions", **{"from": "2026-03-10", "outlet": ids["cafe_till"]})
        assert [(row["kind"], row["check_minor"], row["money_minor"], row["points_spent"]) for row in listed] == [
            ("purchase", "50000", "50000", "0"),
            ("purchase", "200000", "198000", "20"),
        ]
        assert listed[0]["recorded_at"] == "2026-03-10T11:00:00+03:00"  # at the outlet's clock, as the e-mail
        liability = await _csv(http, key, "wallet-liability", **{"from": "2026-03-10"})
        assert liability == []
        statement = await services.settlement.close(
            net.ref.id, datetime(2026, 3, 12, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
        )
        number = statement["number"]
        response = await http.get("/v1/admin/exports/statement", params={"number": number}, headers=auth(key))
        found = await services.settlement.statement(net.ref.id, number)
        expected = [[cell for cell in row] for row in statement_csv_rows(found)]
        assert list(csv.reader(io.StringIO(response.text))) == expected  # the console's CSV, not a second writer


async def test_bad_parameters_are_refused_naming_the_field(services: Services) -> None:
    net, ids = await _day(services)
    other = await make_network(services, "other")
    other_listing = await services.admin.listing(other.ref)
    foreign_outlet = other_listing["outlets"][0]["id"]
    foreign_partner = other_listing["partners"][0]["id"]
    async with client(services) as http:

        async def refused(what: str, status: int, field: str, **params: Any) -> None:
            response = await http.get(f"/v1/admin/exports/{what}", params=params, headers=auth(net.admin_key))
            assert_problem(response, status, "not-found" if status == 404 else "invalid-input", field)

        await refused("transactions", 404, "partner", **{"from": "2026-03-10", "partner": foreign_partner})
        await refused("transactions", 404, "outlet", **{"from": "2026-03-10", "outlet": foreign_outlet})
        await refused(
            "transactions", 404, "outlet", **{"from": "2026-03-10", "partner": ids["shop"], "outlet": ids["cafe_till"]}
        )
        await refused("transactions", 404, "member", **{"from": "2026-03-10", "member": 999_999})
        await refused("transactions", 422, "from")
        await refused("transactions", 422, "from", **{"from": "10.03.2026"})
        await refused("transactions", 422, "to", **{"from": "2026-03-10", "to": "2026-03-09"})
        await refused("transactions", 422, "to", **{"from": "2025-01-01", "to": "2026-03-10"})
        await refused("transactions", 422, "from", **{"from": "9999-12-31"})  # no midnight after it to end at
        await refused("balances", 422, "to", to="9999-12-31")
        await refused("transactions", 422, "format", **{"from": "2026-03-10", "format": "pdf"})
        await refused("transactions", 422, "delimiter", **{"from": "2026-03-10", "delimiter": "tab"})
        await refused("transactions", 422, "encoding", **{"from": "2026-03-10", "encoding": "koi8-r"})
        await refused("everything", 422, "what", **{"from": "2026-03-10"})
        await refused("balances", 422, "partner", **{"to": "2026-03-10", "partner": ids["shop"]})
        await refused("statement", 422, "number")
        await refused("statement", 404, "number", number=77)
        await refused("wallet-liability", 422, "partner", **{"from": "2026-03-10", "partner": ids["shop"]})
        await refused("sales-by-outlet", 422, "member", **{"from": "2026-03-10", "member": ids["anna"]})
        await refused("sales-by-outlet", 422, "to", **{"from": "2026-01-01", "to": "2026-06-01"})
        # another network's key finds nothing of this one's
        response = await http.get(
            "/v1/admin/exports/transactions",
            params={"from": "2026-03-10", "partner": ids["shop"]},
            headers=auth(other.admin_key),
        )
        assert_problem(response, 404, "not-found", "partner")


async def test_formula_text_is_neutralised_and_windows_1251_and_xlsx_read_back(services: Services) -> None:
    net, ids = await _day(services)
    formula = '=HYPERLINK("http://evil","Кафе")'
    async with services.engine.begin() as connection:  # a partner named like a formula (and in Cyrillic)
        await connection.execute(update(t.partners).where(t.partners.c.id == ids["cafe"]).values(name=formula))
    async with client(services) as http:
        params = {"from": "2026-03-10", "partner": ids["cafe"], "delimiter": "semicolon", "encoding": "cp1251"}
        response = await http.get("/v1/admin/exports/sales-by-outlet", params=params, headers=auth(net.admin_key))
        assert response.headers["content-type"] == "text/csv; charset=windows-1251"
        text = response.content.decode("cp1251")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert rows[1][3] == "'" + formula  # a spreadsheet shows it as text, never runs it
        assert ";-" not in text.replace(";-1", "")  # numbers stay numbers
        bom = await http.get(
            "/v1/admin/exports/transactions", params={"from": "2026-03-10", "bom": "true"}, headers=auth(net.admin_key)
        )
        assert bom.content.startswith(b"\xef\xbb\xbftx_id,")
        xlsx = await http.get(
            "/v1/admin/exports/transactions",
            params={"from": "2026-03-10", "format": "xlsx"},
            headers=auth(net.admin_key),
        )
        assert xlsx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert 'filename="transactions-2026-03-10-2026-03-10.xlsx"' in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == TRANSACTION_COLUMNS
    assert len(values) == 1 + 16  # 4 + 4 + 8 postings
    assert values[1][15] == -30 and values[2][15] == 30  # amounts are numbers in the sheet
    cafe_cells = [row[6] for row in values[1:] if row[6] != "Shop"]
    assert set(cafe_cells) == {formula}  # stored as text: the cell is a string, not a formula
    formula_book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert {cell.data_type for cell in formula_book.worksheets[0]["G"][1:] if cell.value == formula} == {"s"}
