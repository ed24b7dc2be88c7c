"""The program's reports over the API on both engines (docs/reports.md): exact figures from purchases made through
the JSON API, the same figures as CSV and XLSX downloads, bad parameters refused naming their field."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import httpx
import pytest

from coalition.wiring import Services
from tests.http.test_exports import _at, _buy, _day, services
from tests.support import auth, client, new_key

pytestmark = pytest.mark.anyio
__all__ = ["services"]  # the fixture on the test clock


async def _report(http: httpx.AsyncClient, key: str, name: str, **params: Any) -> dict[str, Any]:
    response = await http.get(f"/v1/admin/reports/{name}", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_program_reports_count_exactly(services: Services) -> None:
    net, ids = await _day(services)  # 10 March: 1000.00 (Shop, 10:00), 500.00 (Cafe, 11:00), 2000.00 (Cafe, 12:00)
    async with client(services) as http:  # 11 March: 300.00 (Shop, 10:00); plus an anonymous card's 400.00 at 18:00
        body = {"kind": "anonymous", "card_number": "7003"}
        enrolled = await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))
        assert enrolled.status_code == 201, enrolled.text
        anonymous = await _buy(http, net.shop_key, "7003", "400.00", _at(date(2026, 3, 10), 18))
        assert anonymous["points_earned"] == 12
        key, period = net.admin_key, {"from": "2026-03-10", "to": "2026-03-11"}

        seen = await _report(http, key, "attendance", **period)
        assert seen["checks"] == 5
        assert [(line["hour"], line["checks"], line["revenue_minor"]) for line in seen["by_hour"]] == [
            (10, 2, 130_000),
            (11, 1, 50_000),
            (12, 1, 200_000),
            (18, 1, 40_000),
        ]
        weekdays = [(line["name"], line["checks"], line["revenue_minor"]) for line in seen["by_weekday"]]
        assert weekdays[:3] == [("Monday", 0, 0), ("Tuesday", 4, 390_000), ("Wednesday", 1, 30_000)]
        shop = await _report(http, key, "attendance", partner=ids["shop"], **period)
        assert [(line["hour"], line["checks"]) for line in shop["by_hour"]] == [(10, 2), (18, 1)]

        everyone = await _report(http, key, "customers", **period)
        assert (everyone["new_customers"], everyone["returning_customers"], everyone["new_share_bp"]) == (3, 0, 10_000)
        second_day = await _report(http, key, "customers", **{"from": "2026-03-11"})
        assert (second_day["new_customers"], second_day["returning_customers"]) == (0, 1)  # Boris bought the day before
        assert (second_day["returning_checks"], second_day["returning_revenue_minor"]) == (1, 30_000)

        effect = await _report(http, key, "effectiveness", **period)
        assert (effect["member_checks"], effect["member_revenue_minor"], effect["member_average_check_minor"]) == (
            4,
            380_000,
            95_000,
        )
        assert (effect["anonymous_checks"], effect["anonymous_revenue_minor"]) == (1, 40_000)
        assert (effect["members"], effect["repeat_members"], effect["repeat_rate_bp"]) == (2, 2, 10_000)
        issued = effect["points_issued"]
        assert effect["program_cost_minor"] == issued * effect["point_value_minor"] + effect["discount_minor"]
        assert effect["revenue_minor"] == 420_000
        assert effect["cost_per_revenue_bp"] == (effect["program_cost_minor"] * 10_000 * 2 + 420_000) // (2 * 420_000)

        helper = await _report(
            http, key, "threshold", threshold=100_000, base_from="2026-03-10", **{"from": "2026-03-11"}
        )
        assert (helper["base_checks"], helper["base_average_check_minor"]) == (4, 97_500)  # 390,000 / 4
        assert (helper["current_checks"], helper["current_average_check_minor"]) == (1, 30_000)
        assert helper["new_threshold_minor"] == 30_769  # 100,000 × 30,000 / 97,500 = 30,769.23
        assert helper["change_bp"] == -6_923

        download = await http.get("/v1/admin/exports/attendance", params=period, headers=auth(key))
        assert download.status_code == 200, download.text
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [(r["by"], r["hour_or_weekday"], r["checks"], r["revenue_minor"]) for r in rows[:4]] == [
            ("hour", "10", "2", "130000"),
            ("hour", "11", "1", "50000"),
            ("hour", "12", "1", "200000"),
            ("hour", "18", "1", "40000"),
        ]
        params = {"from": "2026-03-11", "threshold": "100000", "base_from": "2026-03-10", "format": "xlsx"}
        sheet = await http.get("/v1/admin/exports/threshold", params=params, headers=auth(key))
        assert sheet.status_code == 200 and sheet.content.startswith(b"PK")
        for name in ("customers", "effectiveness"):
            table = await http.get(f"/v1/admin/exports/{name}", params=period, headers=auth(key))
            assert table.status_code == 200 and table.text.count("\n") == 2, table.text


async def test_bad_parameters_are_refused_naming_their_field(services: Services) -> None:
    net, _ids = await _day(services)
    async with client(services) as http:
        key = net.admin_key

        async def problem(name: str, **params: Any) -> tuple[int, str]:
            response = await http.get(f"/v1/admin/reports/{name}", params=params, headers=auth(key))
            assert response.headers["content-type"].startswith("application/problem+json"), response.text
            body = response.json()
            where = body.get("field") or " ".join(
                str(error.get("field", error.get("loc"))) for error in body.get("errors", [])
            )
            return response.status_code, where

        assert (await problem("attendance", **{"from": "10.03.2026"}))[0] == 422
        assert (await problem("attendance", **{"from": "2026-03-11", "to": "2026-03-10"})) == (422, "to")
        assert (await problem("customers", **{"from": "2026-03-10"}, partner=999_999))[0] == 404
        assert (await problem("threshold", **{"from": "2026-03-11"}, base_from="2026-03-10"))[0] == 422
        missing = await problem("threshold", **{"from": "2026-03-11"}, threshold=100, base_from="2026-02-01")
        assert missing == (422, "base_from")
        none = await http.get("/v1/admin/reports/attendance", params={"from": "2026-03-10"})
        assert none.status_code == 401
        export = await http.get("/v1/admin/exports/threshold", params={"from": "2026-03-11"}, headers=auth(key))
        assert export.status_code == 422 and export.json()["field"] == "threshold"
