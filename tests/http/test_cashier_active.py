"""The admin API blocks and unblocks a cashier: a blocked cashier cannot sign in, and their open terminals close."""

from __future__ import annotations

import pytest

from coalition.wiring import Services
from tests.support import assert_problem, auth, client, make_network
from tests.web.support import sign_in_cashier

pytestmark = pytest.mark.anyio


async def test_blocking_a_cashier_refuses_their_sign_in_and_ends_their_sessions(services: Services) -> None:
    net = await make_network(services)
    outlet_id = (await services.admin.listing(net.ref))["outlets"][0]["id"]
    cashier = await services.admin.create_cashier(net.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    async with client(services) as http:
        assert (await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")).status_code == 303
        assert (await http.get("/terminal")).status_code == 200

        blocked = await http.put(
            f"/v1/admin/cashiers/{cashier['id']}/active", json={"active": False}, headers=auth(net.admin_key)
        )
        assert blocked.status_code == 200, blocked.text
        assert blocked.json() == {"id": cashier["id"], "active": False}
        assert (await http.get("/terminal")).status_code == 303  # signed out at once
        http.cookies.clear()
        refused = await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        assert refused.status_code == 401
        listing = await http.get("/v1/admin/network", headers=auth(net.admin_key))
        assert [c["active"] for c in listing.json()["cashiers"]] == [False]

        unblocked = await http.put(
            f"/v1/admin/cashiers/{cashier['id']}/active", json={"active": True}, headers=auth(net.admin_key)
        )
        assert unblocked.json() == {"id": cashier["id"], "active": True}
        assert (await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")).status_code == 303


async def test_blocking_checks_the_cashier_and_the_body(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, code="other")
    outlet_id = (await services.admin.listing(other.ref))["outlets"][0]["id"]
    stranger = await services.admin.create_cashier(other.ref, outlet_id, "olga", "Olga", "olga-secret-1")
    async with client(services) as http:
        for cashier_id in (999_999, stranger["id"]):  # unknown, and another network's
            missing = await http.put(
                f"/v1/admin/cashiers/{cashier_id}/active", json={"active": False}, headers=auth(net.admin_key)
            )
            assert_problem(missing, 404, "not-found")
        bad = await http.put(
            f"/v1/admin/cashiers/{stranger['id']}/active", json={"active": "no"}, headers=auth(other.admin_key)
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        unauthenticated = await http.put(f"/v1/admin/cashiers/{stranger['id']}/active", json={"active": False})
        assert unauthenticated.status_code == 401
    listing = await services.admin.listing(other.ref)
    assert [c["active"] for c in listing["cashiers"]] == [True]


async def test_a_password_change_through_the_api_signs_the_cashier_out(services: Services) -> None:
    net = await make_network(services)
    outlet_id = (await services.admin.listing(net.ref))["outlets"][0]["id"]
    cashier = await services.admin.create_cashier(net.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    async with client(services) as http:
        await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
        changed = await http.put(
            f"/v1/admin/cashiers/{cashier['id']}/password",
            json={"password": "anna-secret-2"},
            headers=auth(net.admin_key),
        )
        assert changed.status_code == 200, changed.text
        assert (await http.get("/terminal")).status_code == 303
