"""Plans of the hosted service (issue 18, point 6; docs/plans.md) over HTTP on both engines: the limit on customers at
its edge for every way a customer joins (enrolment, a new anonymous card, a members file), existing customers still
earning, the trial, the operator's list, plan, suspension and resumption, and a signed-up shop's free trial."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from coalition.application.member_import import ImportOptions
from coalition.application.registration import ShopRegistration
from coalition.wiring import Services
from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio
OPERATOR = {"Authorization": "Bearer operator-secret"}


def _members_file(count: int, first: int = 70000) -> bytes:
    return ("card_number\n" + "".join(f"{first + i}\n" for i in range(count))).encode()


async def _members(services: Services, network_id: int) -> int:
    async with services.engine.connect() as connection:
        query = text("SELECT COUNT(*) FROM members WHERE network_id = :n")
        return int((await connection.execute(query, {"n": network_id})).scalar_one())


async def _set_plan(http: httpx.AsyncClient, network_id: int, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.put(f"/v1/admin/networks/{network_id}/plan", json=body, headers=OPERATOR)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_free_plan_takes_its_500th_customer_and_refuses_the_501st_every_way(services: Services) -> None:
    net = await make_network(services)
    await services.member_import.run(net.ref.id, _members_file(499), ImportOptions("members.csv"))
    async with client(services) as http:
        plan = await _set_plan(http, net.ref.id, {"plan": "free", "trial_ends_at": None})
        assert (plan["plan"], plan["max_members"], plan["members"], plan["in_trial"]) == ("free", 500, 499, False)
        await enrol(http, net.shop_key, "CARD-500")  # the 500th: the plan's last place
        refused = await http.post(
            "/v1/members",
            json={
                "kind": "personal",
                "card_number": "CARD-501",
                "profile": {"name": "One Too Many", "consent_data_processing": True},
            },
            headers=auth(net.shop_key, new_key()),
        )
        problem = assert_problem(refused, 403, "plan-limit-reached")
        assert problem["detail"] == (
            "the Free plan allows up to 500 customers and this network has 500; the Start plan allows up to 2,000; "
            "existing customers keep earning and spending"
        )
        anonymous = await http.post("/v1/cards", json={"number": "ANON-501"}, headers=auth(net.shop_key, new_key()))
        assert_problem(anonymous, 403, "plan-limit-reached")
        one_more = await http.post(
            "/v1/admin/imports/members",
            files={"file": ("more.csv", _members_file(1, first=80000))},
            headers=auth(net.admin_key),
        )
        assert_problem(one_more, 403, "plan-limit-reached")
        assert await _members(services, net.ref.id) == 500  # nothing written by any refusal
        # an existing customer keeps earning: 3 % of 1,000.00 is 30 points
        bought = await buy(http, net.shop_key, "CARD-500", "1000.00")
        assert bought.status_code == 201, bought.text
        assert bought.json()["points_earned"] == 30
        # the next plan opens the door again
        await _set_plan(http, net.ref.id, {"plan": "start"})
        await enrol(http, net.shop_key, "CARD-501")
        assert await _members(services, net.ref.id) == 501


async def test_a_trial_allows_more_until_it_ends(services: Services) -> None:
    net = await make_network(services)
    await services.member_import.run(net.ref.id, _members_file(500), ImportOptions("members.csv"))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    async with client(services) as http:
        plan = await _set_plan(http, net.ref.id, {"plan": "free", "trial_ends_at": tomorrow})
        assert (plan["in_trial"], plan["plan_max_members"], plan["max_members"]) == (True, 500, 50_000)
        await enrol(http, net.shop_key, "TRIAL-1")
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        plan = await _set_plan(http, net.ref.id, {"plan": "free", "trial_ends_at": yesterday})
        assert (plan["in_trial"], plan["max_members"], plan["members"]) == (False, 500, 501)
        refused = await http.post(
            "/v1/members", json={"kind": "anonymous", "card_number": "TRIAL-2"}, headers=auth(net.shop_key, new_key())
        )
        assert_problem(refused, 403, "plan-limit-reached")


async def test_the_operator_lists_sets_suspends_and_resumes(services: Services) -> None:
    first, second = await make_network(services), await make_network(services, "cafe")
    async with client(services) as http:
        await enrol(http, first.shop_key, "OP-1")
        page = await http.get("/v1/admin/networks?limit=1", headers=OPERATOR)
        assert page.status_code == 200, page.text
        assert [n["code"] for n in page.json()["networks"]] == ["shop"]
        assert page.json()["networks"][0]["members"] == 1
        rest = await http.get(f"/v1/admin/networks?cursor={page.json()['next_cursor']}", headers=OPERATOR)
        assert [n["code"] for n in rest.json()["networks"]] == ["cafe"] and rest.json()["next_cursor"] is None
        assert_problem(await http.get("/v1/admin/networks", headers=auth(first.admin_key)), 401, "unauthorized")
        assert_problem(await http.get("/v1/admin/networks?limit=501", headers=OPERATOR), 422, "invalid-input", "limit")
        bad_plan = await http.put(f"/v1/admin/networks/{first.ref.id}/plan", json={"plan": "gold"}, headers=OPERATOR)
        assert_problem(bad_plan, 422, "invalid-input", "plan")
        missing = await http.put("/v1/admin/networks/999999/plan", json={"plan": "free"}, headers=OPERATOR)
        assert_problem(missing, 404, "not-found", "network_id")
        by_admin = await http.put(
            f"/v1/admin/networks/{second.ref.id}/plan", json={"plan": "custom"}, headers=auth(first.admin_key)
        )
        assert by_admin.status_code in (401, 403)
        # suspended: tills and enrolments stop, the owner still reads; resumed: all as before
        suspended = await http.post(f"/v1/admin/networks/{first.ref.id}/suspend", headers=OPERATOR)
        assert suspended.status_code == 200 and suspended.json()["suspended_at"] is not None
        assert_problem(await buy(http, first.shop_key, "OP-1", "100.00"), 403, "network-suspended")
        own = await http.get("/v1/admin/plan", headers=auth(first.admin_key))
        assert own.status_code == 200 and own.json()["suspended_at"] is not None
        assert (await buy(http, second.shop_key, "OP-2", "100.00")).status_code != 403  # the other network serves
        resumed = await http.post(f"/v1/admin/networks/{first.ref.id}/resume", headers=OPERATOR)
        assert resumed.json()["suspended_at"] is None
        assert (await buy(http, first.shop_key, "OP-1", "100.00")).status_code == 201
    async with services.engine.connect() as connection:
        actions = (
            await connection.execute(
                text("SELECT action FROM audit_entries WHERE network_id = :n ORDER BY id"), {"n": first.ref.id}
            )
        ).scalars()
        assert [a for a in actions if a.startswith(("network.s", "network.r", "plan."))] == [
            "network.suspend",
            "network.resume",
        ]


async def test_a_shop_that_signs_itself_up_starts_free_with_a_three_month_trial(services: Services) -> None:
    form = ShopRegistration(
        shop_name="Corner Bakery",
        network_code="bakery",
        currency="RUB",
        timezone="Europe/Moscow",
        owner_name="Olga",
        owner_login="olga",
        owner_password="owner-password-1",
        cashier_login="kassa",
        cashier_password="cashier-password-1",
    )
    registered = await services.registration.register_shop(form)
    async with client(services) as http:
        own = (await http.get("/v1/admin/plan", headers=auth(registered["admin_key"]))).json()
    assert (own["plan"], own["in_trial"], own["max_members"], own["members"]) == ("free", True, 50_000, 0)
    created, ends = datetime.fromisoformat(own["created_at"]), datetime.fromisoformat(own["trial_ends_at"])
    assert 89 <= (ends - created).days <= 92


async def test_ten_enrolments_racing_for_the_last_place_let_exactly_one_in(services: Services) -> None:
    net = await make_network(services)
    await services.member_import.run(net.ref.id, _members_file(499), ImportOptions("members.csv"))
    async with client(services) as http:
        await _set_plan(http, net.ref.id, {"plan": "free", "trial_ends_at": None})

        async def join(number: int) -> int:
            body = {"kind": "anonymous", "card_number": f"RACE-{number}"}
            response = await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))
            return response.status_code

        statuses = sorted(await asyncio.gather(*(join(n) for n in range(10))))
    assert statuses == [201] + [403] * 9
    assert await _members(services, net.ref.id) == 500
