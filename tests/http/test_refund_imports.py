"""A refunds file goes through the refund batch (POST /v1/refunds/batch's) in chunks of one terminal, on both
engines: a row recorded before by the single refund command under the row's key is already recorded (a file imported
before the batch came in and imported again), a row the refund command refuses is reported with its row and column
while the others of its chunk are recorded, and the refund batch is called once per chunk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalition.application import sales_import
from coalition.application.commands import fingerprint
from coalition.application.file_exchange.table import FileRefused
from coalition.application.refunds import RefundInput
from coalition.application.sales_files import SaleRow, SalesKind
from coalition.application.sales_import import SalesImportOptions, row_key
from coalition.wiring import Services
from tests.support import client, enrol, ledger_balance, make_network

pytestmark = pytest.mark.anyio

HEADER = "receipt,occurred_at,terminal,customer,amount,redeem_points\n"
REFUND_HEADER = "receipt,occurred_at,terminal,original_receipt,amount\n"


def _when(hours_ago: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).astimezone().replace(microsecond=0)


async def _import(services: Services, network_id: int, text: str, kind: SalesKind, partial: bool = False):
    options = SalesImportOptions("sales.csv", partial=partial)
    return await services.sales_import.run(network_id, kind, text.encode(), options)


async def test_refunds_go_in_chunks_keep_their_keys_and_report_each_refusal(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client(services) as http:
        net = await make_network(services)
        await enrol(http, net.shop_key, "5001")
        ctx = await services.pos.authenticate(net.shop_key)
        shop = ctx.terminal_id
        sales = "".join(f"R-{n},{_when(5).isoformat()},{shop},5001,1000.00,0\n" for n in (1, 2, 3))
        assert (await _import(services, net.ref.id, HEADER + sales, SalesKind.PURCHASES)).recorded == 3
        assert await ledger_balance(services, "5001") == 90  # 3 % of each

        # B-1 recorded the way the import did before the refund batch: the refund command under the row's key
        moment = _when(1)
        row = SaleRow(2, "B-1", moment, shop, "500.00", None, original_receipt="R-1")
        async with services.sales_import.unit_of_work() as uow:
            purchase_ids = await uow.purchases_by_receipt(ctx.outlet_id, ["R-1", "R-2", "R-3"])
        key = row_key(net.ref.id, row, SalesKind.REFUNDS)
        request_hash = fingerprint("import sale", row.payload())
        first = await services.pos.refund(ctx, purchase_ids["R-1"], RefundInput(amount="500.00"), key, request_hash)
        assert first.result is not None and first.result.points_clawed_back == 15

        calls: list[int] = []
        batch = services.pos.refund_batch

        async def counted(terminal, items):  # type: ignore[no-untyped-def]
            calls.append(len(items))
            return await batch(terminal, items)

        monkeypatch.setattr(sales_import, "REFUND_CHUNK", 2)
        monkeypatch.setattr(services.pos, "refund_batch", counted)
        text = (
            REFUND_HEADER
            + f"B-1,{moment.isoformat()},{shop},R-1,500.00\n"
            + f"B-2,{moment.isoformat()},{shop},R-2,1000.00\n"
            + f"B-3,{moment.isoformat()},{shop},R-3,5000.00\n"  # more than the purchase: the refund refuses it
        )
        result = await _import(services, net.ref.id, text, SalesKind.REFUNDS, partial=True)
        assert calls == [2, 1]
        assert (result.rows_read, result.recorded, result.already_recorded, result.rejected) == (3, 1, 1, 1)
        assert (result.amount_minor, result.points_clawed_back) == (100_000, 30)
        assert [(error.row, error.column) for error in result.errors] == [(4, "amount")]
        assert result.rejects is not None and b"B-3" in result.rejects and b"B-2" not in result.rejects
        assert await ledger_balance(services, "5001") == 45  # 90 − 15 (B-1, once) − 30 (B-2)

        # all-or-nothing: a row the check refuses refuses the file, nothing recorded
        bad = (
            REFUND_HEADER
            + f"B-4,{moment.isoformat()},{shop},R-9,1.00\n"
            + f"B-5,{moment.isoformat()},{shop},R-3,1.00\n"
        )
        with pytest.raises(FileRefused) as refused:
            await _import(services, net.ref.id, bad, SalesKind.REFUNDS)
        assert [(error.row, error.column) for error in refused.value.errors] == [(2, "original_receipt")]
        # a refusal of the refund command itself refuses the file too (all or nothing), B-7 not recorded
        again = (
            REFUND_HEADER
            + f"B-6,{moment.isoformat()},{shop},R-2,1.00\n"  # R-2 is refunded in full already
            + f"B-7,{moment.isoformat()},{shop},R-3,1.00\n"
        )
        with pytest.raises(FileRefused) as whole:
            await _import(services, net.ref.id, again, SalesKind.REFUNDS)
        assert [(error.row, error.column) for error in whole.value.errors] == [(2, "amount")]
        assert await ledger_balance(services, "5001") == 45
