"""Devices charge the card (issue 15) on both engines: a one-shot charge, a hold captured in part or voided, the same
key answering the first answer, a second capture refused, and fifty concurrent charges that never overdraw."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import ARCADE_PRICES, CARD, account_balance, add_device, park_with_wallet
from tests.support import assert_problem, auth, client, new_key

pytestmark = pytest.mark.anyio


_park = park_with_wallet


async def _post(http, key, path, body=None, idempotency_key=None):
    return await http.post(path, json=body, headers=auth(key, idempotency_key or new_key()))


async def test_a_charge_takes_one_use_from_the_wallet_for_the_devices_partner(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", ARCADE_PRICES)

        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(arcade.key))
        assert asked.status_code == 200, asked.text
        assert (asked.json()["allowed"], asked.json()["price"], asked.json()["uses"]) == (True, "2.50", 40)

        key = new_key()
        charged = await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD}, key)
        assert charged.status_code == 201, charged.text
        body = charged.json()
        assert (body["amount"], body["wallet"]["balance"], body["device"]) == ("2.50", "97.50", "Arcade 1 machine")
        assert "points_balance" in body["rewards"]

        again = await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD}, key)
        assert again.status_code == 201 and again.json() == body
        assert again.headers.get("Idempotent-Replayed") == "true"
        other_body = await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD, "product": "A1"}, key)
        assert_problem(other_body, 422, "idempotency-key-reused")

        slot = await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD, "product": "A1"})
        assert slot.status_code == 201 and slot.json()["wallet"]["balance"] == "96.30"

    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 370
    assert await account_balance(services, "held_money", "node", 0) == 0
    assert await verify(services.engine) == []


async def test_a_hold_is_captured_in_part_and_the_rest_goes_back(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        pump = await add_device(services, net, "Fuel", "dispenser", {"per_use": "30.00"})
        held = await _post(http, pump.key, "/v1/devices/holds", {"customer": CARD})
        assert held.status_code == 201, held.text
        hold = held.json()
        assert (hold["amount"], hold["status"], hold["wallet"]["balance"]) == ("30.00", "held", "70.00")
        assert await account_balance(services, "held_money", "node", 0) == 3000
        assert await verify(services.engine) == []

        path = f"/v1/devices/holds/{hold['hold']}/capture"
        key = new_key()
        captured = await _post(http, pump.key, path, {"amount": "12.40"}, key)
        assert captured.status_code == 200, captured.text
        assert (captured.json()["captured"], captured.json()["released"]) == ("12.40", "17.60")
        assert captured.json()["wallet"]["balance"] == "87.60"

        replay = await _post(http, pump.key, path, {"amount": "12.40"}, key)
        assert replay.status_code == 200 and replay.json() == captured.json()
        assert_problem(await _post(http, pump.key, path, {"amount": "1.00"}), 409, "hold-not-open", "hold")
        void = await _post(http, pump.key, f"/v1/devices/holds/{hold['hold']}/void")
        assert_problem(void, 409, "hold-not-open", "hold")

        second = (await _post(http, pump.key, "/v1/devices/holds", {"customer": CARD, "amount": "5.00"})).json()
        voided = await _post(http, pump.key, f"/v1/devices/holds/{second['hold']}/void")
        assert voided.status_code == 200, voided.text
        assert (voided.json()["status"], voided.json()["wallet"]["balance"]) == ("voided", "87.60")
        too_much = await _post(http, pump.key, "/v1/devices/holds", {"customer": CARD, "amount": "5.00"})
        over = await _post(http, pump.key, f"/v1/devices/holds/{too_much.json()['hold']}/capture", {"amount": "5.01"})
        assert_problem(over, 422, "invalid-input", "amount")

    assert await account_balance(services, "prepaid", "partner", pump.partner_id) == 1240
    assert await account_balance(services, "held_money", "node", 0) == 500
    assert await verify(services.engine) == []


async def test_a_capture_after_the_hold_expired_is_refused_and_the_sweep_gives_the_money_back(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        crashed = await add_device(services, net, "Crashy", "vending", {"per_use": "40.00"}, hold_ttl_seconds=60)
        held = (await _post(http, crashed.key, "/v1/devices/holds", {"customer": CARD})).json()
        assert held["wallet"]["balance"] == "60.00"
        clock.moment += timedelta(seconds=61)
        late = await _post(http, crashed.key, f"/v1/devices/holds/{held['hold']}/capture")
        assert_problem(late, 409, "hold-not-open", "hold")
        assert "expired" in late.json()["detail"]
        assert await verify(services.engine) == []  # still held: HELD_MONEY equals the open hold

        swept = await services.device_charges.expire_holds(net.id)
        assert swept == {"holds": 1, "amount_minor": 4000}
        assert await services.device_charges.expire_holds(net.id) == {"holds": 0, "amount_minor": 0}
        wallet = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(crashed.key))
        assert wallet.json()["balance"] == "100.00"
    assert await account_balance(services, "held_money", "node", 0) == 0
    assert await verify(services.engine) == []


async def test_a_new_hold_first_releases_the_members_expired_holds(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        machine = await add_device(services, net, "Snacks", "vending", {"per_use": "80.00"}, hold_ttl_seconds=60)
        assert (await _post(http, machine.key, "/v1/devices/holds", {"customer": CARD})).status_code == 201
        refused = await _post(http, machine.key, "/v1/devices/holds", {"customer": CARD})
        assert_problem(refused, 422, "insufficient-funds", "customer")
        clock.moment += timedelta(minutes=2)
        again = await _post(http, machine.key, "/v1/devices/holds", {"customer": CARD})
        assert again.status_code == 201, again.text
        assert again.json()["wallet"]["balance"] == "20.00"
    assert await verify(services.engine) == []


async def test_fifty_concurrent_charges_of_30_on_a_wallet_of_100_exactly_three_succeed(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        machine = await add_device(services, net, "Go-kart", "arcade", {"per_use": "30.00"})
        statuses: list[int] = []

        async def one() -> None:
            response = await _post(http, machine.key, "/v1/devices/charges", {"customer": CARD})
            assert response.status_code in (201, 409, 422), response.text
            statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
        assert statuses.count(201) == 3, statuses
        wallet = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(machine.key))
        assert wallet.json()["balance"] == "10.00"
    assert await account_balance(services, "prepaid", "partner", machine.partner_id) == 9000
    assert await verify(services.engine) == []


async def test_a_period_with_device_charges_and_an_open_hold_settles(park) -> None:
    """A capture is a wallet payment to the device's partner at settlement; money still held stays the members'."""
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 2", "arcade", ARCADE_PRICES)
        assert (await _post(http, arcade.key, "/v1/devices/charges", {"customer": CARD})).status_code == 201
        hold = (await _post(http, arcade.key, "/v1/devices/holds", {"customer": CARD, "amount": "10.00"})).json()
        captured = await _post(http, arcade.key, f"/v1/devices/holds/{hold['hold']}/capture", {"amount": "4.00"})
        assert captured.status_code == 200, captured.text
        assert (await _post(http, arcade.key, "/v1/devices/holds", {"customer": CARD})).status_code == 201  # open
        start, end = clock.moment - timedelta(hours=1), clock.moment + timedelta(minutes=1)
        clock.moment += timedelta(minutes=2)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": start.isoformat(), "end": end.isoformat()},
            headers=auth(keys["admin"]),
        )
        assert closed.status_code == 201, closed.text
        lines = {line["name"]: line for line in closed.json()["partners"]}
        assert lines["Arcade 2"]["net"] == "6.50", lines["Arcade 2"]
        assert lines["Tickets"]["net"] == "-100.00", lines["Tickets"]
    assert await verify(services.engine) == []


async def test_a_charge_fires_the_device_use_rules_of_its_partner(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, partner_ids = await _park(services, http)
        rules = {
            "rules": [
                {
                    "code": "arcade-play",
                    "trigger": "device_use",
                    "scope": {"partners": ["Arcade"]},
                    "effects": [{"accrue_fixed": {"points": 5}}],
                }
            ]
        }
        saved = await services.rules.save_draft(net, rules)
        assert saved["errors"] == 0, saved
        await services.rules.publish(net, None)
        game = await add_device(services, net, "Pinball", "arcade", ARCADE_PRICES, partner_id=partner_ids["Arcade"])
        charged = await _post(http, game.key, "/v1/devices/charges", {"customer": CARD})
        assert charged.status_code == 201, charged.text
        rewards = charged.json()["rewards"]
        assert (rewards["bonus"], rewards["points_balance"]) == ({"points": 5, "rules": ["arcade-play"]}, 5)
        hold = (await _post(http, game.key, "/v1/devices/holds", {"customer": CARD})).json()
        captured = await _post(http, game.key, f"/v1/devices/holds/{hold['hold']}/capture")
        assert captured.json()["rewards"]["points_balance"] == 10
    assert await verify(services.engine) == []
