"""Every list pages by cursor (issue 17, point 5; docs/api.md "Conventions"), on both engines: a member's statement
and wallet history (newest page first, each page oldest first, the balance after each line unchanged by paging),
and the administrator's members (newest first, by a part of the name or identifier, tier, segment, enrolment time).
Page 1 + page 2 + … hold every item exactly once; a limit over 500 is a 422 naming `limit`, a cursor this server did
not write a 422 naming `cursor`; another network's member is not found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

CARD = "6100-0001"


async def _walk(http: httpx.AsyncClient, path: str, key: str, name: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor; the headers say the same as the body."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await http.get(path, params=query, headers=auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[name])
        cursor = body["next_cursor"]
        assert response.headers.get("X-Next-Cursor") == cursor
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        assert response.headers["Link"].endswith('>; rel="next"') and f"cursor={cursor}" in response.headers["Link"]


async def _refusals(http: httpx.AsyncClient, path: str, key: str) -> None:
    for limit in ("0", "501", "many"):
        assert_problem(await http.get(path, params={"limit": limit}, headers=auth(key)), 422, "invalid-input", "limit")
    for cursor in ("garbled", "c1.MTIzLmFiYw", "c1." + "A" * 200):
        refused = await http.get(path, params={"cursor": cursor}, headers=auth(key))
        assert_problem(refused, 422, "invalid-input", "cursor")


async def test_a_statement_pages_back_in_time_with_each_transaction_once_and_its_balance(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    path = f"/v1/admin/members/{CARD}/statement"
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        for amount in ("100.00", "200.00", "300.00", "400.00", "500.00"):
            assert (await buy(http, net.shop_key, CARD, amount)).status_code == 201
        whole = (await http.get(path, headers=auth(net.admin_key))).json()  # the default: up to 500
        lines = whole["transactions"]
        assert len(lines) == 5 and whole["next_cursor"] is None
        assert [line["points"] for line in lines] == [3, 6, 9, 12, 15]  # 3 % (docs/api.md's worked example)
        assert [line["balance_after"] for line in lines] == [3, 9, 18, 30, 45]

        pages = await _walk(http, path, net.admin_key, "transactions", limit=2)
        assert [len(page) for page in pages] == [2, 2, 1]
        # the newest page first, each page oldest first: read backwards, the pages are the statement exactly once
        assert [line for page in reversed(pages) for line in page] == lines
        assert pages[0] == lines[3:]  # ?limit=2 is still the newest two, as before the cursor
        assert [[line["balance_after"] for line in page] for page in pages] == [[30, 45], [9, 18], [3]]

        since = lines[2]["recorded_at"]
        recent = await _walk(http, path, net.admin_key, "transactions", since=since, limit=500)
        assert recent == [lines[2:]]  # the balances count the transactions before `since` too
        assert [line["balance_after"] for line in recent[0]] == [18, 30, 45]
        until = await _walk(http, path, net.admin_key, "transactions", until=since, limit=1)
        assert [line for page in reversed(until) for line in page] == lines[:2]
        backwards = await http.get(path, params={"since": since, "until": since}, headers=auth(net.admin_key))
        assert_problem(backwards, 422, "invalid-input", "until")

        await _refusals(http, path, net.admin_key)
        await enrol(http, other.shop_key, "6100-0002")
        foreign = await http.get("/v1/admin/members/6100-0002/statement", headers=auth(net.admin_key))
        assert_problem(foreign, 404, "member-not-found", "identifier")


async def test_a_wallet_history_pages_back_in_time_with_each_movement_once(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    path = f"/v1/members/{CARD}/wallet/history"
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        for amount in ("10.00", "20.00", "30.00", "40.00", "50.00"):
            body = {"customer": CARD, "amount": amount}
            topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(net.shop_key, new_key()))
            assert topped.status_code == 201, topped.text
        whole = (await http.get(path, headers=auth(net.shop_key))).json()
        lines = whole["lines"]
        assert [line["balance_after"] for line in lines] == ["10.00", "30.00", "60.00", "100.00", "150.00"]

        pages = await _walk(http, path, net.shop_key, "lines", limit=2)
        assert [[line["amount"] for line in page] for page in pages] == [
            ["40.00", "50.00"],
            ["20.00", "30.00"],
            ["10.00"],
        ]
        assert [line for page in reversed(pages) for line in page] == lines
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        none_yet = await http.get(path, params={"since": later}, headers=auth(net.shop_key))
        assert none_yet.json()["lines"] == [] and none_yet.json()["next_cursor"] is None

        await _refusals(http, path, net.shop_key)
        await enrol(http, other.shop_key, "6100-0002")
        foreign = await http.get("/v1/members/6100-0002/wallet/history", headers=auth(net.shop_key))
        assert_problem(foreign, 404, "member-not-found")


async def _member(http: httpx.AsyncClient, key: str, card: str, name: str, phone: str | None = None) -> int:
    profile: dict[str, Any] = {"name": name, "consent_data_processing": True} | ({"phone": phone} if phone else {})
    body = {"kind": "personal", "card_number": card, "profile": profile}
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    return int(response.json()["member"]["id"])


async def test_the_members_list_pages_newest_first_and_filters(services):
    net = await make_network(services)
    other = await make_network(services, "other")
    admin = auth(net.admin_key)
    async with client(services) as http:
        start = datetime.now(UTC) - timedelta(seconds=1)
        names = ["Anna Petrova", "Boris Ivanov", "Vera Petrova", "Gleb Orlov", "Dina Sokolova"]
        ids = [
            await _member(http, net.shop_key, f"6200-000{n}", name, phone=f"+7912000000{n}")
            for n, name in enumerate(names, 1)
        ]
        await _member(http, other.shop_key, "6200-0009", "Anna Petrova")  # another network's: never listed
        labels = {"tier": "gold", "segments": ["vip", "family_plan"]}
        assert (await http.patch("/v1/admin/members/6200-0003", json=labels, headers=admin)).status_code == 200

        pages = await _walk(http, "/v1/admin/members", net.admin_key, "members", limit=2)
        assert [len(page) for page in pages] == [2, 2, 1]
        assert [member["id"] for page in pages for member in page] == list(reversed(ids))  # each once, newest first
        vera = next(member for page in pages for member in page if member["id"] == ids[2])
        assert vera["name"] == "Vera Petrova" and vera["tier"] == "gold"
        assert vera["segments"] == ["family_plan", "vip"] and vera["cards"] == [
            {"number": "62000003", "state": "active"}
        ]

        async def listed(**params: Any) -> list[int]:
            response = await http.get("/v1/admin/members", params=params, headers=admin)
            assert response.status_code == 200, response.text
            return [member["id"] for member in response.json()["members"]]

        assert await listed(q="petrova") == [ids[2], ids[0]]  # a part of the name, any case
        assert await listed(q="6200-0004") == [ids[3]]  # a card number as typed
        assert await listed(q="62000004") == [ids[3]]  # or as stored
        assert await listed(q="0000005") == [ids[4]]  # a part of the phone
        assert await listed(q="nobody") == []
        assert await listed(tier="gold") == [ids[2]]
        assert await listed(segment="family_plan") == [ids[2]]
        assert await listed(segment="family") == []  # a whole segment, not a part of one
        assert await listed(enrolled_since=start.isoformat()) == list(reversed(ids))
        assert await listed(enrolled_until=start.isoformat()) == []

        refused = await http.get("/v1/admin/members", params={"tier": "Not a label!"}, headers=admin)
        assert_problem(refused, 422, "invalid-input", "tier")
        later = (start + timedelta(hours=1)).isoformat()
        backwards = await http.get(
            "/v1/admin/members", params={"enrolled_since": later, "enrolled_until": start.isoformat()}, headers=admin
        )
        assert_problem(backwards, 422, "invalid-input", "enrolled_until")
        await _refusals(http, "/v1/admin/members", net.admin_key)
        as_till = await http.get("/v1/admin/members", headers=auth(net.shop_key))
        assert as_till.status_code == 401
