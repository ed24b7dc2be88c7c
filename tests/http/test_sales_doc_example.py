"""docs/files.md's purchases and refunds example, read from the page and run on both engines (its dates moved to
yesterday, its terminal 3 made the test network's till): the figures the page states."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coalition.adapters.cli.sales_files import summary
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.wiring import Services
from tests.support import client, enrol, ledger_balance, make_network

pytestmark = pytest.mark.anyio
PAGE = Path(__file__).parents[2] / "docs" / "files.md"


def _example() -> tuple[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Purchases and refunds made elsewhere") : text.index("## The sync folder")]
    purchases, refunds = re.findall(r"```text\n(.*?)```", section, re.S)
    return purchases, refunds


def _moved(block: str, terminal_id: int) -> str:
    """The page's 2026-12-05 moved to yesterday (keeping the hours and offsets), terminal 3 to the test's till."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    moved = block.replace("2026-12-05T", f"{yesterday}T")
    return re.sub(r"([;,])3([;,])", rf"\g<1>{terminal_id}\g<2>", moved)


async def test_the_purchases_and_refunds_example_of_docs_files(services: Services) -> None:
    purchases, refunds = _example()
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5001")
        await enrol(http, net.shop_key, "5002", phone="+79990000002")
    till = (await services.pos.authenticate(net.shop_key)).terminal_id
    day = _moved(purchases, till).encode()
    result = await services.sales_import.run(net.ref.id, SalesKind.PURCHASES, day, SalesImportOptions("day.csv"))
    page = PAGE.read_text(encoding="utf-8")
    assert "\n".join(summary(result)) in page  # what the CLI prints, as the page quotes it
    assert (result.rows_read, result.recorded, result.already_recorded, result.rejected) == (3, 3, 0, 0)
    assert (result.amount_minor, result.points_earned, result.points_redeemed) == (349_999, 103, 30)
    assert (await ledger_balance(services, "5001"), await ledger_balance(services, "5002")) == (59, 14)
    back = _moved(refunds, till).encode()
    refunded = await services.sales_import.run(net.ref.id, SalesKind.REFUNDS, back, SalesImportOptions("refunds.csv"))
    assert "\n".join(summary(refunded)) in page
    assert (refunded.recorded, refunded.amount_minor) == (1, 100_000)
    assert (refunded.points_clawed_back, refunded.points_returned) == (29, 15)
    assert (await ledger_balance(services, "5001"), await ledger_balance(services, "5002")) == (45, 14)
    again = await services.sales_import.run(net.ref.id, SalesKind.PURCHASES, day, SalesImportOptions("day.csv"))
    assert again.replayed
    other = await services.sales_import.run(net.ref.id, SalesKind.PURCHASES, day + b"\n", SalesImportOptions("b.csv"))
    assert (other.replayed, other.recorded, other.already_recorded) == (False, 0, 3)
    assert (await ledger_balance(services, "5001"), await ledger_balance(services, "5002")) == (45, 14)
