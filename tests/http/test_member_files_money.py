"""The members file's wallet money and card state (issue 17, review): a member with points, money on the wallet, a
tier and a blocked card exported from one network and imported into an empty one comes back the same, on both
engines; every bad `wallet_balance` or `card_state` is refused naming its row and column; a file of the old columns
still imports as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
from sqlalchemy import text

from coalition.adapters.storage.verify import verify
from coalition.application.file_exchange.reading import read_table
from coalition.wiring import Services
from tests.support import assert_problem, auth, balance_of, client, make_network, new_key

pytestmark = pytest.mark.anyio

FILE = (
    "card_number,name,consent_data_processing,tier,points_balance,wallet_balance,card_state\n"
    "7001,Anna,yes,gold,100,150.00,active\n"
    "7002,Boris,yes,,250,,blocked\n"
    "7003,,,,0,0,\n"
)


async def _import(http: httpx.AsyncClient, key: str, data: bytes, name: str = "members.csv", **form: str):
    return await http.post("/v1/admin/imports/members", files={"file": (name, data)}, data=form, headers=auth(key))


async def _rows(services: Services, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with services.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), params)]


async def _wallet(http: httpx.AsyncClient, key: str, card: str) -> str:
    response = await http.get(f"/v1/members/{card}/wallet", headers=auth(key))
    assert response.status_code == 200, response.text
    return str(response.json()["balance"])


async def _card_states(services: Services, network_id: int) -> dict[str, str]:
    rows = await _rows(services, "SELECT number, state FROM cards WHERE network_id = :n", n=network_id)
    return {str(number): str(state) for number, state in rows}


async def _openings(services: Services, network_id: int) -> list[tuple[object, ...]]:
    return await _rows(
        services,
        "SELECT t.id, a.owner_kind, a.purpose, p.asset, p.amount FROM ledger_transactions t "
        "JOIN postings p ON p.tx_id = t.id JOIN accounts a ON a.id = p.account_id "
        "WHERE t.kind = 'opening' AND t.network_id = :n ORDER BY t.id, p.id",
        n=network_id,
    )


async def test_a_file_with_wallet_money_and_card_states_opens_them_in_one_transaction_a_member(
    services: Services,
) -> None:
    net = await make_network(services)
    async with client(services) as http:
        response = await _import(http, net.admin_key, FILE.encode())
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["created"], result["opening_points"], result["opening_transactions"]) == (3, 350, 2)
        assert result["opening_wallet"] == "150.00"
        assert await _wallet(http, net.shop_key, "7001") == "150.00"
        assert await balance_of(http, net.shop_key, "7001") == 100
        again = await _import(http, net.admin_key, FILE.encode())  # the same file: replayed, nothing written
        assert again.json()["replayed"] is True and again.json()["opening_wallet"] == "150.00"
        assert await _wallet(http, net.shop_key, "7001") == "150.00"
        blocked = await http.post(
            "/v1/purchases",
            json={"customer": "7002", "amount": "10.00", "receipt": "r1"},
            headers=auth(net.shop_key, new_key()),
        )
        assert_problem(blocked, 409, "card-not-active")
    assert await _card_states(services, net.ref.id) == {"7001": "active", "7002": "blocked", "7003": "active"}
    openings = await _openings(services, net.ref.id)
    anna = [row[1:] for row in openings if row[0] == openings[0][0]]
    assert anna == [
        ("node", "points_issued", "points:bonus", -100),
        ("member", "member_points", "points:bonus", 100),
        ("node", "prepaid", "money:RUB", -15000),
        ("member", "member_wallet", "money:RUB", 15000),
    ]
    assert len({row[0] for row in openings}) == 2  # Anna's and Boris's; the third member has nothing to open
    assert await verify(services.engine) == []


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
async def test_an_export_with_wallet_money_and_a_blocked_card_imports_the_same_into_an_empty_network(
    services: Services, file_format: str
) -> None:
    source = await make_network(services, "source")
    target = await make_network(services, "target")
    async with client(services) as http:
        plain = (
            "card_number,name,consent_data_processing,tier,points_balance,lifetime_spend\n"
            "7001,Anna,yes,gold,100,1000.00\n7002,,,,40,\n"
        )
        assert (await _import(http, source.admin_key, plain.encode())).status_code == 200
        topped = await http.post(
            "/v1/wallets/top-ups",
            json={"customer": "7001", "amount": "150.00"},
            headers=auth(source.shop_key, new_key()),
        )
        assert topped.status_code == 201, topped.text
        paid = await http.post(
            "/v1/purchases",
            json={
                "customer": "7001",
                "amount": "50.00",
                "receipt": "r-1",
                "tenders": [{"kind": "wallet", "amount": "20.00"}],
            },
            headers=auth(source.shop_key, new_key()),
        )
        assert paid.status_code == 201, paid.text
        block = await http.post("/v1/cards/7002/block", headers=auth(source.shop_key, new_key()))
        assert block.status_code == 200, block.text
        points = await balance_of(http, source.shop_key, "7001")
        exported = await http.get(
            "/v1/admin/exports/members", params={"format": file_format}, headers=auth(source.admin_key)
        )
        assert exported.status_code == 200, exported.text
        answer = await _import(http, target.admin_key, exported.content, f"m.{file_format}")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["created"], answer.json()["opening_wallet"]) == (2, "130.00")
        assert await _wallet(http, target.shop_key, "7001") == "130.00"
        assert await balance_of(http, target.shop_key, "7001") == points
        again = await http.get(
            "/v1/admin/exports/members", params={"format": file_format}, headers=auth(target.admin_key)
        )
    before, after = read_table(exported.content), read_table(again.content)
    assert before.header == after.header
    assert before.header[-4:] == ("points_balance", "wallet_balance", "card_state", "lifetime_spend")
    assert sorted(r.cells for r in before.rows) == sorted(r.cells for r in after.rows)
    cells = {row.cells[0]: dict(zip(after.header, row.cells, strict=True)) for row in after.rows}
    assert (cells["7001"]["wallet_balance"], cells["7001"]["card_state"], cells["7001"]["tier"]) == (
        "130.00",
        "active",
        "gold",
    )
    assert (cells["7002"]["wallet_balance"], cells["7002"]["card_state"]) == ("0.00", "blocked")
    # the opening 1000.00 and the 50.00 check: the lifetime spend the tiers read comes across as the opening spend
    assert (cells["7001"]["lifetime_spend"], cells["7002"]["lifetime_spend"]) == ("1050.00", "0.00")
    assert await _card_states(services, target.ref.id) == {"7001": "active", "7002": "blocked"}
    spends = await _rows(
        services,
        "SELECT c.number, m.opening_spend_minor, m.lifetime_spend_minor FROM members m "
        "JOIN cards c ON c.member_id = m.id WHERE m.network_id = :n ORDER BY c.number",
        n=target.ref.id,
    )
    assert spends == [("7001", 105000, 105000), ("7002", 0, 0)]
    node = await _rows(
        services,
        "SELECT SUM(p.amount) FROM postings p JOIN accounts a ON a.id = p.account_id "
        "WHERE a.network_id = :n AND a.owner_kind = 'node' AND a.purpose = 'prepaid'",
        n=target.ref.id,
    )
    assert node == [(-13000,)]  # the node funded the wallet's opening
    assert await verify(services.engine) == []


BAD: list[tuple[str, str, str, str]] = [
    # (what, header's column, cell, words of the reason)
    ("negative", "wallet_balance", "-1", "at least 0"),
    ("not a number", "wallet_balance", "abc", "at least 0"),
    ("exponent", "wallet_balance", "1e9", "at least 0"),
    ("too many decimals", "wallet_balance", "1.001", "at least 0"),
    ("over the network's limit", "wallet_balance", "1000000000.00", "at most 100000000.00 RUB"),
    ("nul byte", "wallet_balance", "1\x000", "control characters"),
    ("negative spend", "lifetime_spend", "-1", "at least 0"),
    ("spend not a number", "lifetime_spend", "abc", "at least 0"),
    ("spend below a kopeck", "lifetime_spend", "1.001", "at least 0"),
    ("spend over the network's limit", "lifetime_spend", "100000000.01", "at most 100000000.00 RUB"),
    ("huge spend", "lifetime_spend", "99999999999999999999", "expected an amount of RUB"),
    ("lost card", "card_state", "lost", "not imported"),
    ("unknown state", "card_state", "frozen", "expected active, blocked or issued"),
]


@pytest.mark.parametrize("case", BAD, ids=[case[0] for case in BAD])
async def test_a_bad_wallet_balance_or_card_state_is_refused_naming_row_and_column(
    services: Services, case: tuple[str, str, str, str]
) -> None:
    _, column, cell, words = case
    net = await make_network(services)
    data = f"card_number,{column}\n8001,\n8002,{cell}\n".encode()
    async with client(services) as http:
        response = await _import(http, net.admin_key, data)
        body = assert_problem(response, 422, "file-refused", column)
        assert any(e["row"] == 3 and e["column"] == column and words in e["reason"] for e in body["file_errors"]), body
        partial = (await _import(http, net.admin_key, data, partial="true")).json()
        assert (partial["created"], partial["rejected"]) == (1, 1)
    assert await _rows(services, "SELECT COUNT(*) FROM wallets") == [(0,)]
    assert await verify(services.engine) == []


async def test_a_file_of_the_old_columns_imports_as_before(services: Services) -> None:
    net = await make_network(services)
    data = b"card_number,consent_data_processing,name,points_balance\n9001,yes,Anna,30\n9002,,,0\n"
    async with client(services) as http:
        result = (await _import(http, net.admin_key, data)).json()
        assert (result["created"], result["opening_points"], result["opening_wallet"]) == (2, 30, "0.00")
        assert await _wallet(http, net.shop_key, "9001") == "0.00"
    assert await _rows(services, "SELECT COUNT(*) FROM wallets") == [(0,)]
    assert await _card_states(services, net.ref.id) == {"9001": "active", "9002": "active"}
    assert [row[2:] for row in await _openings(services, net.ref.id)] == [
        ("points_issued", "points:bonus", -30),
        ("member_points", "points:bonus", 30),
    ]
    assert await verify(services.engine) == []


async def test_a_period_with_wallet_openings_closes_with_the_node_funding_them(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        assert (await _import(http, net.admin_key, FILE.encode())).status_code == 200
        end = datetime.now(UTC) + timedelta(seconds=1)
        await anyio.sleep(6.2)  # a period ends at the latest 5 s ago
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()},
            headers=auth(net.admin_key),
        )
    assert closed.status_code == 201, closed.text
    money = closed.json()["node"]["money"]
    assert (money["wallets"], money["funded"]) == ("150.00", "150.00"), money
    assert await verify(services.engine) == []


async def test_an_imported_lifetime_spend_puts_the_member_in_their_spend_tier(services: Services) -> None:
    """The program earns 3 % below a lifetime spend of 10,000.00 and 5 % from it: a member brought in with 10,000.00
    earns 5 % on their first check here, one brought in without earns 3 %; the lifetime spend goes on from the
    opening one, and `coalition verify` holds lifetime = opening + checks."""
    net = await make_network(services)
    data = b"card_number,lifetime_spend\n7301,10000.00\n7302,\n"
    async with client(services) as http:
        answer = await _import(http, net.admin_key, data)
        assert answer.status_code == 200, answer.text
        for card, points in (("7301", 50), ("7302", 30)):
            bought = await http.post(
                "/v1/purchases",
                json={"customer": card, "amount": "1000.00", "receipt": f"r-{card}"},
                headers=auth(net.shop_key, new_key()),
            )
            assert bought.status_code == 201, bought.text
            assert await balance_of(http, net.shop_key, card) == points
    spends = await _rows(
        services,
        "SELECT c.number, m.opening_spend_minor, m.lifetime_spend_minor FROM members m "
        "JOIN cards c ON c.member_id = m.id WHERE m.network_id = :n ORDER BY c.number",
        n=net.ref.id,
    )
    assert spends == [("7301", 1_000_000, 1_100_000), ("7302", 0, 100_000)]
    assert await verify(services.engine) == []
