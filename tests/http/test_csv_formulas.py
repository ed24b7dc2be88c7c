"""Hole 8 of issue 12: every CSV the server writes (the daily report's attachment, statements through the API, the
console, the CLI and e-mail, a partner's entries) neutralises text a spreadsheet would run as a formula, and leaves
numbers alone. On both engines, through each surface, with the exact cell expected."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.application.admin import NetworkRef
from coalition.application.csv_text import csv_text
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.water_park import DAY_END, DAY_START, PROGRAM, Clock, buy
from tests.mail_support import Inbox, smtp
from tests.support import auth, client, enrol
from tests.web.support import sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]

LINK = '=HYPERLINK("http://x","y")'  # a partner, an outlet and a receipt named like this
SUM = "-2+3"  # a partner and a receipt
LOGIN = "-A1"  # a cashier's login (a login may start with a hyphen)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_text_that_starts_a_formula_gets_an_apostrophe_and_numbers_stay_numbers() -> None:
    cells = [LINK, SUM, "+1", "@SUM(A1:A9)", "\t=1", "=1\t", "-600.00", "-600", "600.00", 7, -3, "", "Cafe", "-"]
    assert _rows(csv_text([cells])) == [
        [
            "'" + LINK,
            "'-2+3",
            "'+1",
            "'@SUM(A1:A9)",
            "'\t=1",
            "'=1\t",
            "-600.00",
            "-600",
            "600.00",
            "7",
            "-3",
            "",
            "Cafe",
            "'-",
        ]
    ]
    assert _rows(csv_text([["-1e5", "-٣", "-600.00 "]])) == [["'-1e5", "'-٣", "'-600.00 "]]  # not plain numbers
    # a lone carriage return would end the row in a reader: its row is quoted whole
    assert _rows(csv_text([["\r=1", "-1"]])) == [["'\r=1", "-1"]]
    assert _rows(csv_text([["a\rb", 7], ["c", 8]])) == [["a\rb", "7"], ["c", "8"]]


async def _network(services: Any) -> tuple[str, dict[str, str], dict[str, int]]:
    """Two partners named like formulas, each with an outlet, a till and an owner's address; a cashier `-A1`."""
    created = await services.admin.create_network("park", "Water park", "RUB", PROGRAM)
    ref = NetworkRef(created["id"], "park", created["name"], "RUB")
    keys, partner_ids, outlet_ids = {}, {}, {}
    for name, outlet in ((LINK, LINK), (SUM, "Cafe desk")):
        partner = await services.admin.create_partner(ref, name)
        made = await services.admin.create_outlet(ref, partner["id"], outlet, "Europe/Moscow")
        keys[name] = (await services.admin.create_terminal(ref, made["id"], "POS"))["key"]
        partner_ids[name], outlet_ids[name] = partner["id"], made["id"]
    await services.admin.create_cashier(ref, outlet_ids[LINK], LOGIN, "Anna", "anna-secret-1")
    await services.web_sessions.add_console_user(ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    return created["admin_key"], keys, partner_ids


async def test_every_csv_neutralises_formulas_and_keeps_amounts(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clock = Clock()
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        admin_key, keys, partner_ids = await _network(services)
        async with client(services) as http:
            for name, address in ((LINK, "link@park.example"), (SUM, "sum@park.example")):
                stored = await http.put(
                    f"/v1/admin/partners/{partner_ids[name]}/email", json={"email": address}, headers=auth(admin_key)
                )
                assert stored.status_code == 200, stored.text
            clock.moment = DAY_START + timedelta(hours=1)  # 10:00 in Moscow
            await enrol(http, keys[LINK], "6600-0001")
            await buy(http, keys[LINK], "6600-0001", "2000.00", receipt=LINK, cashier=LOGIN)
            await buy(http, keys[SUM], "6600-0001", "600.00", redeem=150, receipt=SUM)
            clock.moment = DAY_END + timedelta(hours=1)

            # the daily report's attachment: outlet, receipt and login neutralised; amounts as they are
            sent = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(admin_key))
            assert sent.status_code == 200, sent.text
            [report] = inbox.to("link@park.example")
            [attachment] = list(report.iter_attachments())
            assert _rows(attachment.get_content())[1] == [
                "2026-07-01T10:00:00+03:00",
                "purchase",
                "'" + LINK,
                "'" + LINK,
                "'-A1",
                "2000.00",
                "2000.00",
                "0.00",
                "200",
                "0",
                "0.00",
                "",
            ]
            [report] = inbox.to("sum@park.example")
            [attachment] = list(report.iter_attachments())
            assert _rows(attachment.get_content())[1][2:6] == ["Cafe desk", "'-2+3", "", "600.00"]

            closed = await http.post(
                "/v1/admin/settlement/periods",
                json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
                headers=auth(admin_key),
            )
            assert closed.status_code == 201, closed.text
            statement = [
                [
                    "party",
                    "granted",
                    "granted_refunded",
                    "honoured",
                    "honoured_refunded",
                    "breakage",
                    "fees",
                    "net",
                    "transactions",
                ],
                ["'-2+3", "45.00", "0.00", "150.00", "0.00", "0.00", "0.00", "105.00", "1"],
                ["'" + LINK, "200.00", "0.00", "0.00", "0.00", "0.00", "0.00", "-200.00", "1"],
                ["settlement node", "", "", "", "", "", "", "95.00", ""],
            ]
            api = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=auth(admin_key))
            assert api.status_code == 200, api.text
            api_rows = _rows(api.text)
            assert api_rows[:4] == statement
            assert ["", "'" + LINK, "settlement node", "200.00"] in api_rows  # the transfer plans' names too

            # the console's downloads
            assert (await sign_in_console(http, "park", "admin", "admin-secret-1")).status_code == 303
            console = await http.get("/console/statements/1/statement.csv")
            assert console.status_code == 200, console.text
            assert _rows(console.text) == api_rows
            entries = await http.get(f"/console/statements/1/partners/{partner_ids[LINK]}/entries.csv")
            assert entries.status_code == 200, entries.text
            [entry] = _rows(entries.text)[1:]
            assert (entry[1], entry[2], entry[5]) == ("purchase", "'" + LINK, "-200.00")

            # the statements e-mailed to each partner
            mailed = await http.post("/v1/admin/settlement/statements/1/send", headers=auth(admin_key))
            assert mailed.status_code == 200, mailed.text
            [_, statement_mail] = inbox.to("link@park.example")
            files = {part.get_filename(): part.get_content() for part in statement_mail.iter_attachments()}
            assert _rows(files["statement-1.csv"]) == api_rows
            [entry] = _rows(files["statement-1-entries.csv"])[1:]
            assert (entry[2], entry[5]) == ("'" + LINK, "-200.00")

        # the command line
        arguments = ["settle", "show", "park", "1", "--format", "csv", "--database-url", settings.database_url]
        shown = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, arguments))
        assert shown.exit_code == 0, shown.output
        assert _rows(shown.stdout) == api_rows
    finally:
        await services.close()
