"""A device's use paid with points (issue 15), on both engines: the device's price becomes a purchase at its outlet
through the purchase pipeline — the most points the rules allow, the wallet the rest — refused whole when they fall
short, refused where the matrix forbids points, replayed by its key, and settled: the node owes the device's partner
the points' value."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.application.admin import ProgramSettings
from coalition.domain.bonus import Tier
from tests.http.device_charge_support import account_balance, add_device
from tests.http.water_park import DAY_START, buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

CARD = "P-100"
ALL_POINTS = ProgramSettings(code="allpts", name="Points", tiers=(Tier(0, 1000, 0, 10000),))  # points pay 100 %


async def _member(services, http, program=None, *, top_up="100.00", spent="500.00", phone=None):
    """A park whose member has points (10 % of what they spent at the café) and money on the card."""
    code = "park" if program is None else program.code
    admin_key, keys, partner_ids = await (
        water_park(services) if program is None else water_park(services, code, program)
    )
    keys["admin"] = admin_key
    net = await services.admin.network(code)
    await enrol(http, keys["Tickets"], CARD, phone=phone)
    if spent:
        await buy(http, keys["Cafe"], CARD, spent)
    if top_up:
        topped = await http.post(
            "/v1/wallets/top-ups", json={"customer": CARD, "amount": top_up}, headers=auth(keys["Tickets"], new_key())
        )
        assert topped.status_code == 201, topped.text
    return net, keys, partner_ids


async def _charge(http, key, body, idempotency_key=None):
    return await http.post("/v1/devices/charges", json=body, headers=auth(key, idempotency_key or new_key()))


async def _count(services, table: str) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())


async def test_points_pay_the_whole_use_where_the_rules_allow_all_and_a_retry_gets_the_first_answer(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await _member(services, http, ALL_POINTS)
        arcade = await add_device(services, net, "Arcade 1", "arcade", {"per_use": "3.00"})

        asked = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "pay_with": "points"}, headers=auth(arcade.key)
        )
        assert asked.status_code == 200, asked.text
        shown = asked.json()
        assert (shown["allowed"], shown["points_balance"], shown["points_usable"], shown["points_value"]) == (
            True,
            50,
            3,
            "3.00",
        )
        assert shown["wallet_pays"] == "0.00" and shown["price"] == "3.00"

        key = new_key()
        charged = await _charge(http, arcade.key, {"customer": CARD, "pay_with": "points"}, key)
        assert charged.status_code == 201, charged.text
        body = charged.json()
        assert (body["amount"], body["points_redeemed"], body["paid_with_points"], body["paid_from_wallet"]) == (
            "3.00",
            3,
            "3.00",
            "0.00",
        )
        assert (body["points_balance"], body["wallet"]["balance"], body["pay_with"]) == (47, "100.00", "points")
        assert body["receipt"] == f"device:{body['charge']}" and isinstance(body["transaction"], int)

        again = await _charge(http, arcade.key, {"customer": CARD, "pay_with": "points"}, key)
        assert again.status_code == 201 and again.json() == body
        assert again.headers.get("Idempotent-Replayed") == "true"
        other = await _charge(http, arcade.key, {"customer": CARD}, key)
        assert_problem(other, 422, "idempotency-key-reused")
        wallet_charge = await _charge(http, arcade.key, {"customer": CARD})  # today's behaviour, unchanged
        assert wallet_charge.status_code == 201 and wallet_charge.json()["wallet"]["balance"] == "97.00"
        shown = await http.get(f"/v1/admin/devices/{arcade.id}", headers=auth(keys["admin"]))
        assert shown.json()["today"] == {"uses": 2, "takings": "6.00"}  # a use paid either way counts once
    assert await _count(services, "purchases") == 2  # the café's and the arcade's, once
    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 300  # the wallet charge
    assert await verify(services.engine) == []


async def test_a_cap_of_half_the_check_splits_the_use_between_points_and_the_wallet(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await _member(services, http)  # the park: points pay at most half a check
        dispenser = await add_device(
            services, net, "Drinks", "dispenser", {"slots": {"B2": {"name": "Juice", "price": "20.00"}}}
        )
        asked = await http.post(
            "/v1/devices/authorize",
            json={"customer": CARD, "product": "B2", "pay_with": "points"},
            headers=auth(dispenser.key),
        )
        assert (asked.json()["points_usable"], asked.json()["wallet_pays"]) == (10, "10.00")
        charged = await _charge(http, dispenser.key, {"customer": CARD, "product": "B2", "pay_with": "points"})
        assert charged.status_code == 201, charged.text
        body = charged.json()
        assert (body["amount"], body["points_redeemed"], body["paid_from_wallet"], body["wallet"]["balance"]) == (
            "20.00",
            10,
            "10.00",
            "90.00",
        )
        assert body["points_earned"] == 1  # 10 % of the 10.00 paid in money, as at a till
        assert body["points_balance"] == 50 - 10 + 1
    assert await account_balance(services, "prepaid", "partner", dispenser.partner_id) == 1000
    assert await verify(services.engine) == []


async def test_refused_naming_pay_with_when_points_and_wallet_fall_short_and_nothing_is_written(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await _member(services, http, top_up="5.00")
        dispenser = await add_device(services, net, "Drinks", "dispenser", {"per_use": "20.00"})
        before = [await _count(services, table) for table in ("purchases", "ledger_transactions", "idempotency_keys")]
        short = await _charge(http, dispenser.key, {"customer": CARD, "pay_with": "points"})
        body = assert_problem(short, 422, "insufficient-funds", "pay_with")
        assert "5.00" in body["detail"]  # points pay 10.00, the wallet 5.00: 5.00 is missing
        after = [await _count(services, table) for table in ("purchases", "ledger_transactions", "idempotency_keys")]
        assert after == before
        asked = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "pay_with": "points"}, headers=auth(dispenser.key)
        )
        assert asked.json()["allowed"] is False and asked.json()["points_usable"] == 0

        await enrol(http, keys["Tickets"], "P-200")  # no points at all
        none = await _charge(http, dispenser.key, {"customer": "P-200", "pay_with": "points"})
        assert_problem(none, 422, "invalid-input", "pay_with")
        assert_problem(
            await _charge(http, dispenser.key, {"customer": CARD, "pay_with": "cash"}), 422, "invalid-input", "pay_with"
        )
        till = await _charge(http, keys["Cafe"], {"customer": CARD, "pay_with": "points"})
        assert_problem(till, 403, "forbidden", "authorization")
    assert await verify(services.engine) == []


async def test_the_matrix_forbidding_points_at_the_device_refuses_them(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await _member(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", {"per_use": "3.00"})
        matrix = {
            "entries": [
                {"outlet": "Cafe desk", "counter": "points", "operations": ["accrue", "spend"]},
                {"outlet": "Arcade 1 machine", "counter": "wallet:RUB", "operations": ["spend"]},
            ]
        }  # the device takes the wallet, not points
        assert (await http.put("/v1/admin/permissions", json=matrix, headers=auth(keys["admin"]))).status_code == 200
        forbidden = await _charge(http, arcade.key, {"customer": CARD, "pay_with": "points"})
        assert_problem(forbidden, 403, "forbidden")
        asked = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "pay_with": "points"}, headers=auth(arcade.key)
        )
        assert asked.json()["allowed"] is False and "matrix" in asked.json()["reason"]
        assert (await _charge(http, arcade.key, {"customer": CARD})).status_code == 201  # the wallet still pays
    assert await verify(services.engine) == []


async def test_settlement_owes_the_devices_partner_the_value_of_the_points_it_took(park) -> None:
    """The worked example of docs/device_charges.md "Paying with points", in its exact figures."""
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _member(services, http)  # 50 points, 100.00 on the card; points pay half a check
        drinks = await add_device(
            services, net, "Drinks", "dispenser", {"slots": {"B2": {"name": "Juice", "price": "20.00"}}}
        )
        charged = await _charge(http, drinks.key, {"customer": CARD, "product": "B2", "pay_with": "points"})
        assert charged.status_code == 201, charged.text
        body = charged.json()
        assert {name: body[name] for name in ("amount", "amount_due", "points_redeemed", "paid_with_points")} == {
            "amount": "20.00",
            "amount_due": "10.00",
            "points_redeemed": 10,
            "paid_with_points": "10.00",
        }
        assert (body["paid_from_wallet"], body["points_earned"], body["points_balance"]) == ("10.00", 1, 41)
        assert body["wallet"]["balance"] == "90.00"
        shown = await http.get(f"/v1/admin/devices/{drinks.id}", headers=auth(keys["admin"]))
        assert shown.json()["today"] == {"uses": 1, "takings": "20.00"}  # the console counts it at its price
        clock.moment = DAY_START.replace(day=2)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.replace(hour=0).isoformat(), "end": clock.moment.replace(hour=0).isoformat()},
            headers=auth(keys["admin"]),
        )
        assert closed.status_code == 201, closed.text
        lines = {line["name"]: line for line in closed.json()["partners"]}
        drinks_line = lines["Drinks"]
        assert {name: drinks_line[name] for name in ("honoured", "granted", "points_net", "net")} == {
            "honoured": "10.00",  # the node owes the partner the value of the points it took
            "granted": "1.00",  # the point the purchase earned, the partner's to pay
            "points_net": "9.00",
            "net": "19.00",
        }
        assert drinks_line["money"]["wallet_accepted"] == "10.00"
    assert await account_balance(services, "prepaid", "partner", drinks.partner_id) == 1000
    assert await verify(services.engine) == []


async def test_concurrent_charges_never_spend_more_points_than_the_member_has_and_one_key_charges_once(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await _member(services, http, ALL_POINTS, top_up="")  # 50 points, no money
        vending = await add_device(services, net, "Snacks", "vending", {"per_use": "20.00"})
        answers: list = []

        async def charge(key: str) -> None:
            answer = await _charge(http, vending.key, {"customer": CARD, "pay_with": "points"}, key)
            answers.append((key, answer))

        async with anyio.create_task_group() as group:
            for number in range(6):
                group.start_soon(charge, f"snack-{number}")
        assert sorted(answer.status_code for _, answer in answers) == [201, 201, 422, 422, 422, 422]
        for _, answer in answers:
            if answer.status_code == 422:
                assert_problem(answer, 422, "insufficient-funds", "pay_with")
        [first, *_] = [(key, answer.json()) for key, answer in answers if answer.status_code == 201]

        answers.clear()
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(charge, first[0])  # retries of a charge: its answer, never a second charge
        assert [answer.json() for _, answer in answers] == [first[1]] * 4
    assert await _count(services, "purchases") == 3  # the café's and two snacks
    assert await verify(services.engine) == []


async def test_a_closed_device_refuses_points_as_it_refuses_the_wallet(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _member(services, http, ALL_POINTS)
        evenings = {day: [["18:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        bar = await add_device(services, net, "Bar", "dispenser", {"per_use": "3.00"}, hours=evenings)
        closed = await _charge(http, bar.key, {"customer": CARD, "pay_with": "points"})
        assert_problem(closed, 409, "device-closed", "device")
        asked = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "pay_with": "points"}, headers=auth(bar.key)
        )
        assert asked.json()["allowed"] is False and "closed" in asked.json()["reason"]
        clock.moment = clock.moment.replace(hour=16)  # 19:00 in Moscow
        assert (await _charge(http, bar.key, {"customer": CARD, "pay_with": "points"})).status_code == 201
    assert await verify(services.engine) == []


async def test_a_minimum_check_for_points_leaves_a_cheap_use_to_the_wallet_alone(park) -> None:
    services, _clock = park
    program = ProgramSettings(
        code="mincheck", name="Points", tiers=(Tier(0, 1000, 0, 10000),), min_check_for_redeem_minor=1000
    )
    async with client(services) as http:
        net, _keys, _ = await _member(services, http, program)
        arcade = await add_device(
            services,
            net,
            "Arcade 1",
            "arcade",
            {"per_use": "3.00", "slots": {"XL": {"name": "Big game", "price": "12.00"}}},
        )
        cheap = await _charge(http, arcade.key, {"customer": CARD, "pay_with": "points"})
        refused = assert_problem(cheap, 422, "invalid-input", "pay_with")
        assert "rules" in refused["detail"]
        asked = await http.post(
            "/v1/devices/authorize", json={"customer": CARD, "pay_with": "points"}, headers=auth(arcade.key)
        )
        assert (asked.json()["allowed"], asked.json()["points_usable"]) == (False, 0)
        big = await _charge(http, arcade.key, {"customer": CARD, "product": "XL", "pay_with": "points"})
        assert big.status_code == 201, big.text
        assert (big.json()["points_redeemed"], big.json()["paid_from_wallet"]) == (12, "0.00")
    assert await verify(services.engine) == []


@pytest.mark.parametrize("typed", ["8 912 000 00 03", "9120000003"])
async def test_a_phone_in_its_national_form_pays_with_points_at_a_device(park, typed) -> None:
    """Issue 18 review (e): a device's authorize and charge with points read a phone typed without its country code
    as a number of the network's country (RUB: RU), as the till does."""
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await _member(services, http, ALL_POINTS, phone="+7 912 000-00-03")
        arcade = await add_device(services, net, "Arcade 1", "arcade", {"per_use": "3.00"})
        asked = await http.post(
            "/v1/devices/authorize", json={"customer": typed, "pay_with": "points"}, headers=auth(arcade.key)
        )
        assert asked.status_code == 200, asked.text
        assert (asked.json()["allowed"], asked.json()["points_usable"]) == (True, 3)
        charged = await _charge(http, arcade.key, {"customer": typed, "pay_with": "points"})
        assert charged.status_code == 201, charged.text
        assert (charged.json()["points_redeemed"], charged.json()["points_balance"]) == (3, 47)
