"""The console's Files page takes purchases and refunds files too (issue 17), over HTTP on both engines: a refused
file lists its rows and columns and writes nothing, a good one shows what it recorded (typed figures), a refunds
file of those purchases, and the Russian page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalition.wiring import Services
from tests.support import client, enrol, ledger_balance, make_network
from tests.web.support import csrf_token, sign_in_console

pytestmark = pytest.mark.anyio


def _when(hours_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


async def test_the_administrator_imports_purchases_and_refunds(services: Services) -> None:
    net = await make_network(services)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    shop = (await services.pos.authenticate(net.shop_key)).terminal_id
    purchases = (
        "receipt;occurred_at;terminal;customer;amount;redeem_points\n"
        f"C-1;{_when(3)};{shop};8001;1 000,00;\n"
        f"C-2;{_when(2)};{shop};8001;2000.00;0\n"
    )
    async with client(services) as http:
        await enrol(http, net.shop_key, "8001")
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        page = await http.get("/console/files")
        assert page.status_code == 200 and "/console/imports/sales" in page.text
        token = csrf_token(page.text)
        bad = purchases.replace("8001;2000.00", "8999;2000.00")
        refused = await http.post(
            "/console/imports/sales",
            data={"csrf_token": token, "kind": "purchases"},
            files={"file": ("purchases.csv", bad.encode())},
        )
        assert refused.status_code == 422 and "sales-refused" in refused.text
        assert "<td>3</td><td>customer</td>" in refused.text
        assert await ledger_balance(services, "8001") == 0
        done = await http.post(
            "/console/imports/sales",
            data={"csrf_token": token, "kind": "purchases"},
            files={"file": ("purchases.csv", purchases.encode())},
        )
        assert done.status_code == 200, done.text
        assert 'id="sales-recorded">2<' in done.text and 'id="sales-earned">90<' in done.text
        assert await ledger_balance(services, "8001") == 90
        refunds = f"receipt,occurred_at,terminal,original_receipt,amount\nC-R1,{_when(1)},{shop},C-2,2000.00\n"
        back = await http.post(
            "/console/imports/sales",
            data={"csrf_token": token, "kind": "refunds"},
            files={"file": ("refunds.csv", refunds.encode())},
        )
        assert back.status_code == 200, back.text
        assert 'id="sales-clawed-back">60<' in back.text
        assert await ledger_balance(services, "8001") == 30
        wrong_kind = await http.post(
            "/console/imports/sales", data={"csrf_token": token, "kind": "gifts"}, files={"file": ("x.csv", b"a\n")}
        )
        assert wrong_kind.status_code == 422 and "sales-form-error" in wrong_kind.text
        russian = await http.get("/console/files?lang=ru")
        assert "Импорт покупок и возвратов" in russian.text
