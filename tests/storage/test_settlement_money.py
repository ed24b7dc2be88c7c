"""Prepaid money through the storage layer and a period's close, on both engines (issue 14).

The water park's money, posted as MONEY.md lays it out (tests/prepaid_ledger.py writes it through the POS unit of
work's generic ledger write): a guest tops up 100.00 at the ticket office and spends 30.00 of it at the café and
20.00 at the arcade; the shop sells a 50.00 gift card, 35.00 of it goes at the café, and the 15.00 left expires,
shared 50/50 between the node and the shop. Beside it the ticket office grants points through the API, so the
statement has both parts. The next period the café refunds 10.00 into the wallet and the node gives away a 20.00
promotional card.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from datetime import timedelta

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.adapters.documents import pdf
from coalition.adapters.storage.verify import verify
from coalition.application.settlement import entries_csv_rows, statement_csv_rows
from coalition.domain.ledger import AccountPurpose, OwnerKind, TransactionKind
from tests.http.water_park import DAY_END, DAY_START, buy, park, water_park
from tests.prepaid_ledger import account, node_owner_id, outlet_id, post
from tests.support import auth, client, enrol

__all__ = ["park"]
pytestmark = pytest.mark.anyio
K, P = TransactionKind, AccountPurpose


async def _water_park_money(services, clock):
    """The park with a shop, the day's money posted and a points purchase at the ticket office; its network id."""
    admin_key, keys, partner_ids = await water_park(services)
    network_id = await _network_id(services)
    shop = await _add_shop(services, network_id)
    partner_ids["Shop"] = shop
    node = await node_owner_id(services, network_id)

    async def prepaid(name):
        return await account(services, network_id, OwnerKind.PARTNER, partner_ids[name], P.PREPAID, "RUB")

    tickets, cafe, arcade, shop_prepaid = [await prepaid(name) for name in ("Tickets", "Cafe", "Arcade", "Shop")]
    wallet = await account(services, network_id, OwnerKind.MEMBER, 4242, P.MEMBER_WALLET, "RUB")
    card = await account(services, network_id, OwnerKind.GIFT_CARD, 7, P.GIFT_CARD, "RUB")
    kept = await account(services, network_id, OwnerKind.NODE, node, P.PREPAID_BREAKAGE, "RUB")
    node_prepaid = await account(services, network_id, OwnerKind.NODE, node, P.PREPAID, "RUB")
    outlets = {name: await outlet_id(services, network_id, f"{name} desk") for name in ("Tickets", "Cafe", "Arcade")}
    outlets["Shop"] = await outlet_id(services, network_id, "Shop desk")

    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await enrol(http, keys["Tickets"], "7700-0901")
        await buy(http, keys["Tickets"], "7700-0901", "1000.00")  # 100 points: the ticket office owes 100.00
    at = clock.moment
    await post(services, network_id, K.TOP_UP, {tickets: -10_000, wallet: 10_000}, at, outlet=outlets["Tickets"])
    await post(services, network_id, K.PURCHASE, {wallet: -3_000, cafe: 3_000}, at, outlet=outlets["Cafe"])
    await post(services, network_id, K.PURCHASE, {wallet: -2_000, arcade: 2_000}, at, outlet=outlets["Arcade"])
    await post(services, network_id, K.GIFT_CARD_SALE, {shop_prepaid: -5_000, card: 5_000}, at, outlet=outlets["Shop"])
    await post(services, network_id, K.PURCHASE, {card: -3_500, cafe: 3_500}, at, outlet=outlets["Cafe"])
    await post(services, network_id, K.GIFT_CARD_EXPIRY, {card: -1_500, kept: 750, shop_prepaid: 750}, at)
    accounts = {"wallet": wallet, "cafe": cafe, "card": card, "node_prepaid": node_prepaid}
    return admin_key, partner_ids, network_id, accounts, outlets


async def _network_id(services) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(sa.text("SELECT id FROM networks WHERE code = 'park'"))).scalar_one())


async def _add_shop(services, network_id: int) -> int:
    from coalition.application.admin import NetworkRef

    ref = NetworkRef(network_id, "park", "Water park", "RUB")
    partner = await services.admin.create_partner(ref, "Shop")
    await services.admin.create_outlet(ref, partner["id"], "Shop desk", "Europe/Moscow")
    return int(partner["id"])


def _money(statement, name):
    return next(line for line in statement["partners"] if line["name"] == name)


async def test_a_period_of_prepaid_money_closes_with_exact_figures_beside_the_points(park):
    services, clock = park
    _admin_key, partner_ids, network_id, accounts, outlets = await _water_park_money(services, clock)
    clock.moment = DAY_END + timedelta(hours=1)
    statement = await services.settlement.close(network_id, DAY_END, DAY_START)

    assert {
        line["name"]: (line["points_net"], line["money"]["net"], line["net"]) for line in statement["partners"]
    } == {
        "Arcade": ("0.00", "20.00", "20.00"),
        "Cafe": ("0.00", "65.00", "65.00"),
        "Photo": ("0.00", "0.00", "0.00"),
        "Shop": ("0.00", "-42.50", "-42.50"),
        "Tickets": ("-100.00", "-100.00", "-200.00"),
    }
    assert _money(statement, "Tickets")["money"] == {
        "top_ups": "100.00",
        "top_ups_refunded": "0.00",
        "gift_cards_sold": "0.00",
        "gift_cards_sold_refunded": "0.00",
        "wallet_accepted": "0.00",
        "wallet_refunded": "0.00",
        "gift_cards_accepted": "0.00",
        "gift_cards_refunded": "0.00",
        "gift_card_breakage": "0.00",
        "net": "-100.00",
        "transactions": 1,
    }
    cafe = _money(statement, "Cafe")["money"]
    assert (cafe["wallet_accepted"], cafe["gift_cards_accepted"], cafe["transactions"]) == ("30.00", "35.00", 2)
    shop = _money(statement, "Shop")["money"]
    assert (shop["gift_cards_sold"], shop["gift_card_breakage"]) == ("50.00", "7.50")
    assert statement["node"] == {
        "net": "157.50",
        "points_net": "100.00",  # the 100 points granted today and not yet spent
        "money": {"wallets": "50.00", "gift_cards": "0.00", "breakage_kept": "7.50", "funded": "0.00", "net": "57.50"},
    }
    assert [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["through_node"]] == [
        ("settlement node", "Arcade", "20.00"),
        ("settlement node", "Cafe", "65.00"),
        ("Shop", "settlement node", "42.50"),
        ("Tickets", "settlement node", "200.00"),
    ]
    assert [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["direct"]] == [
        ("Tickets", "settlement node", "157.50"),
        ("Shop", "Cafe", "42.50"),
        ("Tickets", "Cafe", "22.50"),
        ("Tickets", "Arcade", "20.00"),
    ]

    # read back from storage: the same statement, both parts (the stored node position is the points part)
    again = await services.settlement.statement(network_id, 1)
    assert again.has_money and again.node_money_net_minor == 5_750 and again.node_points_net_minor == 10_000
    async with services.engine.connect() as connection:
        stored = (await connection.execute(sa.text("SELECT node_net_minor FROM settlement_statements"))).scalar_one()
    assert stored == 10_000
    assert await verify(services.engine) == []

    # the partner's entries: points and money, adding up to its net before fees
    tickets = await services.settlement.partner_statement(network_id, 1, partner_ids["Tickets"])
    assert [(e["kind"], e["part"], e["amount"]) for e in tickets["entries"]] == [
        ("purchase", "points", "-100.00"),
        ("top_up", "money", "-100.00"),
    ]
    entries = entries_csv_rows(tickets)  # mailed to the partner: a column says which part each entry is
    assert entries[0][-2:] == ["amount", "part"] and [row[-2:] for row in entries[1:]] == [
        ["-100.00", "points"],
        ["-100.00", "money"],
    ]
    photo = entries_csv_rows(await services.settlement.partner_statement(network_id, 1, partner_ids["Photo"]))
    assert photo == [["tx_id", "kind", "outlet", "occurred_at", "recorded_at", "amount"]]  # no money: as before

    # the CSV: the points table as before, then the money, what the node holds, and each party's net of both
    rows = statement_csv_rows(again)
    assert rows[0][0] == "party" and ["settlement node", "", "", "", "", "", "", "100.00", ""] in rows
    assert ["Tickets", "100.00", "0.00", "0.00", "0.00", "0.00", "0.00", "-100.00", "1"] in rows
    money_header = rows.index(
        [
            "prepaid money",
            "top_ups",
            "top_ups_refunded",
            "gift_cards_sold",
            "gift_cards_sold_refunded",
            "wallet_accepted",
            "wallet_refunded",
            "gift_cards_accepted",
            "gift_cards_refunded",
            "gift_card_breakage",
            "net",
            "transactions",
        ]
    )
    assert rows[money_header + 2] == ["Cafe", *["0.00"] * 4, "30.00", "0.00", "35.00", "0.00", "0.00", "65.00", "2"]
    assert ["settlement node", "50.00", "0.00", "7.50", "0.00", "57.50"] in rows
    assert ["Tickets", "-100.00", "-100.00", "-200.00"] in rows
    assert ["settlement node", "100.00", "57.50", "157.50"] in rows

    # the next period: a refund into the wallet and a promotional card the node funds
    clock.moment = DAY_END + timedelta(hours=2)
    wallet, cafe_prepaid, card = accounts["wallet"], accounts["cafe"], accounts["card"]
    await post(
        services, network_id, K.REFUND, {cafe_prepaid: -1_000, wallet: 1_000}, clock.moment, outlet=outlets["Cafe"]
    )
    await post(services, network_id, K.GIFT_CARD_SALE, {accounts["node_prepaid"]: -2_000, card: 2_000}, clock.moment)
    clock.moment = DAY_END + timedelta(days=1, hours=1)
    second = await services.settlement.close(network_id, DAY_END + timedelta(days=1))
    cafe = _money(second, "Cafe")
    assert (cafe["money"]["wallet_refunded"], cafe["money"]["net"], cafe["net"]) == ("10.00", "-10.00", "-10.00")
    assert second["node"]["money"] == {
        "wallets": "10.00",
        "gift_cards": "20.00",
        "breakage_kept": "0.00",
        "funded": "20.00",
        "net": "10.00",
    }
    assert second["transfers"]["through_node"] == [
        {"from": "Cafe", "from_partner_id": partner_ids["Cafe"], "to": "settlement node", "to_partner_id": None,
         "amount": "10.00"}
    ]  # fmt: skip
    assert await verify(services.engine) == []


async def test_a_statement_with_money_prints_it_apart_in_the_pdf_and_the_cli(park, settings, monkeypatch):
    services, clock = park
    *_, network_id, _accounts, _outlets = await _water_park_money(services, clock)
    clock.moment = DAY_END + timedelta(hours=1)
    await services.settlement.close(network_id, DAY_END, DAY_START)
    statement = await services.settlement.statement(network_id, 1)
    monkeypatch.setattr(pdf, "UNICODE_FONT", pdf.Path("/nonexistent.ttf"))  # the core font: text stays readable
    text = _pdf_text(pdf.statement_pdf(statement))
    for shown in ("prepaid money", "gift_cards_accepted", "settlement node holds", "57.50", "net of both", "157.50"):
        assert f"({shown})" in text, shown

    arguments = ["settle", "show", "park", "1", "--database-url", settings.database_url]
    shown = await anyio.to_thread.run_sync(lambda: CliRunner(env={"COLUMNS": "200"}).invoke(cli, arguments))
    assert shown.exit_code == 0, shown.output
    assert "prepaid money" in shown.output
    assert re.search(r"Cafe\s.*0\.00 \+ 0\.00\s.*30\.00 \+ 35\.00\s.*0\.00\s.*65\.00\s.*0\.00", shown.output)
    assert re.search(r"settlement node\s.*wallets 50\.00, gift cards 0\.00\s.*7\.50\s.*57\.50\s.*100\.00", shown.output)


def _pdf_text(document: bytes) -> str:
    """The text drawn in a PDF of the core font: its content streams, inflated."""
    parts = []
    for chunk in document.split(b"stream")[1:]:
        body = chunk.split(b"endstream")[0].strip(b"\r\n")
        try:
            parts.append(zlib.decompress(body).decode("latin-1"))
        except zlib.error:
            parts.append(body.decode("latin-1"))
    return "".join(parts)


async def test_verify_finds_a_money_line_that_no_longer_matches_the_ledger(park):
    services, clock = park
    _admin_key, partner_ids, network_id, _accounts, _outlets = await _water_park_money(services, clock)
    clock.moment = DAY_END + timedelta(hours=1)
    await services.settlement.close(network_id, DAY_END, DAY_START)
    assert await verify(services.engine) == []
    tamper = sa.text(
        "UPDATE settlement_money_lines SET top_ups_minor = top_ups_minor - 100, net_minor = net_minor + 100 "
        "WHERE partner_id = :partner"
    )
    if services.engine.dialect.name == "postgresql":  # a closed statement cannot be edited at all
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.engine.begin() as connection:
                await connection.execute(tamper, {"partner": partner_ids["Tickets"]})
        assert await verify(services.engine) == []
        return
    async with services.engine.begin() as connection:
        await connection.execute(tamper, {"partner": partner_ids["Tickets"]})
    found = {violation.check.name for violation in await verify(services.engine)}
    assert found == {"statements-money-balance", "statements-money-match-ledger"}


async def test_closing_a_period_without_money_stores_no_money_lines(park):
    services, clock = park
    admin_key, keys, _ = await water_park(services)
    async with client(services) as http:
        clock.moment = DAY_START + timedelta(hours=1)
        await enrol(http, keys["Tickets"], "7700-0902")
        await buy(http, keys["Tickets"], "7700-0902", "500.00")
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods", json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )  # fmt: skip
        assert closed.status_code == 201, closed.text
        table = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=auth(admin_key))
    rows = list(csv.reader(io.StringIO(table.text)))
    assert not any(row and row[0] in ("prepaid money", "net of both") for row in rows)
    assert ["settlement node", "", "", "", "", "", "", "50.00", ""] in rows
    async with services.engine.connect() as connection:
        assert (await connection.execute(sa.text("SELECT COUNT(*) FROM settlement_money_lines"))).scalar_one() == 0
