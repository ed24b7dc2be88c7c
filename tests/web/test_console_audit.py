"""The console's audit log over HTTP on both engines: administrators only, filters in the reader's days, bad filters
answered beside their field, paging, and the Russian page."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from coalition.adapters.web import console_audit
from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, OUTLETS, load_demo
from coalition.wiring import Services
from tests.support import client
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio


async def test_the_administrator_reads_filters_and_pages_the_log(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_audit, "PAGE_SIZE", 3)
    await load_demo(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "demo", DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD)).status_code == 303
        token = csrf_token((await http.get("/console")).text)
        for name in ("Bakery", "Florist"):
            made = await http.post("/console/partners", data={"name": name, "csrf_token": token})
            assert made.status_code == 303
        page = await http.get("/console/audit", params={"action": "partner.create", "actor": "console_user"})
        assert page.status_code == 200
        assert (
            page.text.count("<code>partner.create</code>") == 2
            and "Florist" in page.text
            and "Corner Shop" not in page.text
        )
        assert "Console user: admin (administrator)" in page.text
        assert 'href="/console/audit.csv?actor=console_user&amp;action=partner.create"' in page.text
        whole = await http.get("/console/audit")
        assert "Older entries" in whole.text and whole.text.count("<code>partner.create</code>") == 2
        older = whole.text.split('<a href="/console/audit?cursor=')[1].split('"')[0]
        second = await http.get(f"/console/audit?cursor={older}")
        assert second.status_code == 200 and "<code>partner.create</code>" not in second.text
        none = await http.get("/console/audit", params={"from": "2100-01-01"})
        assert "No entries match." in none.text
        russian = await http.get("/console/audit", headers={"Accept-Language": "ru"})
        assert "Журнал действий" in russian.text and "Пользователь консоли" in russian.text
        csv_text = (await http.get("/console/audit.csv", params={"actor": "console_user"})).text
        assert csv_text.count("partner.create") == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"actor": "a\x00b"}, "actor"),
        ({"action": "x" * 65}, "action"),
        ({"cursor": "-1"}, "cursor"),
    ],
)
async def test_a_bad_filter_is_answered_beside_its_field(
    services: Services, params: dict[str, str], field: str
) -> None:
    await load_demo(services)
    async with client(services) as http:
        await sign_in_console(http, "demo", DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD)
        page = await http.get("/console/audit", params=params)
        assert page.status_code == 422
        if "\x00" in "".join(params.values()):  # refused at the edge for every page (clean_input.py), not by the form
            assert "control characters (such as NUL) are not allowed" in page.text
        else:
            assert f'id="{field}-error"' in page.text or 'id="form-error"' in page.text
        if field != "cursor":  # the download is the whole filtered log: it has no pages
            assert (await http.get("/console/audit.csv", params=params)).status_code == 422


async def test_an_owner_sees_no_entries(services: Services) -> None:
    await load_demo(services)
    shop = OUTLETS[0]
    async with client(services) as http:
        await sign_in_console(http, "demo", shop.owner_login, shop.owner_password)
        assert (await http.get("/console/audit")).status_code == 403
        assert (await http.get("/console/audit.csv")).status_code == 403
        assert "/console/audit" not in (await http.get("/console")).text
        # what an owner does is still recorded, under their name and role, about their partner
        token = csrf_token((await http.get("/console/cashiers")).text)
        async with services.engine.connect() as connection:
            anna = (await connection.execute(text("SELECT id FROM cashiers WHERE login = 'anna'"))).scalar_one()
        blocked = await http.post(f"/console/cashiers/{anna}/active", data={"active": "0", "csrf_token": token})
        assert blocked.status_code == 303
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT actor_kind, actor_role, partner_id, after FROM audit_entries WHERE action = 'cashier.block'"
                )
            )
        ).one()
        owner_partner = (
            await connection.execute(
                text("SELECT partner_id FROM console_users WHERE login = :l"), {"l": shop.owner_login}
            )
        ).scalar_one()
    assert tuple(row) == ("console_user", "owner", owner_partner, '{"active": false}')


async def test_days_at_the_calendars_edges_are_answered(services: Services) -> None:
    await load_demo(services)
    async with client(services) as http:
        await sign_in_console(http, "demo", DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD)
        for params in ({"from": "0001-01-01", "to": "9999-12-31"}, {"from": "9999-12-31"}, {"to": "0001-01-01"}):
            assert (await http.get("/console/audit", params=params)).status_code == 200, params
            assert (await http.get("/console/audit.csv", params=params)).status_code == 200, params
