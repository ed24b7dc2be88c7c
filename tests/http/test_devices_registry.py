"""Devices registered by the administrator (issue 15): a device is an outlet with its own terminal key, written in
one transaction; listed, shown, changed and revoked (audited); another network's partner or device is a 404. The
device reads its configuration and sends heartbeats with its key; a till's key is refused there. Both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.http.water_park import water_park
from tests.support import assert_problem, auth, client, new_key

pytestmark = pytest.mark.anyio

VENDING = {"slots": {"A1": {"name": "Water 0.5 l", "price": "120.00"}, "B2": {"name": "Chips", "price": "95.50"}}}
HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}  # closed at weekends


def vending(partner_id: int, **extra: Any) -> dict[str, Any]:
    body = {"partner_id": partner_id, "name": "Vending hall A", "kind": "vending", "timezone": "Europe/Moscow"}
    return body | {"price_list": VENDING, "opening_hours": HOURS} | extra


async def _count(services, sql: str) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


async def test_a_device_is_registered_with_its_outlet_and_key_and_reads_its_configuration(park) -> None:
    services, clock = park
    admin_key, _, partners = await water_park(services)
    async with client(services) as http:
        made = await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))
        assert made.status_code == 201, made.text
        device = made.json()
        assert device["kind"] == "vending" and device["name"] == "Vending hall A"
        assert device["partner"] == {"id": partners["Cafe"], "name": "Cafe"}
        assert device["price_list"]["slots"]["B2"] == {"name": "Chips", "price": "95.50"}
        assert device["opening_hours"]["mon"] == [["08:00", "22:00"]]
        assert device["online"] is False and device["last_heartbeat_at"] is None
        assert device["today"] == {"uses": 0, "takings": "0.00"}
        key = device["key"]
        assert key.startswith("dev_") and device["terminal"]["key_prefix"] == key[:12]

        # the key is shown once: neither the list nor the device shows it
        listed = (await http.get("/v1/admin/devices", headers=auth(admin_key))).json()["devices"]
        shown = (await http.get(f"/v1/admin/devices/{device['id']}", headers=auth(admin_key))).json()
        assert [d["id"] for d in listed] == [device["id"]] and "key" not in listed[0] and "key" not in shown
        assert shown["outlet_id"] == device["outlet_id"]

        me = await http.get("/v1/devices/me", headers=auth(key))
        assert me.status_code == 200, me.text
        config = me.json()
        assert config["id"] == device["id"] and config["open_now"] is True  # a Wednesday, 09:00 in Moscow
        assert config["price_list"] == shown["price_list"] and "today" not in config
        clock.moment += timedelta(days=3)  # Saturday: closed
        assert (await http.get("/v1/devices/me", headers=auth(key))).json()["open_now"] is False

        # the device's outlet is an outlet like any other, its terminal a terminal
        network = (await http.get("/v1/admin/network", headers=auth(admin_key))).json()
        assert any(o["id"] == device["outlet_id"] and o["name"] == "Vending hall A" for o in network["outlets"])
        assert any(term["id"] == device["terminal"]["id"] for term in network["terminals"])
    assert await _count(services, "SELECT count(*) FROM audit_entries WHERE action = 'device.create'") == 1


async def test_bad_registrations_are_refused_naming_the_field_and_write_nothing(park) -> None:
    services, _ = park
    admin_key, _, partners = await water_park(services)
    other_key, _, other_partners = await water_park(services, "other")
    outlets = await _count(services, "SELECT count(*) FROM outlets")
    async with client(services) as http:
        cases = [
            (vending(partners["Cafe"], kind="slot machine"), 422, "invalid-input", "kind"),
            (vending(partners["Cafe"], timezone="Mars/Olympus"), 422, "invalid-input", "timezone"),
            (vending(partners["Cafe"], price_list={"per_use": "0"}), 422, "invalid-input", "price_list.per_use"),
            (
                vending(partners["Cafe"], price_list={"slots": {"A1": {"name": "W", "price": "1.001"}}}),
                422, "invalid-input", "price_list.slots.A1.price",
            ),
            (vending(partners["Cafe"], price_list={}), 422, "invalid-input", "price_list.per_use"),
            (
                vending(partners["Cafe"], kind="timed_table", price_list={"per_use": "5.00"}),
                422, "invalid-input", "price_list.per_minute",
            ),
            (vending(partners["Cafe"], opening_hours={"mon": [["22:00", "02:00"]]}), 422, "invalid-input",
             "opening_hours.mon[0][1]"),
            (vending(partners["Cafe"], offline_limit="-1"), 422, "invalid-input", "offline_limit"),
            (vending(other_partners["Cafe"]), 404, "not-found", "partner_id"),  # another network's partner
            (vending(partners["Cafe"], name="Web terminal"), 422, "invalid-input", "name"),
        ]  # fmt: skip
        for body, status, code, field in cases:
            answer = await http.post("/v1/admin/devices", json=body, headers=auth(admin_key))
            assert_problem(answer, status, code, field)
        nul = vending(partners["Cafe"], price_list={"slots": {"A1": {"name": "Wa\u0000ter", "price": "1.00"}}})
        assert (await http.post("/v1/admin/devices", json=nul, headers=auth(admin_key))).status_code == 422
        huge = vending(partners["Cafe"], price_list={"per_use": "9" * 40})
        assert_problem(await http.post("/v1/admin/devices", json=huge, headers=auth(admin_key)), 422, "invalid-input")
        assert await _count(services, "SELECT count(*) FROM outlets") == outlets
        assert await _count(services, "SELECT count(*) FROM devices") == 0

        first = await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))
        assert first.status_code == 201
        again = await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))
        assert_problem(again, 409, "conflict", "name")
        device_id = first.json()["id"]
        # another network's administrator sees no such device
        for method, path in (
            ("GET", f"/v1/admin/devices/{device_id}"),
            ("PATCH", f"/v1/admin/devices/{device_id}"),
            ("POST", f"/v1/admin/devices/{device_id}/revoke"),
        ):
            body = {} if method != "GET" else None
            answer = await http.request(method, path, json=body, headers=auth(other_key))
            assert_problem(answer, 404, "not-found", "device_id")
        listed = (await http.get("/v1/admin/devices", headers=auth(other_key))).json()
        assert listed == {"devices": [], "next_cursor": None}
        assert (await http.post("/v1/admin/devices", json=vending(partners["Cafe"]))).status_code == 401


async def test_prices_hours_and_limits_change_and_each_change_is_audited(park) -> None:
    services, _ = park
    admin_key, _, partners = await water_park(services)
    async with client(services) as http:
        device = (await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))).json()
        path = f"/v1/admin/devices/{device['id']}"
        changed = await http.patch(
            path,
            json={"price_list": {"per_use": "50.00"}, "opening_hours": None, "silent_after_seconds": 60},
            headers=auth(admin_key),
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["price_list"] == {"per_use": "50.00", "slots": {}, "per_minute": None, "max_minutes": None}
        assert body["opening_hours"] is None and body["open_now"] is True
        assert body["silent_after_seconds"] == 60 and body["hold_ttl_seconds"] == 300  # untouched
        assert body["kind"] == "vending"
        # a kind whose prices the list lacks is refused; with them it changes
        refused = await http.patch(path, json={"kind": "timed_table"}, headers=auth(admin_key))
        assert_problem(refused, 422, "invalid-input", "price_list.per_minute")
        table = {"kind": "timed_table", "price_list": {"per_minute": "10.00", "max_minutes": 90}}
        changed = await http.patch(path, json=table, headers=auth(admin_key))
        assert changed.json()["kind"] == "timed_table", changed.text
        assert_problem(
            await http.patch(path, json={"hold_ttl_seconds": 0}, headers=auth(admin_key)),
            422,
            "invalid-input",
            "hold_ttl_seconds",
        )
        assert_problem(
            await http.patch(path, json={"colour": "red"}, headers=auth(admin_key)), 422, "invalid-input", "colour"
        )
    async with services.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT action, before, after FROM audit_entries WHERE object_type = 'device' ORDER BY id")
            )
        ).all()
    assert [row.action for row in rows] == ["device.create", "device.update", "device.update"]
    assert '"silent_after_seconds": 60' in rows[1].after and '"silent_after_seconds": 900' in rows[1].before
    assert "hold_ttl_seconds" not in rows[1].after  # only what changed


async def test_a_revoked_device_is_refused_at_once_and_a_tills_key_is_no_device(park) -> None:
    services, _ = park
    admin_key, keys, partners = await water_park(services)
    async with client(services) as http:
        device = (await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))).json()
        key = device["key"]
        assert (await http.get("/v1/devices/me", headers=auth(key))).status_code == 200
        till = await http.get("/v1/devices/me", headers=auth(keys["Cafe"]))
        assert_problem(till, 403, "forbidden", "authorization")
        beat = await http.post("/v1/devices/heartbeat", json={"status": {}}, headers=auth(keys["Cafe"]))
        assert_problem(beat, 403, "forbidden", "authorization")

        revoked = await http.post(f"/v1/admin/devices/{device['id']}/revoke", headers=auth(admin_key))
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["active"] is False and revoked.json()["terminal"]["active"] is False
        assert_problem(await http.get("/v1/devices/me", headers=auth(key)), 401, "unauthorized")
        assert_problem(await http.get("/v1/devices/me", headers=auth("dev_unknown")), 401, "unauthorized")
        shown = (await http.get(f"/v1/admin/devices/{device['id']}", headers=auth(admin_key))).json()
        assert shown["active"] is False
    assert await _count(services, "SELECT count(*) FROM audit_entries WHERE action = 'device.revoke'") == 1


async def test_a_rotated_device_key_works_through_the_terminal_key_routes(park) -> None:
    services, _ = park
    admin_key, _, partners = await water_park(services)
    async with client(services) as http:
        device = (await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))).json()
        rotated = await http.post(
            f"/v1/admin/terminals/{device['terminal']['id']}/key/rotate",
            json={"grace_seconds": 0},
            headers=auth(admin_key),
        )
        assert rotated.status_code == 200, rotated.text
        assert (await http.get("/v1/devices/me", headers=auth(rotated.json()["key"]))).status_code == 200
        assert (await http.get("/v1/devices/me", headers=auth(device["key"]))).status_code == 401


async def test_heartbeats_make_a_device_online_until_it_falls_silent(park) -> None:
    services, clock = park
    admin_key, _, partners = await water_park(services)
    async with client(services) as http:
        body = vending(partners["Cafe"], silent_after_seconds=600)
        device = (await http.post("/v1/admin/devices", json=body, headers=auth(admin_key))).json()
        key, path = device["key"], f"/v1/admin/devices/{device['id']}"
        status = {"temperature": 6, "coins": {"tube": {"full": False}}, "jammed": ["A1"]}
        beat = await http.post(
            "/v1/devices/heartbeat", json={"status": status, "error": "B2 empty"}, headers=auth(key, new_key())
        )
        assert beat.status_code == 200, beat.text
        assert beat.json() == {"device_id": device["id"], "received_at": "2026-07-01T06:00:00Z"}
        shown = (await http.get(path, headers=auth(admin_key))).json()
        assert shown["online"] is True and shown["last_status"] == status and shown["last_error"] == "B2 empty"
        clock.moment += timedelta(seconds=601)
        assert (await http.get(path, headers=auth(admin_key))).json()["online"] is False
        assert (await http.post("/v1/devices/heartbeat", json={}, headers=auth(key))).status_code == 200
        shown = (await http.get(path, headers=auth(admin_key))).json()
        assert shown["online"] is True and shown["last_error"] is None and shown["last_status"] == {}

        too_deep = {"a": {"b": {"c": {"d": 1}}}}
        too_big = {"log": "x" * 2100}
        for bad in (too_deep, too_big, "ok"):
            answer = await http.post("/v1/devices/heartbeat", json={"status": bad}, headers=auth(key))
            assert_problem(answer, 422, "invalid-input", "status")
        nul = await http.post("/v1/devices/heartbeat", json={"status": {}, "error": "a\u0000b"}, headers=auth(key))
        assert nul.status_code == 422
        long = await http.post("/v1/devices/heartbeat", json={"error": "e" * 201}, headers=auth(key))
        assert long.status_code == 422


async def test_todays_uses_and_takings_are_the_device_charges_at_its_outlet(park) -> None:
    """Read from the ledger as the charges write it: DEVICE_CHARGE transactions at the device's outlet, their
    postings to the partner's PREPAID account (written here by hand until the charges land)."""
    services, clock = park
    admin_key, _, partners = await water_park(services)
    async with client(services) as http:
        device = (await http.post("/v1/admin/devices", json=vending(partners["Cafe"]), headers=auth(admin_key))).json()
        async with services.engine.begin() as connection:
            prepaid = (
                await connection.execute(
                    text(
                        "SELECT id FROM accounts WHERE owner_kind = 'partner' AND owner_id = :p AND purpose = 'prepaid'"
                    ),
                    {"p": partners["Cafe"]},
                )
            ).scalar_one()
            network_id = (await connection.execute(text("SELECT id FROM networks WHERE code = 'park'"))).scalar_one()
            node = (
                await connection.execute(
                    text(
                        "SELECT id FROM accounts WHERE network_id = :n AND owner_kind = 'node' AND purpose = 'prepaid'"
                    ),
                    {"n": network_id},
                )
            ).scalar_one()
            for amount, moment in (
                (12000, clock.moment),
                (9550, clock.moment),
                (5000, clock.moment - timedelta(days=1)),
            ):
                tx_id = (
                    await connection.execute(
                        text(
                            "INSERT INTO ledger_transactions (network_id, kind, outlet_id, memo, occurred_at,"
                            " recorded_at) VALUES (:n, 'device_charge', :o, 'test', :t, :t) RETURNING id"
                        ),
                        {"n": network_id, "o": device["outlet_id"], "t": moment},
                    )
                ).scalar_one()
                await connection.execute(
                    text("INSERT INTO postings (tx_id, account_id, asset, amount) VALUES (:tx, :a, 'money:RUB', :m)"),
                    [{"tx": tx_id, "a": prepaid, "m": amount}, {"tx": tx_id, "a": node, "m": -amount}],
                )  # the node's side stands in for the held money
        listed = (await http.get("/v1/admin/devices", headers=auth(admin_key))).json()["devices"]
        assert listed[0]["today"] == {"uses": 2, "takings": "215.50"}
