"""The console's Files page over HTTP on both engines: a members file uploaded and its result shown, a refused file
listing its rows and columns (nothing written), the same file again, and the export downloaded in both formats."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from coalition.application.file_exchange.reading import read_table
from coalition.wiring import Services
from tests.support import client, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio
FILE = "card_number;name;consent_data_processing;points_balance\n4001;Пётр;да;100\n4002;Мария;да;250\n4003;;;0\n"


async def test_the_administrator_imports_and_exports_members(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        page = await http.get("/console/files")
        assert page.status_code == 200 and "/console/imports/members" in page.text
        token = csrf_token(page.text)
        bad = await http.post(
            "/console/imports/members",
            data={"csrf_token": token},
            files={"file": ("bad.csv", b"card_number,colour\n1,red\n")},
        )
        assert bad.status_code == 422 and "import-refused" in bad.text and "colour" in bad.text
        data = {"csrf_token": token, "encoding": "cp1251"}
        done = await http.post("/console/imports/members", data=data, files={"file": ("m.csv", FILE.encode("cp1251"))})
        assert done.status_code == 200, done.text
        assert 'id="created">3<' in done.text and "350" in done.text
        assert 'id="opening-wallet"' not in done.text  # no money in this file: the line is left out
        money = b"card_number,wallet_balance,card_state\n4010,150.00,blocked\n"
        opened = await http.post(
            "/console/imports/members", data={"csrf_token": token}, files={"file": ("w.csv", money)}
        )
        assert 'id="opening-wallet">150.00<' in opened.text, opened.text
        again = await http.post("/console/imports/members", data=data, files={"file": ("m.csv", FILE.encode("cp1251"))})
        assert "imported before" in again.text
        missing = await http.post("/console/imports/members", data={"csrf_token": token})
        assert missing.status_code == 422
        for extension in ("csv", "xlsx"):
            exported = await http.get(f"/console/exports/members.{extension}")
            assert exported.status_code == 200
            table = read_table(exported.content)
            points = table.header.index("points_balance")
            balances = {row.cells[0]: row.cells[points] for row in table.rows}
            assert balances == {"4001": "100", "4002": "250", "4003": "0", "4010": "0"}
            wallet = {row.cells[0]: row.cells[points + 1 : points + 3] for row in table.rows}["4010"]
            assert wallet == ("150.00", "blocked")
        russian = await http.get("/console/files?lang=ru")
        assert "Импорт участников" in russian.text


async def test_a_refused_file_is_explained_in_russian(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = csrf_token((await http.get("/console/files?lang=ru")).text)
        data = b"card_number,points_balance,colour\n"
        refused = await http.post(
            "/console/imports/members", data={"csrf_token": token}, files={"file": ("b.csv", data)}
        )
        assert "неизвестный столбец; столбцы такие: card_number" in refused.text
        data = b"card_number,points_balance\n1,ten\n1,5\n"
        refused = await http.post(
            "/console/imports/members", data={"csrf_token": token}, files={"file": ("c.csv", data)}
        )
        assert "ожидается целое число, а не &#39;ten&#39;" in refused.text


def _rejects_link(page: str) -> tuple[str, bytes]:
    """The page's download of the rejected rows: (file name, content)."""
    found = re.search(
        r'<a href="data:([^," ]+);base64,([A-Za-z0-9+/=]+)" download="([^"]+)" id="(?:sales-)?rejects"', page
    )
    assert found, "no download of the rejected rows on the page"
    return found.group(3), base64.b64decode(found.group(2))


async def test_partial_mode_offers_the_rejected_rows_as_a_file(services: Services) -> None:
    """With "take the valid rows", the rejected ones come back as a file (as the API's `rejects` and the CLI's
    --rejects): a download on the result, in the uploaded format, with an `error` column."""
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    shop = (await services.pos.authenticate(net.shop_key)).terminal_id
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = csrf_token((await http.get("/console/files")).text)
        members = "card_number;name;consent_data_processing;points_balance\n4101;Пётр;да;10\n4102;=2+2;да;1\n"
        data = {"csrf_token": token, "partial": "yes"}
        done = await http.post("/console/imports/members", data=data, files={"file": ("m.csv", members.encode())})
        assert done.status_code == 200, done.text
        assert 'id="created">1<' in done.text and 'id="rejected">1<' in done.text
        name, content = _rejects_link(done.text)
        table = read_table(content, filename=name)
        assert name == "rejected-rows.csv" and table.header[-1] == "error"
        assert [row.cells[0] for row in table.rows] == ["4102"] and "formula" in table.rows[0].cells[-1]
        whole = await http.post(
            "/console/imports/members",
            data={"csrf_token": token},
            files={"file": ("n.csv", b"card_number,points_balance\n4103,5\n")},
        )
        assert whole.status_code == 200 and "rejected-rows" not in whole.text  # nothing rejected: no download
        sales = (
            "receipt,occurred_at,terminal,customer,amount\n"
            f"P-1,{when},{shop},4101,100.00\nP-2,{when},{shop},4999,5.00\n"
        )
        recorded = await http.post(
            "/console/imports/sales",
            data={"csrf_token": token, "kind": "purchases", "partial": "yes"},
            files={"file": ("p.csv", sales.encode())},
        )
        assert recorded.status_code == 200, recorded.text
        name, content = _rejects_link(recorded.text)
        table = read_table(content, filename=name)
        assert [row.cells[0] for row in table.rows] == ["P-2"] and table.header[-1] == "error"
