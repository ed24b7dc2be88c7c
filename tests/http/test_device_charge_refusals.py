"""Every refusal of a device's charge (issue 15) names its field and writes nothing: keys that are no device's,
a card that cannot pay, closed hours, the matrix, another device's hold, NUL bytes and huge numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import add_device
from tests.http.test_device_charges import CARD, _park, _post
from tests.support import assert_problem, auth, client, table_counts

pytestmark = pytest.mark.anyio

# The park's clock starts at 09:00 in Moscow on Wednesday 1 July 2026.
EVENINGS_ONLY = {"wed": [["18:00", "23:00"]]}


async def test_keys_that_are_no_devices_are_refused(park) -> None:
    services, _clock = park
    async with client(services) as http:
        _net, keys, _ = await _park(services, http)
        before = await table_counts(services)
        unknown = await _post(http, "term_nobody", "/v1/devices/charges", {"customer": CARD})
        assert_problem(unknown, 401, "unauthorized")
        till = await _post(http, keys["Tickets"], "/v1/devices/charges", {"customer": CARD})
        assert_problem(till, 403, "forbidden", "authorization")
        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(keys["Tickets"]))
        assert_problem(asked, 403, "forbidden", "authorization")
        assert await table_counts(services) == before


async def test_bad_bodies_name_their_field_and_write_nothing(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        arcade = await add_device(
            services, net, "Slots", "arcade", {"per_use": "2.50", "slots": {"A1": {"name": "Ball", "price": "1"}}}
        )
        before = await table_counts(services)
        cases = [
            ("/v1/devices/charges", {"customer": CARD, "product": "Z9"}, 422, "product"),
            ("/v1/devices/charges", {"customer": "W-404"}, 404, "customer"),
            ("/v1/devices/charges", {"customer": "W-1\u0000"}, 422, "customer"),
            ("/v1/devices/charges", {"customer": CARD, "product": "A\u00001"}, 422, "product"),
            ("/v1/devices/charges", {"customer": CARD, "extra": 1}, 422, "extra"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "99999999999999999999.00"}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "0.00"}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "-1.00"}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "1.001"}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": 5}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "1.00", "product": "A1"}, 422, "amount"),
            ("/v1/devices/holds", {"customer": CARD, "amount": "100.01"}, 422, "customer"),
            ("/v1/devices/sessions", {"customer": CARD, "max_minutes": 10**30}, 422, "max_minutes"),
            ("/v1/devices/holds/not-a-hold/capture", {"amount": "1.00"}, 404, "hold"),
            (f"/v1/devices/holds/{'9' * 65}/void", None, 422, "hold_id"),
        ]
        for path, body, status, field in cases:
            response = await _post(http, arcade.key, path, body)
            assert response.status_code == status, (path, body, response.text)
            assert response.json().get("field") == field, (path, body, response.json())
        unknown = await http.post("/v1/devices/authorize", json={"customer": "W-404"}, headers=auth(arcade.key))
        assert_problem(unknown, 404, "member-not-found", "customer")
        wrong = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "product": "Z"}, headers=auth(arcade.key)
        )
        assert_problem(wrong, 422, "invalid-input", "product")
        no_key = await http.post("/v1/devices/charges", json={"customer": CARD}, headers=auth(arcade.key))
        assert_problem(no_key, 422, "invalid-input", "Idempotency-Key")
        assert await table_counts(services) == before


async def test_above_what_the_card_can_pay_and_within_the_daily_limit(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http, top_up="20.00")
        arcade = await add_device(services, net, "Racer", "arcade", {"per_use": "30.00"})
        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(arcade.key))
        assert (asked.json()["allowed"], asked.json()["uses"]) == (False, 0)
        assert "20.00" in asked.json()["reason"]
        before = await table_counts(services)
        assert_problem(
            await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD}), 422, "insufficient-funds"
        )
        assert await table_counts(services) == before

        member = (await http.get(f"/v1/members/{CARD}", headers=auth(keys["Tickets"]))).json()["member"]["id"]
        limits = await http.put(
            f"/v1/admin/members/{member}/wallet", json={"daily_spend_limit": "12.00"}, headers=auth(keys["admin"])
        )
        assert limits.status_code == 200, limits.text
        cheap = await add_device(services, net, "Gum", "vending", {"per_use": "5.00"})
        held = await _post(http, cheap.key, "/v1/devices/holds", {"customer": CARD})
        assert held.status_code == 201, held.text
        assert (await _post(http, cheap.key, "/v1/devices/charges", {"customer": CARD})).status_code == 201
        third = await _post(http, cheap.key, "/v1/devices/charges", {"customer": CARD})
        assert_problem(third, 422, "insufficient-funds", "customer")  # 5 held + 5 charged: 2 left of 12 today
        assert "daily" in third.json()["detail"]
        await _post(http, cheap.key, f"/v1/devices/holds/{held.json()['hold']}/void")
        assert (await _post(http, cheap.key, "/v1/devices/charges", {"customer": CARD})).status_code == 201
    assert await verify(services.engine) == []


async def test_closed_hours_and_the_matrix_refuse_and_authorize_says_why(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http)
        bar = await add_device(services, net, "Bar", "dispenser", {"per_use": "3.00"}, hours=EVENINGS_ONLY)
        closed = await _post(http, bar.key, "/v1/devices/charges", {"customer": CARD})
        assert_problem(closed, 409, "device-closed", "device")
        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(bar.key))
        assert asked.json()["allowed"] is False and "closed" in asked.json()["reason"]
        clock.moment += timedelta(hours=10)  # 19:00 in Moscow
        assert (await _post(http, bar.key, "/v1/devices/charges", {"customer": CARD})).status_code == 201

        matrix = {"entries": [{"outlet": "Tickets desk", "counter": "wallet:RUB", "operations": ["top_up"]}]}
        assert (await http.put("/v1/admin/permissions", json=matrix, headers=auth(keys["admin"]))).status_code == 200
        forbidden = await _post(http, bar.key, "/v1/devices/charges", {"customer": CARD})
        assert_problem(forbidden, 403, "forbidden")
        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(bar.key))
        assert asked.json()["allowed"] is False and "matrix" in asked.json()["reason"]


async def test_another_devices_hold_is_not_found(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        one = await add_device(services, net, "One", "vending", {"per_use": "3.00"})
        two = await add_device(services, net, "Two", "vending", {"per_use": "3.00"})
        hold = (await _post(http, one.key, "/v1/devices/holds", {"customer": CARD})).json()["hold"]
        assert_problem(await _post(http, two.key, f"/v1/devices/holds/{hold}/capture"), 404, "not-found", "hold")
        assert_problem(await _post(http, two.key, f"/v1/devices/holds/{hold}/void"), 404, "not-found", "hold")
        table = await add_device(services, net, "Pool", "timed_table", {"per_minute": "1.00", "max_minutes": 5})
        assert_problem(await _post(http, one.key, f"/v1/devices/sessions/{hold}/stop"), 404, "not-found", "hold")
        assert (await _post(http, one.key, f"/v1/devices/holds/{hold}/capture")).status_code == 200
        assert table.id != one.id


async def test_a_crashed_devices_hold_is_released_by_the_expire_job_and_verify_passes(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http)
        crashed = await add_device(services, net, "Crashed", "vending", {"per_use": "25.00"}, hold_ttl_seconds=30)
        assert (await _post(http, crashed.key, "/v1/devices/holds", {"customer": CARD})).status_code == 201
        clock.moment += timedelta(minutes=1)
        job = await http.post("/v1/admin/jobs/expire", headers=auth(keys["admin"]))
        assert job.status_code == 200, job.text
        assert job.json()["device_holds"] == {"holds": 1, "amount_minor": 2500}
        wallet = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(crashed.key))
        assert wallet.json()["balance"] == "100.00"
    assert await verify(services.engine) == []
