"""The console's Files page over HTTP on both engines: a members file uploaded and its result shown, a refused file
listing its rows and columns (nothing written), the same file again, and the export downloaded in both formats."""

from __future__ import annotations

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
        again = await http.post("/console/imports/members", data=data, files={"file": ("m.csv", FILE.encode("cp1251"))})
        assert "imported before" in again.text
        missing = await http.post("/console/imports/members", data={"csrf_token": token})
        assert missing.status_code == 422
        for extension in ("csv", "xlsx"):
            exported = await http.get(f"/console/exports/members.{extension}")
            assert exported.status_code == 200
            balances = {row.cells[0]: row.cells[-1] for row in read_table(exported.content).rows}
            assert balances == {"4001": "100", "4002": "250", "4003": "0"}
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
