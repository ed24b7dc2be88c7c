"""The settlement and statements pages over HTTP on both engines, on the water park's day (tests/http/water_park.py):
closing a period, the statement with its exact numbers and both transfer plans, each owner seeing only their own
partner's part, the fees and breakage policies, and statements e-mailed through a real SMTP server."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.http.test_statement_delivery import smtp
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.support import auth, client, enrol
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]
ENGLISH = {"Accept-Language": "en-GB"}


async def _day(services: Services, clock: Clock) -> tuple[str, dict[str, int]]:
    """The park with its console users, and a day of two purchases: Tickets grants 200.00 of points, the café
    honours 150 of them (150.00) and grants 45.00 on the 450.00 paid."""
    admin_key, keys, partner_ids = await water_park(services)
    web = services.web_sessions
    network_id = (await services.admin.network("park")).id
    await web.add_console_user(network_id, "administrator", None, "admin", "Admin", "admin-secret-1")
    for name in ("Tickets", "Cafe"):
        login = name.lower()
        await web.add_console_user(network_id, "owner", partner_ids[name], login, f"{name} owner", f"{login}-secret-1")
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await enrol(http, keys["Tickets"], "6600-0001")
        await buy(http, keys["Tickets"], "6600-0001", "2000.00")
        await buy(http, keys["Cafe"], "6600-0001", "600.00", redeem=150)
    clock.moment = DAY_END + timedelta(hours=1)
    return admin_key, partner_ids


async def _signed_in(http: httpx.AsyncClient, login: str) -> str:
    assert (await sign_in_console(http, "park", login, f"{login}-secret-1")).status_code == 303
    return csrf_token((await http.get("/console", headers=ENGLISH)).text)


def _rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table of the page, as text, row by row (the header row included)."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture()
async def park_day(settings: Settings) -> Any:
    clock = Clock()
    services = build_services(settings, clock=clock)
    try:
        admin_key, partner_ids = await _day(services, clock)
        yield services, admin_key, partner_ids
    finally:
        await services.close()


async def test_closing_a_period_shows_the_statement_with_exact_numbers_and_both_plans(park_day: Any) -> None:
    services, admin_key, partner_ids = park_day
    async with client(services) as http:
        token = await _signed_in(http, "admin")
        for wrong, message in (("yesterday", "expected a date and time"), ("2026-07-02T00:00:00", "at the latest 5 s")):
            refused = await http.post("/console/settlement/close", data={"end": wrong, "csrf_token": token})
            assert refused.status_code == 422 and message in refused.text, wrong
        assert (await http.get("/v1/admin/settlement/statements", headers=auth(admin_key))).json()["statements"] == []

        closed = await http.post("/console/settlement/close", data={"end": "2026-07-01T21:00:00", "csrf_token": token})
        assert closed.status_code == 303 and closed.headers["location"] == "/console/statements/1?closed=1"
        page = (await http.get("/console/statements/1", headers=ENGLISH)).text
        lines = {row[0]: row[1:] for row in _rows(page, "statement-lines")[1:]}
        assert lines["Tickets"] == [
            "RUB\xa0200.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "-RUB\xa0200.00",
            "1",
        ]
        assert lines["Cafe"] == [
            "RUB\xa045.00",
            "RUB\xa00.00",
            "RUB\xa0150.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "RUB\xa00.00",
            "RUB\xa0105.00",
            "1",
        ]
        assert lines["Photo"][-2:] == lines["Arcade"][-2:] == ["RUB\xa00.00", "0"]
        assert lines["Settlement node"][-2:] == ["RUB\xa095.00", ""]
        assert sorted(_rows(page, "through-node")[1:]) == [
            ["Settlement node", "Cafe", "RUB\xa0105.00"],
            ["Tickets", "Settlement node", "RUB\xa0200.00"],
        ]
        assert sorted(_rows(page, "direct")[1:]) == [
            ["Tickets", "Cafe", "RUB\xa0105.00"],
            ["Tickets", "Settlement node", "RUB\xa095.00"],
        ]
        again = await http.post("/console/settlement/close", data={"end": "2026-07-01T21:00:00", "csrf_token": token})
        assert again.status_code == 422 and "is closed already" in again.text
        listing = await http.get("/console/settlement", headers=ENGLISH)
        assert 'href="/console/statements/1"' in listing.text

        whole = list(csv.reader(io.StringIO((await http.get("/console/statements/1/statement.csv")).text)))
        assert ["Tickets", "200.00", "0.00", "0.00", "0.00", "0.00", "0.00", "-200.00", "1"] in whole
        assert ["settlement node", "", "", "", "", "", "", "95.00", ""] in whole
        pdf = await http.get("/console/statements/1/statement.pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        tickets = await http.get(f"/console/statements/1/partners/{partner_ids['Tickets']}", headers=ENGLISH)
        assert tickets.status_code == 200 and "-RUB\xa0200.00" in tickets.text
        for missing in ("2", "99999999999999999999", "0"):
            assert (await http.get(f"/console/statements/{missing}")).status_code == 404, missing
            assert (await http.get(f"/console/statements/{missing}/statement.pdf")).status_code == 404, missing


async def test_an_owner_sees_only_their_own_line_and_transfers(park_day: Any) -> None:
    services, _, partner_ids = park_day
    await services.settlement.close((await services.admin.network("park")).id, DAY_END)
    async with client(services) as http:
        await _signed_in(http, "cafe")
        assert "Statement 1" in (await http.get("/console/statements", headers=ENGLISH)).text
        page = (await http.get("/console/statements/1", headers=ENGLISH)).text
        assert [row[0] for row in _rows(page, "statement-lines")[1:]] == ["Cafe"]
        assert "Settlement node" not in [row[0] for row in _rows(page, "statement-lines")]
        assert _rows(page, "through-node")[1:] == [["Settlement node", "Cafe", "RUB\xa0105.00"]]
        assert _rows(page, "direct")[1:] == [["Tickets", "Cafe", "RUB\xa0105.00"]]  # not the Tickets → node one
        assert "RUB\xa0200.00" not in page and "RUB\xa095.00" not in page

        own = list(csv.reader(io.StringIO((await http.get("/console/statements/1/statement.csv")).text)))
        assert [row[0] for row in own[1:] if row and row[0]] == [
            "Cafe",
            "transfers (through node)",
            "transfers (direct)",
        ]
        assert ["", "Tickets", "Cafe", "105.00"] in own and ["", "Tickets", "settlement node", "95.00"] not in own
        pdf = await http.get("/console/statements/1/statement.pdf")
        assert pdf.content.startswith(b"%PDF")
        assert 'filename="statement-1-partner-' in pdf.headers["content-disposition"]

        mine = await http.get(f"/console/statements/1/partners/{partner_ids['Cafe']}/entries.csv")
        entries = list(csv.reader(io.StringIO(mine.text)))
        assert mine.status_code == 200 and len(entries) == 2  # the header and the café's one purchase
        assert entries[1][1:3] == ["purchase", "Cafe desk"] and entries[1][-1] == "105.00"  # 150.00 − 45.00
        for other in (
            f"/console/statements/1/partners/{partner_ids['Tickets']}",
            f"/console/statements/1/partners/{partner_ids['Tickets']}/entries.csv",
        ):
            assert (await http.get(other)).status_code == 404, other
        assert (await http.get("/console/statements/1/partners/99999999999999999999")).status_code == 404
        assert (await http.get("/console/settlement")).status_code == 403


async def test_fees_and_breakage_policies_are_shown_and_edited(park_day: Any) -> None:
    services, admin_key, _ = park_day
    async with client(services) as http:
        token = await _signed_in(http, "admin")
        bad = await http.post(
            "/console/settlement/fees",
            data={"per_transaction": "a lot", "percent_of_granted": "1.5", "csrf_token": token},
        )
        assert bad.status_code == 422 and 'id="per-transaction-error"' in bad.text and "a lot" in bad.text
        saved = await http.post(
            "/console/settlement/fees",
            data={"per_transaction": "0.50", "percent_of_granted": "1.5", "csrf_token": token},
        )
        assert saved.status_code == 303
        fees = (await http.get("/v1/admin/settlement/fees", headers=auth(admin_key))).json()
        assert fees == {"per_transaction": "0.50", "percent_of_granted": "1.5", "currency": "RUB"}

        wrong = await http.post("/console/settlement/points-breakage", data={"policy": "burn", "csrf_token": token})
        assert wrong.status_code == 422 and "is not a breakage policy" in wrong.text
        shared = await http.post(
            "/console/settlement/points-breakage", data={"policy": "shared", "share": "25", "csrf_token": token}
        )
        assert shared.status_code == 303
        points = (await http.get("/v1/admin/points-breakage", headers=auth(admin_key))).json()
        assert points == {"policy": "shared", "share_bp": 2500}

        released = await http.post("/console/settlement/gift-breakage", data={"gifts": "released", "csrf_token": token})
        assert released.status_code == 303
        assert (await http.get("/v1/admin/gift-breakage", headers=auth(admin_key))).json() == {"gifts": "released"}
        page = (await http.get("/console/settlement?done=gifts", headers=ENGLISH)).text
        assert (
            'value="0.50"' in page
            and 'value="1.5"' in page
            and 'id="points-share" name="share" inputmode="decimal" value="25"' in page
        )
        assert '<option value="released" selected>' in page and '<option value="shared" selected>' in page

        await services.settlement.close((await services.admin.network("park")).id, DAY_END)
        huge = await http.post("/console/settlement/statements/99999999999999999999/send", data={"csrf_token": token})
        assert huge.status_code == 404  # a number past any record's is refused at the edge (clean_input.py)
        no_smtp = await http.post("/console/settlement/statements/1/send", data={"csrf_token": token})
        assert no_smtp.status_code == 409 and "COALITION_SMTP_HOST" in no_smtp.text


async def test_a_statement_is_emailed_to_the_partners_from_the_page(settings: Settings, smtp: Any) -> None:
    inbox, port = smtp
    clock = Clock()
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_from="settlement@park.example")
    services = build_services(mailing, clock=clock)
    try:
        admin_key, partner_ids = await _day(services, clock)
        async with client(services) as http:
            stored = await http.put(
                f"/v1/admin/partners/{partner_ids['Cafe']}/email",
                json={"email": "cafe@park.example"},
                headers=auth(admin_key),
            )
            assert stored.status_code == 200
            await services.settlement.close((await services.admin.network("park")).id, DAY_END)
            token = await _signed_in(http, "admin")
            sent = await http.post("/console/settlement/statements/1/send", data={"csrf_token": token}, headers=ENGLISH)
            assert sent.status_code == 200
            assert "Statement 1 was e-mailed to: Cafe." in sent.text
            assert "Partners without an e-mail address: Arcade, Photo, Tickets." in sent.text
        assert [message["To"] for message in inbox.messages] == ["cafe@park.example"]
        assert "Net: 105.00 RUB" in inbox.messages[0].get_body(("plain",)).get_content()
    finally:
        await services.close()


async def test_odd_settlement_input_is_refused_with_a_message_never_a_500(park_day: Any) -> None:
    services, admin_key, _ = park_day
    async with client(services) as http:
        token = await _signed_in(http, "admin")
        odd = {
            "/console/settlement/close": [
                {"end": "9999-12-31T23:59:59"},
                {"end": "0001-01-01T00:00:00"},
                {"end": ""},
                {"end": "2026-07-01T21:00:00+25:00"},
            ],
            "/console/settlement/fees": [
                {"per_transaction": "99999999999999999999.00", "percent_of_granted": "1"},
                {"per_transaction": "1.00", "percent_of_granted": "101"},
                {"per_transaction": "-1", "percent_of_granted": "1"},
            ],
            "/console/settlement/points-breakage": [
                {"policy": "shared", "share": "100.5"},
                {"policy": "shared", "share": "abc"},
                {"policy": ""},
            ],
            "/console/settlement/gift-breakage": [{"gifts": "burn"}, {}],
        }
        for path, attempts in odd.items():
            for fields in attempts:
                answer = await http.post(path, data={**fields, "csrf_token": token})
                assert 400 <= answer.status_code < 500, (path, fields, answer.status_code)
                assert 'role="alert"' in answer.text, (path, fields)
        assert (await http.get("/v1/admin/settlement/statements", headers=auth(admin_key))).json()["statements"] == []
        fees = (await http.get("/v1/admin/settlement/fees", headers=auth(admin_key))).json()
        assert fees["per_transaction"] == "0.00" and fees["percent_of_granted"] == "0"


def test_the_statement_downloads_are_named_for_what_they_serve():
    """Two of them were mangled by a rename (`statementcsv_text`, `partner_entriescsv_text`)."""
    from starlette.routing import Route

    from coalition.adapters.web.console_settlement import router

    downloads = {
        route.path: route.endpoint.__name__
        for route in router.routes
        if isinstance(route, Route) and route.path.endswith((".csv", ".pdf"))
    }
    assert downloads == {
        "/console/statements/{number}/statement.csv": "statement_csv_download",
        "/console/statements/{number}/statement.pdf": "statement_pdf_download",
        "/console/statements/{number}/partners/{partner_id}/entries.csv": "partner_entries_csv_download",
    }
