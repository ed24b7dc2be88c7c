"""docs/files.md's worked example, read from the page and run on both engines: the three customers' file in cp1251
imported, the two `opening` transactions with their postings, the balances and lots, the node's points_issued, the
same file again, and the export the page shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from coalition.adapters.storage.verify import verify
from coalition.application.file_exchange.reading import read_table
from coalition.application.member_import import ImportOptions
from coalition.wiring import Services
from tests.support import make_network

pytestmark = pytest.mark.anyio
PAGE = Path(__file__).parents[2] / "docs" / "files.md"


def _blocks() -> list[str]:
    return re.findall(r"```csv\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


async def _rows(services: Services, sql: str) -> list[tuple[object, ...]]:
    async with services.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


async def test_the_worked_example_of_docs_files(services: Services) -> None:
    source, exported_text = _blocks()[:2]
    net = await make_network(services)
    data = source.encode("cp1251")
    result = await services.member_import.run(net.ref.id, data, ImportOptions("members.csv"))
    assert (result.encoding, result.delimiter) == ("cp1251", ";")
    summary = (
        f"{result.rows_read} rows read: {result.created} created, {result.unchanged} unchanged, "
        f"{result.rejected} rejected; {result.opening_transactions} opening transactions, "
        f"{result.opening_points} points"
    )
    assert summary in PAGE.read_text(encoding="utf-8")

    postings = await _rows(
        services,
        "SELECT t.kind, t.memo, a.owner_kind, a.purpose, p.asset, p.amount FROM postings p "
        "JOIN ledger_transactions t ON t.id = p.tx_id JOIN accounts a ON a.id = p.account_id "
        "WHERE t.network_id = " + str(net.ref.id) + " ORDER BY t.id, p.id",
    )
    memo = f"opening balance, members file {result.digest[:16]}"
    assert postings == [
        ("opening", memo, "node", "points_issued", "points:bonus", -100),
        ("opening", memo, "member", "member_points", "points:bonus", 100),
        ("opening", memo, "node", "points_issued", "points:bonus", -250),
        ("opening", memo, "member", "member_points", "points:bonus", 250),
    ]
    balances = await _rows(
        services,
        "SELECT c.number, b.balance, (SELECT COUNT(*) FROM lots l WHERE l.account_id = b.account_id), "
        "(SELECT MAX(l.points) FROM lots l WHERE l.account_id = b.account_id AND l.granting_partner_id IS NULL "
        "AND l.expires_at IS NULL) FROM cards c JOIN member_balances b ON b.member_id = c.member_id ORDER BY c.number",
    )
    assert balances == [("20000001", 100, 1, 100), ("20000002", 250, 1, 250), ("20000003", 0, 0, None)]
    assert await verify(services.engine) == []

    again = await services.member_import.run(net.ref.id, data, ImportOptions("members.csv"))
    assert again.replayed and again.created == 3
    assert len(await _rows(services, "SELECT id FROM ledger_transactions WHERE kind = 'opening'")) == 2

    exported = await services.member_export.file(net.ref.id, result.file_format)
    assert exported.decode("utf-8-sig") == exported_text
    assert [row.cells[3] for row in read_table(exported).rows] == ["+79991000001", "+79991000002", ""]


async def test_the_wallet_and_card_state_example_of_docs_files(services: Services) -> None:
    source, exported_text = _blocks()[2:4]
    net = await make_network(services)
    result = await services.member_import.run(net.ref.id, source.encode(), ImportOptions("more.csv"))
    summary = (
        f"{result.rows_read} rows read: {result.created} created, {result.unchanged} unchanged, "
        f"{result.rejected} rejected; {result.opening_transactions} opening transactions, "
        f"{result.opening_points} points, {result.opening_wallet} on wallets"
    )
    assert summary in PAGE.read_text(encoding="utf-8")
    postings = await _rows(
        services,
        "SELECT t.id, a.owner_kind, a.purpose, p.asset, p.amount FROM postings p "
        "JOIN ledger_transactions t ON t.id = p.tx_id JOIN accounts a ON a.id = p.account_id "
        "WHERE t.kind = 'opening' AND t.network_id = " + str(net.ref.id) + " ORDER BY t.id, p.id",
    )
    first = postings[0][0]
    assert [(row[0] == first, *row[1:]) for row in postings] == [
        (True, "node", "points_issued", "points:bonus", -40),
        (True, "member", "member_points", "points:bonus", 40),
        (True, "node", "prepaid", "money:RUB", -125050),
        (True, "member", "member_wallet", "money:RUB", 125050),
        (False, "node", "prepaid", "money:RUB", -30000),
        (False, "member", "member_wallet", "money:RUB", 30000),
    ]
    wallets = await _rows(
        services,
        "SELECT c.number, c.state, w.balance_minor FROM cards c JOIN wallets w ON w.member_id = c.member_id "
        "WHERE c.network_id = " + str(net.ref.id) + " ORDER BY c.number",
    )
    assert wallets == [("20000004", "active", 125050), ("20000005", "blocked", 30000)]
    spends = await _rows(
        services,
        "SELECT c.number, m.opening_spend_minor, m.lifetime_spend_minor FROM cards c "
        "JOIN members m ON m.id = c.member_id WHERE c.network_id = " + str(net.ref.id) + " ORDER BY c.number",
    )
    assert spends == [("20000004", 1250000, 1250000), ("20000005", 0, 0)]
    assert await verify(services.engine) == []
    exported = await services.member_export.file(net.ref.id, result.file_format)
    assert exported.decode("utf-8-sig") == exported_text
