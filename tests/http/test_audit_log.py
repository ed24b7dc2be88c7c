"""The audit log: who changed what, from where, with before and after; append-only; written with the change or not
at all; read and exported over the API by the network's administrator only."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from coalition.application.audit import Actor, acting_as, entry
from coalition.wiring import Services
from tests.support import auth, client, make_network

pytestmark = pytest.mark.anyio


async def _entries(http: httpx.AsyncClient, key: str, **params: str) -> list[dict[str, Any]]:
    response = await http.get("/v1/admin/audit", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["entries"]
    return found


async def _cashier(http: httpx.AsyncClient, key: str) -> int:
    listing = (await http.get("/v1/admin/network", headers=auth(key))).json()
    outlet_id = listing["outlets"][0]["id"]
    created = await http.post(
        "/v1/admin/cashiers",
        json={"outlet_id": outlet_id, "login": "olga", "name": "Olga", "password": "first-secret-1"},
        headers=auth(key),
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_an_admin_action_is_recorded_with_who_where_what_before_and_after(services: Services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        cashier_id = await _cashier(http, network.admin_key)
        headers = auth(network.admin_key) | {"X-Request-ID": "req-42"}
        blocked = await http.put(f"/v1/admin/cashiers/{cashier_id}/active", json={"active": False}, headers=headers)
        assert blocked.status_code == 200, blocked.text
        found = await _entries(http, network.admin_key, action="cashier.block")
    assert len(found) == 1
    block = found[0]
    assert block["object_type"] == "cashier" and block["object_id"] == str(cashier_id)
    assert block["before"] == {"active": True} and block["after"] == {"active": False}
    assert block["actor"]["kind"] == "admin_key"
    assert block["actor"]["id"].startswith("sha256:") and network.admin_key not in str(block)
    assert block["actor"]["address"] == "127.0.0.1"  # httpx's ASGI transport's client
    assert block["actor"]["request_id"] == "req-42"
    assert block["partner_id"] is not None


async def test_no_password_key_or_hash_reaches_the_log(services: Services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        cashier_id = await _cashier(http, network.admin_key)
        changed = await http.put(
            f"/v1/admin/cashiers/{cashier_id}/password",
            json={"password": "second-secret-2"},
            headers=auth(network.admin_key),
        )
        assert changed.status_code == 200
        terminal = await http.post(
            "/v1/admin/terminals", json={"outlet_id": 1, "name": "Back till"}, headers=auth(network.admin_key)
        )
        created_key = terminal.json().get("key", "no key")
        reset = (await _entries(http, network.admin_key, action="cashier.password_reset"))[0]
    assert reset["after"] == {"password": "[redacted]"}
    async with services.engine.connect() as connection:
        stored = " ".join(str(tuple(row)) for row in await connection.execute(text("SELECT * FROM audit_entries")))
    for secret in ("first-secret-1", "second-secret-2", network.admin_key, created_key, "$argon2"):
        assert secret not in stored


async def test_entries_are_append_only_in_the_database(services: Services) -> None:
    network = await make_network(services)
    async with services.engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one()
    assert count >= 5  # the network, its partners, outlets and terminals
    statements = ["UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"]
    if services.engine.dialect.name == "postgresql":  # TRUNCATE skips row triggers: a statement trigger refuses it
        statements.append("TRUNCATE audit_entries")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.engine.begin() as connection:
                await connection.execute(text(statement))
    async with services.engine.connect() as connection:
        after = (await connection.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one()
        actions = {row[0] for row in await connection.execute(text("SELECT action FROM audit_entries"))}
    assert after == count and "x" not in actions
    assert network.ref.id


async def test_a_refused_action_leaves_no_entry(services: Services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        await _cashier(http, network.admin_key)
        before = await _entries(http, network.admin_key)
        duplicate = await http.post(
            "/v1/admin/cashiers",
            json={"outlet_id": 1, "login": "olga", "name": "Olga", "password": "secret-3"},
            headers=auth(network.admin_key),
        )
        unknown = await http.put(
            "/v1/admin/cashiers/999999/active", json={"active": False}, headers=auth(network.admin_key)
        )
        assert (duplicate.status_code, unknown.status_code) == (409, 404)
        assert await _entries(http, network.admin_key) == before


class Boom(Exception):
    pass


async def test_a_rolled_back_unit_of_work_takes_its_entry_with_it(services: Services) -> None:
    """Written through the unit of work of the change: when the change rolls back after the entry, so does it."""
    network = await make_network(services)
    async with services.engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one()
    with acting_as(Actor("cli", name="tester")):
        with pytest.raises(Boom):
            async with services.admin._unit_of_work() as uow:
                await uow.audit(entry(network.ref.id, "partner.create", "partner", 1, after={"name": "Ghost"}))
                raise Boom
        with pytest.raises(Boom):
            async with services.pos.unit_of_work() as pos_uow:  # the POS unit of work, on the plain driver
                await pos_uow.audit(entry(network.ref.id, "member.labels", "member", 1, after={"tier": "x"}))
                raise Boom
        async with services.pos.unit_of_work() as pos_uow:
            await pos_uow.audit(entry(network.ref.id, "member.labels", "member", 1, after={"tier": "gold"}))
    async with services.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT action, actor_kind, actor_name FROM audit_entries"))).all()
    assert len(rows) == count + 1
    assert tuple(rows[-1]) == ("member.labels", "cli", "tester")


async def test_filters_paging_and_csv(services: Services) -> None:
    network = await make_network(services)
    async with client(services) as http:
        for name in ("North", "South", "East"):
            made = await http.post("/v1/admin/partners", json={"name": name}, headers=auth(network.admin_key))
            assert made.status_code == 201
        everything = await _entries(http, network.admin_key)
        partners = await _entries(http, network.admin_key, action="partner.create", actor="admin_key")
        assert [e["after"]["name"] for e in partners] == ["East", "South", "North"]  # newest first; setup was 'system'
        assert [e["action"] for e in await _entries(http, network.admin_key, action="partner.", actor="admin_key")] == [
            "partner.create"
        ] * 3
        first = await http.get("/v1/admin/audit", params={"limit": 2}, headers=auth(network.admin_key))
        page = first.json()
        assert len(page["entries"]) == 2 and page["next_cursor"]
        rest = await http.get(
            "/v1/admin/audit", params={"limit": 500, "cursor": page["next_cursor"]}, headers=auth(network.admin_key)
        )
        assert [e["id"] for e in page["entries"] + rest.json()["entries"]] == [e["id"] for e in everything]
        assert rest.json()["next_cursor"] is None
        exported = await http.get(
            "/v1/admin/audit.csv", params={"action": "partner.", "actor": "admin_key"}, headers=auth(network.admin_key)
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert rows[0][:3] == ["id", "recorded_at", "actor_kind"] and len(rows) == 4
        assert {row[rows[0].index("object_type")] for row in rows[1:]} == {"partner"}
        later = everything[0]["recorded_at"]
        assert await _entries(http, network.admin_key, since="2100-01-01T00:00:00+00:00") == []
        assert len(await _entries(http, network.admin_key, until="2000-01-01T00:00:00Z")) == 0
        assert later
        for bad in ({"cursor": "abc"}, {"limit": "0"}, {"since": "yesterday"}, {"action": "DROP TABLE"}):
            refused = await http.get("/v1/admin/audit", params=bad, headers=auth(network.admin_key))
            assert refused.status_code == 422, bad


async def test_another_network_and_no_key_see_nothing(services: Services) -> None:
    ours = await make_network(services, "ours")
    theirs = await make_network(services, "theirs")
    async with client(services) as http:
        await http.post("/v1/admin/partners", json={"name": "Secret partner"}, headers=auth(theirs.admin_key))
        seen = await _entries(http, ours.admin_key)
        assert all(e["after"] is None or e["after"].get("name") != "Secret partner" for e in seen)
        assert (await http.get("/v1/admin/audit")).status_code == 401
        assert (await http.get("/v1/admin/audit.csv", headers=auth(ours.shop_key))).status_code == 401


async def test_no_route_changes_or_deletes_entries(services: Services) -> None:
    from coalition.adapters.http.app import create_app

    paths = create_app(services=services).openapi()["paths"]
    audit_paths = {path: set(operations) for path, operations in paths.items() if "audit" in path}
    assert audit_paths == {"/v1/admin/audit": {"get"}, "/v1/admin/audit.csv": {"get"}}


@pytest.mark.parametrize("name", ["actor", "object_id", "object_type", "action"])
async def test_a_control_character_in_a_filter_is_a_422_naming_it(services: Services, name: str) -> None:
    network = await make_network(services)
    async with client(services) as http:
        for path in ("/v1/admin/audit", "/v1/admin/audit.csv"):
            refused = await http.get(path, params={name: "a\x00b"}, headers=auth(network.admin_key))
            assert refused.status_code == 422, refused.text
            assert name in refused.text


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_moment_at_the_edge_of_the_calendar_is_not_a_500(services: Services, moment: str) -> None:
    network = await make_network(services)
    async with client(services) as http:
        for name in ("since", "until"):
            answer = await http.get("/v1/admin/audit", params={name: moment}, headers=auth(network.admin_key))
            assert answer.status_code in (200, 422), answer.text


async def test_the_export_streams_every_entry_page_by_page(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from coalition.application import audit

    network = await make_network(services)
    async with client(services) as http:
        listed = await _entries(http, network.admin_key, limit="500")
        monkeypatch.setattr(audit, "MAX_PAGE", 2)  # pages of two entries: the export crosses many of them
        exported = await http.get("/v1/admin/audit.csv", headers=auth(network.admin_key))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(listed) >= 5 and [int(row["id"]) for row in rows] == [e["id"] for e in listed]
