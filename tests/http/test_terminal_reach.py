"""Issue 12, hole 7: every id a till passes is looked up within what its outlet may see (docs/terminal-reach.md).

Two networks, each with two partners (Shop and Cafe). A foreign id — another partner's where the object is the
partner's, another network's always — answers 404 as an unknown id would, and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from coalition.wiring import Services
from tests.support import Network, assert_problem, auth, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio


async def _two_networks(services: Services, http: httpx.AsyncClient) -> tuple[Network, Network]:
    ours, theirs = await make_network(services, "ours"), await make_network(services, "theirs")
    await enrol(http, ours.shop_key, "5000-0001")
    await enrol(http, theirs.shop_key, "7000-0001")
    return ours, theirs


async def _visits(services: Services) -> list[tuple[Any, ...]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, ended_at, exit_outlet_id FROM visits ORDER BY id"))
        return [tuple(row) for row in rows]


async def _start(http: httpx.AsyncClient, key: str, card: str) -> str:
    started = await http.post("/v1/visits", json={"customer": card}, headers=auth(key, new_key()))
    assert started.status_code == 201, started.text
    visit_id: str = started.json()["id"]
    return visit_id


async def test_a_visit_is_read_and_ended_only_by_the_partner_that_opened_it(services: Services) -> None:
    async with client(services) as http:
        ours, theirs = await _two_networks(services, http)
        visit_id = await _start(http, ours.shop_key, "5000-0001")
        before, visits_before = await table_counts(services), await _visits(services)

        for stranger in (ours.cafe_key, theirs.shop_key, theirs.cafe_key):
            shown = await http.get(f"/v1/visits/{visit_id}", headers=auth(stranger))
            assert_problem(shown, 404, "not-found", "visit_id")
            ended = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(stranger, new_key()))
            assert_problem(ended, 404, "not-found", "visit_id")
            unknown = await http.post("/v1/visits/no-such-visit/end", headers=auth(stranger, new_key()))
            assert ended.json()["detail"] == unknown.json()["detail"].replace("no-such-visit", visit_id)
        assert await table_counts(services) == before
        assert await _visits(services) == visits_before  # still open

        shown = await http.get(f"/v1/visits/{visit_id}", headers=auth(ours.shop_key))
        assert shown.status_code == 200 and shown.json()["state"] == "open", shown.text
        ended = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(ours.shop_key, new_key()))
        assert ended.status_code == 200, ended.text


async def test_a_partner_the_member_bought_from_during_a_visit_may_read_it_but_not_end_it(services: Services) -> None:
    async with client(services) as http:
        ours, _ = await _two_networks(services, http)
        visit_id = await _start(http, ours.shop_key, "5000-0001")
        assert (await http.get(f"/v1/visits/{visit_id}", headers=auth(ours.cafe_key))).status_code == 404
        assert (await buy(http, ours.cafe_key, "5000-0001", "100.00")).status_code == 201  # lunch inside

        shown = await http.get(f"/v1/visits/{visit_id}", headers=auth(ours.cafe_key))
        assert shown.status_code == 200, shown.text
        assert (shown.json()["state"], shown.json()["entry_outlet"]) == ("open", "Shop till")
        refused = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(ours.cafe_key, new_key()))
        assert_problem(refused, 404, "not-found", "visit_id")
        assert [row[1] for row in await _visits(services)] == [None]


async def test_a_purchase_is_refunded_only_by_the_partner_that_sold(services: Services) -> None:
    async with client(services) as http:
        ours, theirs = await _two_networks(services, http)
        sold = await buy(http, ours.shop_key, "5000-0001", "2000.00")
        purchase_id = sold.json()["id"]
        before = await table_counts(services)
        unknown = await http.post(
            "/v1/purchases/no-such-purchase/refunds", json={"amount": "100.00"}, headers=auth(ours.cafe_key, new_key())
        )
        for stranger in (ours.cafe_key, theirs.shop_key):
            refund = await http.post(
                f"/v1/purchases/{purchase_id}/refunds", json={"amount": "100.00"}, headers=auth(stranger, new_key())
            )
            assert_problem(refund, 404, "purchase-not-found", "purchase_id")
            assert refund.json()["detail"] == unknown.json()["detail"].replace("no-such-purchase", purchase_id)
        assert await table_counts(services) == before
        own = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "100.00"}, headers=auth(ours.shop_key, new_key())
        )
        assert own.status_code == 201, own.text


async def test_members_and_cards_of_another_network_are_not_found(services: Services) -> None:
    async with client(services) as http:
        ours, theirs = await _two_networks(services, http)
        before = await table_counts(services)
        lookup = await http.get("/v1/members/7000-0001", headers=auth(ours.shop_key))
        assert_problem(lookup, 404, "member-not-found", "identifier")
        for action in ("block", "unblock", "activate", "report-lost"):
            changed = await http.post(f"/v1/cards/7000-0001/{action}", headers=auth(ours.cafe_key, new_key()))
            assert changed.status_code == 404, (action, changed.text)
        replaced = await http.post(
            "/v1/cards/7000-0001/replace", json={"new_number": "5000-0099"}, headers=auth(ours.shop_key, new_key())
        )
        assert replaced.status_code == 404, replaced.text
        card = {"number": "5000-0098", "member": "7000-0001"}
        issued = await http.post("/v1/cards", json=card, headers=auth(ours.shop_key, new_key()))
        assert_problem(issued, 404, "member-not-found", "member")
        bought = await buy(http, ours.shop_key, "7000-0001", "100.00")
        assert_problem(bought, 404, "member-not-found", "customer")
        for path, body in (("/v1/visits", {"customer": "7000-0001"}), ("/v1/device-uses", {"customer": "7000-0001"})):
            answer = await http.post(path, json=body, headers=auth(ours.shop_key, new_key()))
            assert_problem(answer, 404, "member-not-found", "customer")
        assert await table_counts(services) == before
        # the same card number in another network is that network's own card, not a collision that reveals ours
        again = await http.post("/v1/cards", json={"number": "7000-0001"}, headers=auth(ours.shop_key, new_key()))
        assert again.status_code == 201, again.text
        assert (await http.get("/v1/members/7000-0001", headers=auth(theirs.shop_key))).json()["card"] is not None


async def test_a_coupon_of_another_network_is_unknown(services: Services) -> None:
    async with client(services) as http:
        ours, theirs = await _two_networks(services, http)
        until = "2099-01-01T00:00:00+00:00"
        coupons = {"campaign": "spring", "codes": ["SPRING-1"], "valid_until": until}
        registered = await http.post("/v1/admin/coupons", json=coupons, headers=auth(theirs.admin_key))
        assert registered.status_code == 201, registered.text
        before = await table_counts(services)
        answers = []
        for code in ("SPRING-1", "NO-SUCH-1"):
            body = {"customer": "5000-0001", "amount": "100.00", "receipt": new_key(), "coupons": [code]}
            answer = await http.post("/v1/purchases", json=body, headers=auth(ours.shop_key, new_key()))
            answers.append((answer.status_code, answer.json()["field"], answer.json()["detail"].replace(code, "X")))
        assert answers[0] == answers[1] and answers[0][0] >= 400, answers
        assert await table_counts(services) == before


async def test_a_gift_of_another_network_is_not_found(park) -> None:
    from tests.http.test_gifts import _network_with_gift_rules
    from tests.http.water_park import DAY_START

    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        _, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "8800-0001")
        ticket = await http.post(
            "/v1/purchases",
            json={"customer": "8800-0001", "amount": "2000.00", "receipt": new_key()},
            headers=auth(keys["Tickets"], new_key()),
        )
        [gift] = ticket.json()["gifts_granted"]
        elsewhere = await make_network(services, "elsewhere")
        before = await table_counts(services)
        honoured = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(elsewhere.shop_key, new_key()))
        assert_problem(honoured, 404, "not-found", "gift_id")
        assert await table_counts(services) == before
