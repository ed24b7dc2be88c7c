"""Purchases and refunds made elsewhere, imported from a file (issue 17, docs/files.md), on both engines: priced by
the batch path at their own time, refused whole when a row is bad (naming row and column), a duplicate receipt
naming both rows, another network's terminal, the same file twice, partial mode, a receipt the till uploaded
itself, and a refund of an imported purchase in a later file; then the admin API."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coalition.application.file_exchange.table import FileRefused
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.wiring import Services
from tests.support import assert_problem, auth, balance_of, buy, client, enrol, ledger_balance, make_network

pytestmark = pytest.mark.anyio

HEADER = "receipt,occurred_at,terminal,customer,amount,redeem_points\n"
REFUND_HEADER = "receipt,occurred_at,terminal,original_receipt,amount\n"


def _when(hours_ago: int = 2) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).astimezone().replace(microsecond=0).isoformat()


async def _terminal(services: Services, key: str) -> int:
    return (await services.pos.authenticate(key)).terminal_id


async def _setup(services: Services, http: httpx.AsyncClient) -> tuple[int, int, int]:
    net = await make_network(services)
    await enrol(http, net.shop_key, "5001", phone="+79990000001")
    await enrol(http, net.shop_key, "5002")
    return net.ref.id, await _terminal(services, net.shop_key), await _terminal(services, net.cafe_key)


async def _import(services: Services, network_id: int, text: str, kind: SalesKind = SalesKind.PURCHASES, **options):
    return await services.sales_import.run(network_id, kind, text.encode(), SalesImportOptions("sales.csv", **options))


async def test_purchases_are_priced_recorded_once_and_refunded_from_a_later_file(services: Services) -> None:
    async with client(services) as http:
        network_id, shop, _ = await _setup(services, http)
        text = (
            HEADER
            + f"R-1,{_when(5)},{shop},5001,1000.00,0\n"
            + f'R-2,{_when(4)},{shop},+7 999 000-00-01,"2 000,00",\n'
            + f"R-3,{_when(3)},{shop},5002,1500.00,0\n"
        )
        result = await _import(services, network_id, text)
        assert (result.rows_read, result.recorded, result.already_recorded, result.rejected) == (3, 3, 0, 0)
        assert (result.amount_minor, result.points_earned, result.points_redeemed) == (450_000, 135, 0)
        assert await ledger_balance(services, "5001") == 90  # 3 % of 1,000.00 and of 2,000.00
        assert await ledger_balance(services, "5002") == 45
        again = await _import(services, network_id, text)  # the same file: answered from the first import
        assert again.replayed and again.recorded == 3
        reordered = HEADER + "\n".join(reversed(text.strip().split("\n")[1:])) + "\n"  # same rows, another file
        third = await _import(services, network_id, reordered)
        assert (third.replayed, third.recorded, third.already_recorded) == (False, 0, 3)
        assert await ledger_balance(services, "5001") == 90
        refunds = REFUND_HEADER + f"B-1,{_when(1)},{shop},R-2,2000.00\n"
        refunded = await _import(services, network_id, refunds, SalesKind.REFUNDS)
        assert (refunded.recorded, refunded.amount_minor, refunded.points_clawed_back) == (1, 200_000, 60)
        assert await ledger_balance(services, "5001") == 30
        assert (await _import(services, network_id, refunds + "\n", SalesKind.REFUNDS)).already_recorded == 1
        assert await ledger_balance(services, "5001") == 30


async def test_a_bad_row_refuses_the_whole_file_and_partial_takes_the_rest(services: Services) -> None:
    async with client(services) as http:
        network_id, shop, _ = await _setup(services, http)
        other = await make_network(services, "other")
        foreign = await _terminal(services, other.shop_key)
        text = (
            HEADER
            + f"R-1,{_when()},{shop},5001,1000.00,0\n"
            + f"R-2,2026-12-06T10:00:00,{shop},5001,100.00,0\n"  # no offset
            + f"R-3,{_when()},{shop},9999,100.00,0\n"  # nobody's card
            + f"R-4,{_when()},{foreign},5001,100.00,0\n"  # another network's terminal
            + f"R-1,{_when()},{shop},5002,100.00,0\n"  # the receipt of row 2 again
            + f"R-6,{_when()},{shop},5002,12.345,0\n"  # too many decimals for roubles
        )
        with pytest.raises(FileRefused) as refused:
            await _import(services, network_id, text)
        where = {(error.row, error.column) for error in refused.value.errors}
        assert where == {(3, "occurred_at"), (4, "customer"), (5, "terminal"), (6, "receipt"), (7, "amount")}
        duplicate = next(error for error in refused.value.errors if error.row == 6)
        assert "row 2" in duplicate.reason
        assert await ledger_balance(services, "5001") == 0  # nothing written
        partial = await _import(services, network_id, text, partial=True)
        assert (partial.recorded, partial.rejected) == (1, 5)
        assert partial.rejects is not None and partial.rejects.decode("utf-8-sig").count("\n") == 6
        assert await ledger_balance(services, "5001") == 30


async def test_a_receipt_the_till_uploaded_itself_is_recognised(services: Services) -> None:
    async with client(services) as http:
        net = await make_network(services)
        await enrol(http, net.shop_key, "5001")
        shop = await _terminal(services, net.shop_key)
        assert (await buy(http, net.shop_key, "5001", "1000.00", receipt="T-1")).status_code == 201
        text = HEADER + f"T-1,{_when()},{shop},5001,1000.00,0\nT-2,{_when()},{shop},5001,500.00,0\n"
        result = await _import(services, net.ref.id, text)
        assert (result.recorded, result.already_recorded) == (1, 1)
        assert await balance_of(http, net.shop_key, "5001") == 45


async def test_the_admin_api_imports_purchases_and_refuses_bad_files(services: Services) -> None:
    async with client(services) as http:
        net = await make_network(services)
        await enrol(http, net.shop_key, "5001")
        shop = await _terminal(services, net.shop_key)
        good = (HEADER + f"R-1,{_when()},{shop},5001,1000.00,0\n").encode()
        answer = await http.post(
            "/v1/admin/imports/purchases", files={"file": ("purchases.csv", good)}, headers=auth(net.admin_key)
        )
        assert answer.status_code == 200, answer.text
        assert (answer.json()["recorded"], answer.json()["amount_minor"]) == (1, 100_000)
        bad = (HEADER + f"R-2,{_when()},{shop},5001,abc,0\n").encode()
        refused = await http.post(
            "/v1/admin/imports/purchases", files={"file": ("purchases.csv", bad)}, headers=auth(net.admin_key)
        )
        body = assert_problem(refused, 422, "file-refused", "amount")
        assert body["file_errors"][0]["row"] == 2
        partial = await http.post(
            "/v1/admin/imports/purchases",
            files={"file": ("purchases.csv", bad)},
            data={"partial": "true"},
            headers=auth(net.admin_key),
        )
        assert partial.status_code == 200 and partial.json()["rejected"] == 1
        rejects = base64.b64decode(partial.json()["rejects"]["content_base64"]).decode("utf-8-sig")
        assert "amount: expected an amount" in rejects
        big = b"x" * (services.settings.import_max_bytes + 10)
        too_large = await http.post(
            "/v1/admin/imports/refunds", files={"file": ("refunds.csv", big)}, headers=auth(net.admin_key)
        )
        assert_problem(too_large, 413, "file-too-large")
        refund = (REFUND_HEADER + f"B-1,{_when()},{shop},R-1,1000.00\n").encode()
        refunded = await http.post(
            "/v1/admin/imports/refunds", files={"file": ("refunds.csv", refund)}, headers=auth(net.admin_key)
        )
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["points_clawed_back"] == 30
        assert await balance_of(http, net.shop_key, "5001") == 0


async def test_an_xlsx_purchases_file_and_a_formula_refused(services: Services) -> None:
    from coalition.application.file_exchange.writing import xlsx_bytes

    async with client(services) as http:
        network_id, shop, _ = await _setup(services, http)
        header = ["receipt", "occurred_at", "terminal", "customer", "amount"]
        data = xlsx_bytes(header, [["X-1", _when(), shop, "5002", "300.00"]])
        result = await services.sales_import.run(
            network_id, SalesKind.PURCHASES, data, SalesImportOptions("purchases.xlsx")
        )
        assert (result.file_format.value, result.recorded, result.points_earned) == ("xlsx", 1, 9)
        formula = (HEADER + f"X-2,{_when()},{shop},5002,=1000*2,0\n").encode()
        with pytest.raises(FileRefused) as refused:
            await services.sales_import.run(network_id, SalesKind.PURCHASES, formula, SalesImportOptions("f.csv"))
        assert [(e.row, e.column) for e in refused.value.errors] == [(2, "amount")]
