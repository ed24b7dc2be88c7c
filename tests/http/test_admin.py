"""The admin API with a network's admin key, network creation with the operator token, health and OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from coalition import __version__
from coalition.application.security import password_matches
from coalition.wiring import Services
from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

PROGRAM = {
    "min_check_for_redeem": "1500",
    "tiers": [
        {"from_lifetime_spend": "0", "accrual_bp": 300, "redeem_cap_bp": 1500},
        {"from_lifetime_spend": "10000", "accrual_bp": 500, "redeem_cap_bp": 3000},
        {"from_lifetime_spend": "50000", "accrual_bp": 700, "redeem_cap_bp": 5000},
    ],
}


async def _network_over_http(http, code: str = "corner") -> dict[str, Any]:
    response = await http.post(
        "/v1/admin/networks",
        json={"code": code, "name": "Corner", "currency": "RUB", "program": PROGRAM},
        headers=auth("operator-secret"),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _password_hash(services: Services, cashier_id: int) -> str:
    async with services.engine.connect() as connection:
        found = await connection.execute(text("SELECT password_hash FROM cashiers WHERE id = :id"), {"id": cashier_id})
        value: str = found.scalar_one()
        return value


async def test_creating_a_network_needs_the_operator_token(services):
    async with client(services) as http:
        body = {"code": "corner", "name": "Corner", "currency": "RUB", "program": PROGRAM}
        missing = await http.post("/v1/admin/networks", json=body)
        assert_problem(missing, 401, "unauthorized")
        wrong = await http.post("/v1/admin/networks", json=body, headers=auth("operator-wrong"))
        assert_problem(wrong, 401, "unauthorized")
        net = await make_network(services, "other")
        admin_key = await http.post("/v1/admin/networks", json=body, headers=auth(net.admin_key))
        assert_problem(admin_key, 401, "unauthorized")

        created = await _network_over_http(http)
        assert created["code"] == "corner"
        assert created["currency"] == "RUB"
        assert created["admin_key"].startswith("adm_")
        assert created["program"]["min_check_for_redeem"] == "1500.00"
        assert [tier["accrual"] for tier in created["program"]["tiers"]] == ["3 %", "5 %", "7 %"]
        assert [tier["redeem_cap"] for tier in created["program"]["tiers"]] == ["15 %", "30 %", "50 %"]
        assert [tier["from_lifetime_spend"] for tier in created["program"]["tiers"]] == ["0.00", "10000.00", "50000.00"]

        again = await http.post("/v1/admin/networks", json=body, headers=auth("operator-secret"))
        assert_problem(again, 409, "conflict", "code")
        bad_currency = await http.post(
            "/v1/admin/networks", json={**body, "code": "x-1", "currency": "rub"}, headers=auth("operator-secret")
        )
        assert_problem(bad_currency, 422, "invalid-input", "currency")
        bad_code = await http.post(
            "/v1/admin/networks", json={**body, "code": "Has Spaces"}, headers=auth("operator-secret")
        )
        assert_problem(bad_code, 422, "invalid-input", "code")
        no_tiers = await http.post(
            "/v1/admin/networks",
            json={**body, "code": "x-2", "program": {"tiers": []}},
            headers=auth("operator-secret"),
        )
        assert_problem(no_tiers, 422, "invalid-input", "program.tiers")


async def test_creating_networks_over_http_is_off_without_an_operator_token(services):
    from dataclasses import replace

    services.settings = replace(services.settings, operator_token=None)
    async with client(services) as http:
        response = await http.post(
            "/v1/admin/networks",
            json={"code": "corner", "name": "Corner", "currency": "RUB", "program": PROGRAM},
            headers=auth("operator-secret"),
        )
        assert_problem(response, 403, "forbidden")


async def test_an_administrator_builds_a_network_and_its_terminal_serves_purchases(services):
    async with client(services) as http:
        created = await _network_over_http(http)
        admin = auth(created["admin_key"])

        partner = await http.post("/v1/admin/partners", json={"name": "Corner Shop"}, headers=admin)
        assert partner.status_code == 201, partner.text
        assert partner.json()["name"] == "Corner Shop"
        partner_id = partner.json()["id"]
        duplicate_partner = await http.post("/v1/admin/partners", json={"name": "Corner Shop"}, headers=admin)
        assert_problem(duplicate_partner, 409, "conflict", "name")

        bad_zone = await http.post(
            "/v1/admin/outlets",
            json={"partner_id": partner_id, "name": "Till", "timezone": "Mars/Olympus"},
            headers=admin,
        )
        body = assert_problem(bad_zone, 422, "invalid-input", "timezone")
        assert "Mars/Olympus" in body["detail"]
        no_partner = await http.post("/v1/admin/outlets", json={"partner_id": 999_999, "name": "Till"}, headers=admin)
        assert_problem(no_partner, 404, "not-found", "partner_id")
        outlet = await http.post(
            "/v1/admin/outlets",
            json={"partner_id": partner_id, "name": "Till", "timezone": "Asia/Yekaterinburg"},
            headers=admin,
        )
        assert outlet.status_code == 201, outlet.text
        assert outlet.json() == {
            "id": outlet.json()["id"],
            "partner_id": partner_id,
            "name": "Till",
            "timezone": "Asia/Yekaterinburg",
        }
        outlet_id = outlet.json()["id"]

        terminal = await http.post("/v1/admin/terminals", json={"outlet_id": outlet_id, "name": "POS 1"}, headers=admin)
        assert terminal.status_code == 201, terminal.text
        key = terminal.json()["key"]
        assert key.startswith("term_") and len(key) > 20
        no_outlet = await http.post("/v1/admin/terminals", json={"outlet_id": 999_999, "name": "POS"}, headers=admin)
        assert_problem(no_outlet, 404, "not-found", "outlet_id")

        # The key works on the POS API: an unknown member is a 404, not a 401.
        unknown = await http.get("/v1/members/1234", headers=auth(key))
        assert_problem(unknown, 404, "member-not-found", "identifier")
        await enrol(http, key, "1234")
        purchase = await buy(http, key, "1234", "2000.00")
        assert purchase.status_code == 201, purchase.text
        assert purchase.json()["points_earned"] == 60

        listing = await http.get("/v1/admin/network", headers=admin)
        assert listing.status_code == 200, listing.text
        network = listing.json()
        assert network["network"] == {"id": created["id"], "code": "corner", "name": "Corner", "currency": "RUB"}
        assert network["partners"] == [{"id": partner_id, "name": "Corner Shop"}]
        assert network["outlets"] == [
            {"id": outlet_id, "partner_id": partner_id, "name": "Till", "timezone": "Asia/Yekaterinburg"}
        ]
        assert len(network["terminals"]) == 1
        assert network["terminals"][0]["outlet_id"] == outlet_id
        assert network["terminals"][0]["key_prefix"] == key[:12]
        assert "key" not in network["terminals"][0] and key not in listing.text
        assert network["cashiers"] == []


async def test_cashiers_and_their_passwords(services):
    async with client(services) as http:
        created = await _network_over_http(http)
        admin = auth(created["admin_key"])
        partner = (await http.post("/v1/admin/partners", json={"name": "Shop"}, headers=admin)).json()
        outlet = (
            await http.post("/v1/admin/outlets", json={"partner_id": partner["id"], "name": "Till"}, headers=admin)
        ).json()
        assert outlet["timezone"] == "UTC"

        short = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": outlet["id"], "login": "anna", "name": "Anna", "password": "12345"},
            headers=admin,
        )
        assert_problem(short, 422, "invalid-input", "password")
        bad_login = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": outlet["id"], "login": "an na", "name": "Anna", "password": "secret-1"},
            headers=admin,
        )
        assert_problem(bad_login, 422, "invalid-input", "login")
        cashier = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": outlet["id"], "login": "anna", "name": "Anna", "password": "secret-1"},
            headers=admin,
        )
        assert cashier.status_code == 201, cashier.text
        assert cashier.json() == {
            "id": cashier.json()["id"],
            "outlet_id": outlet["id"],
            "login": "anna",
            "name": "Anna",
        }
        assert "secret-1" not in cashier.text
        cashier_id = cashier.json()["id"]
        stored = await _password_hash(services, cashier_id)
        assert stored.startswith("$argon2")
        assert password_matches(stored, "secret-1")

        duplicate = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": outlet["id"], "login": "anna", "name": "Anna 2", "password": "secret-2"},
            headers=admin,
        )
        assert_problem(duplicate, 409, "conflict", "login")

        changed = await http.put(
            f"/v1/admin/cashiers/{cashier_id}/password", json={"password": "new-secret"}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"id": cashier_id, "password_changed": True}
        stored = await _password_hash(services, cashier_id)
        assert password_matches(stored, "new-secret")
        assert not password_matches(stored, "secret-1")

        too_short = await http.put(f"/v1/admin/cashiers/{cashier_id}/password", json={"password": "abc"}, headers=admin)
        assert_problem(too_short, 422, "invalid-input", "password")
        assert password_matches(await _password_hash(services, cashier_id), "new-secret")
        unknown = await http.put("/v1/admin/cashiers/999999/password", json={"password": "whatever"}, headers=admin)
        assert_problem(unknown, 404, "not-found", "cashier_id")

        listing = (await http.get("/v1/admin/network", headers=admin)).json()
        assert listing["cashiers"] == [
            {"id": cashier_id, "outlet_id": outlet["id"], "login": "anna", "name": "Anna", "active": True}
        ]


async def test_an_admin_key_reaches_only_its_own_network(services):
    ours = await make_network(services, "ours")
    theirs = await make_network(services, "theirs")
    async with client(services) as http:
        their_listing = (await http.get("/v1/admin/network", headers=auth(theirs.admin_key))).json()
        their_partner = their_listing["partners"][0]["id"]
        their_outlet = their_listing["outlets"][0]["id"]
        before = await table_counts(services)

        outlet = await http.post(
            "/v1/admin/outlets", json={"partner_id": their_partner, "name": "Sneaky"}, headers=auth(ours.admin_key)
        )
        assert_problem(outlet, 404, "not-found", "partner_id")
        terminal = await http.post(
            "/v1/admin/terminals", json={"outlet_id": their_outlet, "name": "Sneaky"}, headers=auth(ours.admin_key)
        )
        assert_problem(terminal, 404, "not-found", "outlet_id")
        cashier = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": their_outlet, "login": "eve", "name": "Eve", "password": "secret-1"},
            headers=auth(ours.admin_key),
        )
        assert_problem(cashier, 404, "not-found", "outlet_id")

        await enrol(http, theirs.shop_key, "9000-0001")
        statement = await http.get("/v1/admin/members/9000-0001/statement", headers=auth(ours.admin_key))
        assert_problem(statement, 404, "member-not-found", "identifier")

        as_terminal = await http.get("/v1/admin/network", headers=auth(ours.shop_key))
        assert_problem(as_terminal, 401, "unauthorized")
        nothing = await http.get("/v1/admin/network")
        assert_problem(nothing, 401, "unauthorized")
        assert (await table_counts(services))["members"] == before["members"] + 1


async def test_a_members_statement_has_a_running_balance(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "9100-0001", phone="+7 912 910 00 01")
        first = (await buy(http, net.shop_key, "9100-0001", "5000.00")).json()  # +150
        second = (await buy(http, net.shop_key, "9100-0001", "2000.00", redeem=100)).json()  # −100 +57
        await buy(http, net.cafe_key, "9100-0001", "1000.00")  # +30 at the café
        await http.post(
            f"/v1/purchases/{second['id']}/refunds", json={"amount": "1000.00"}, headers=auth(net.shop_key, new_key())
        )  # −28 +50
        assert first["points_balance"] == 150

        response = await http.get("/v1/admin/members/+79129100001/statement", headers=auth(net.admin_key))
        assert response.status_code == 200, response.text
        statement = response.json()
        lines = statement["transactions"]
        assert [line["kind"] for line in lines] == ["purchase", "purchase", "purchase", "refund"]
        assert [line["points"] for line in lines] == [150, -43, 30, 22]
        assert [line["outlet"] for line in lines] == ["Shop till", "Shop till", "Cafe till", "Shop till"]
        previous = 0
        for line in lines:
            assert line["balance_after"] == previous + line["points"]
            previous = line["balance_after"]
        assert previous == statement["points_balance"] == 159
        assert lines[3]["reverses_tx_id"] == lines[1]["tx_id"]
        assert [line["tx_id"] for line in lines] == sorted(line["tx_id"] for line in lines)

        limited = await http.get("/v1/admin/members/9100-0001/statement?limit=2", headers=auth(net.admin_key))
        assert [line["balance_after"] for line in limited.json()["transactions"]] == [137, 159]
        bad_limit = await http.get("/v1/admin/members/9100-0001/statement?limit=0", headers=auth(net.admin_key))
        assert_problem(bad_limit, 422, "invalid-input", "limit")


async def test_health(services):
    async with client(services) as http:
        response = await http.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "version": __version__}


async def test_openapi_lists_the_pos_and_admin_paths(services):
    async with client(services) as http:
        response = await http.get("/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        expected = {
            "/v1/members/{identifier}": "get",
            "/v1/members": "post",
            "/v1/purchases/quote": "post",
            "/v1/purchases": "post",
            "/v1/purchases/{purchase_id}/refunds": "post",
            "/v1/cards": "post",
            "/v1/cards/{number}/replace": "post",
            "/v1/cards/{number}/{action}": "post",
            "/v1/admin/networks": "post",
            "/v1/admin/network": "get",
            "/v1/admin/members/{identifier}/statement": "get",
            "/health": "get",
        }
        for path, method in expected.items():
            assert method in paths.get(path, {}), path
        purchase = paths["/v1/purchases"]["post"]
        assert {p["name"] for p in purchase["parameters"] if p["in"] == "header"} >= {"Idempotency-Key"}
        docs = await http.get("/docs")
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
