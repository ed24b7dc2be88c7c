"""The console's downloads over HTTP on both engines (issue 17): the administrator downloads any partner's figures;
an owner only their own partner's, whatever the address asks, and never the node's tables."""

from __future__ import annotations

import csv
import io

import pytest

from coalition.wiring import Services
from tests.http.test_exports import _day, services
from tests.support import client
from tests.web.support import sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["services"]  # the fixture on the test clock


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_an_owner_downloads_only_their_partners_data(services: Services) -> None:
    net, ids = await _day(services)
    web = services.web_sessions
    await web.add_console_user(net.ref.id, "owner", ids["shop"], "shop-owner", "Shop owner", "shop-secret-1")
    await web.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")).status_code == 303
        page = await http.get("/console/reports?day=2026-03-10")
        assert "/console/exports/sales-by-outlet?from=2026-03-10&amp;to=2026-03-10&amp;format=csv" in page.text
        # ?partner= of another partner is ignored: the session's partner is the scope
        mine = await http.get(f"/console/exports/transactions?from=2026-03-10&partner={ids['cafe']}")
        assert mine.status_code == 200
        assert {row["partner"] for row in _rows(mine.text)} == {"Shop"}
        outlets = _rows(
            (await http.get(f"/console/exports/sales-by-outlet?from=2026-03-10&partner={ids['cafe']}")).text
        )
        assert [(row["outlet"], row["revenue_minor"]) for row in outlets] == [("Shop till", "100000")]
        # the other partner's outlet is not found in the owner's scope; the node's tables are the administrator's
        assert (
            await http.get(f"/console/exports/transactions?from=2026-03-10&outlet={ids['cafe_till']}")
        ).status_code == 404
        for node_table in ("balances", "wallet-liability", "gift-card-liability"):
            assert (await http.get(f"/console/exports/{node_table}?to=2026-03-10")).status_code == 403
        xlsx = await http.get("/console/exports/sales-by-cashier?from=2026-03-10&format=xlsx")
        assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")  # a zip: the XLSX container
        http.cookies.clear()
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        cafe = await http.get(f"/console/exports/transactions?from=2026-03-10&partner={ids['cafe']}")
        assert {row["partner"] for row in _rows(cafe.text)} == {"Cafe"}
        everything = _rows((await http.get("/console/exports/balances?to=2026-03-10")).text)
        assert [row["points"] for row in everything] == ["69", "15"]
        bad = await http.get("/console/exports/transactions?from=10.03.2026")
        assert bad.status_code == 422
