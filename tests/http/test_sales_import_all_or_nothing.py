"""All or nothing (issue 17, docs/files.md): a row the till's command refuses when it is recorded — an edited receipt,
points on a check too small for them, a refund larger than its purchase — refuses the whole file as a static error
does, naming the row and column, with nothing written (purchases, refunds and balances counted before and after);
the corrected file then imports fully. A file of several chunks a lane with the refusal in the last chunk of one
lane writes nothing in either lane. The partial mode still takes the valid rows. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coalition.application import import_lanes
from coalition.application.file_exchange.table import FileRefused
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.wiring import Services
from tests.support import assert_problem, auth, client, enrol, ledger_balance, make_network

pytestmark = pytest.mark.anyio

HEADER = "receipt,occurred_at,terminal,customer,amount,redeem_points\n"
REFUND_HEADER = "receipt,occurred_at,terminal,original_receipt,amount\n"
CARDS = ("5001", "5002", "5003", "5004")


def _when(hours_ago: float = 2) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).astimezone().replace(microsecond=0).isoformat()


async def _import(services: Services, network_id: int, text_: str, kind: SalesKind = SalesKind.PURCHASES, **options):
    return await services.sales_import.run(network_id, kind, text_.encode(), SalesImportOptions("s.csv", **options))


async def _written(services: Services, network_id: int) -> tuple[int, int, dict[str, int]]:
    """Purchases and refunds of the network, and its members' balances."""
    async with services.engine.connect() as connection:
        purchases = (
            await connection.execute(
                text("SELECT COUNT(*) FROM purchases p JOIN outlets o ON o.id = p.outlet_id WHERE o.network_id = :n"),
                {"n": network_id},
            )
        ).scalar_one()
        refunds = (
            await connection.execute(
                text(
                    "SELECT COUNT(*) FROM refunds r JOIN purchases p ON p.id = r.purchase_id "
                    "JOIN outlets o ON o.id = p.outlet_id WHERE o.network_id = :n"
                ),
                {"n": network_id},
            )
        ).scalar_one()
    return int(purchases), int(refunds), {card: await ledger_balance(services, card) for card in CARDS}


async def _network(services: Services) -> tuple[int, int]:
    net = await make_network(services)
    async with client(services) as http:
        for card in CARDS:
            await enrol(http, net.shop_key, card)
    return net.ref.id, (await services.pos.authenticate(net.shop_key)).terminal_id


async def test_an_edited_receipt_refuses_the_file_and_the_corrected_file_imports(services: Services) -> None:
    network_id, shop = await _network(services)
    sold_at = _when(5)  # once: the first import may end in another second than it began
    first = await _import(services, network_id, HEADER + f"R-1,{sold_at},{shop},5001,1000.00,\n")
    assert first.recorded == 1
    before = await _written(services, network_id)
    edited = HEADER + f"R-1,{sold_at},{shop},5001,999.00,\n" + f"R-10,{_when(4)},{shop},5002,500.00,\n"
    with pytest.raises(FileRefused) as refused:
        await _import(services, network_id, edited)
    assert [(error.row, error.column) for error in refused.value.errors] == [(2, "receipt")]
    assert "R-1" in refused.value.errors[0].reason
    assert await _written(services, network_id) == before  # R-10 not written
    with pytest.raises(FileRefused):  # the same file again: refused again, nothing written
        await _import(services, network_id, edited)
    assert await _written(services, network_id) == before
    fixed = await _import(services, network_id, edited.replace("999.00", "1000.00"))
    assert (fixed.recorded, fixed.already_recorded, fixed.rejected) == (1, 1, 0)
    assert (await _written(services, network_id))[0] == before[0] + 1


async def test_points_on_a_small_check_refuse_the_file(services: Services) -> None:
    network_id, shop = await _network(services)
    await _import(services, network_id, HEADER + f"R-1,{_when(6)},{shop},5001,2000.00,\n")  # 60 points
    before = await _written(services, network_id)
    bad = HEADER + f"R-11,{_when(5)},{shop},5001,100.00,10\n" + f"R-12,{_when(4)},{shop},5002,300.00,\n"
    with pytest.raises(FileRefused) as refused:
        await _import(services, network_id, bad)
    assert [(error.row, error.column) for error in refused.value.errors] == [(2, "redeem_points")]
    assert "1500.00" in refused.value.errors[0].reason or "1 500" in refused.value.errors[0].reason
    assert await _written(services, network_id) == before  # R-12 not recorded
    fixed = await _import(services, network_id, bad.replace("100.00,10", "100.00,"))
    assert (fixed.recorded, fixed.rejected) == (2, 0)
    assert (await _written(services, network_id))[0] == before[0] + 2


async def test_a_refund_larger_than_its_purchase_refuses_the_file_over_the_admin_api(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        for card in CARDS:
            await enrol(http, net.shop_key, card)
        shop = (await services.pos.authenticate(net.shop_key)).terminal_id
        sales = HEADER + f"R-1,{_when(6)},{shop},5001,200.00,\n" + f"R-2,{_when(6)},{shop},5002,1000.00,\n"
        assert (await _import(services, net.ref.id, sales)).recorded == 2
        before = await _written(services, net.ref.id)
        bad = REFUND_HEADER + f"RF-3,{_when(2)},{shop},R-1,900.00\n" + f"RF-4,{_when(2)},{shop},R-2,1000.00\n"
        refused = await http.post(
            "/v1/admin/imports/refunds", files={"file": ("refunds.csv", bad.encode())}, headers=auth(net.admin_key)
        )
        body = assert_problem(refused, 422, "file-refused", "amount")
        assert [(e["row"], e["column"]) for e in body["file_errors"]] == [(2, "amount")]
        assert await _written(services, net.ref.id) == before  # RF-4 not recorded
        fixed = bad.replace("900.00", "200.00").encode()
        answer = await http.post(
            "/v1/admin/imports/refunds", files={"file": ("refunds.csv", fixed)}, headers=auth(net.admin_key)
        )
        assert answer.status_code == 200, answer.text
        assert (answer.json()["recorded"], answer.json()["rejected"]) == (2, 0)
        after = await _written(services, net.ref.id)
        assert after[1] == before[1] + 2 and after[2]["5001"] == after[2]["5002"] == 0


async def test_a_refusal_in_the_last_chunk_of_one_lane_writes_nothing_in_either_lane(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    network_id, shop = await _network(services)
    monkeypatch.setattr(import_lanes, "CHUNK", 3)  # several chunks a lane
    rows = [f"L-{n},{_when(10 - n * 0.1)},{shop},{CARDS[n % 4]},{100 + n}.00," for n in range(24)]
    # 5002 and 5004 share a lane (member ids of one parity): 5002's last purchase is in that lane's last chunk
    last_of_a_lane = max(n for n in range(24) if n % 4 == 1)
    refused_row = rows[last_of_a_lane].removesuffix(",") + ",50"  # points on a check under 1,500.00
    bad = HEADER + "\n".join([*rows[:last_of_a_lane], refused_row, *rows[last_of_a_lane + 1 :]]) + "\n"
    before = await _written(services, network_id)
    progress: list[tuple[int, int]] = []
    with pytest.raises(FileRefused) as refused:
        await services.sales_import.run(
            network_id, SalesKind.PURCHASES, bad.encode(), SalesImportOptions("s.csv"), lambda *p: progress.append(p)
        )
    assert [(error.row, error.column) for error in refused.value.errors] == [(last_of_a_lane + 2, "redeem_points")]
    assert progress[-1] == (24, 24)  # every chunk of both lanes was recorded before the rollback
    assert await _written(services, network_id) == before
    partial = await _import(services, network_id, bad, partial=True)  # the partial mode: the rest goes in
    assert (partial.recorded, partial.rejected) == (23, 1)
    assert (await _written(services, network_id))[0] == before[0] + 23
