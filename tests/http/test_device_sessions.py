"""A timed table's session and a kiosk's top-up (issue 15) on both engines: the session holds its longest run and
charges the minutes played (a started minute whole); the kiosk puts the cash it counted on the card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import account_balance, add_device
from tests.http.test_device_charges import CARD, _park, _post
from tests.support import assert_problem, auth, client, new_key

pytestmark = pytest.mark.anyio

TABLE_PRICES = {"per_minute": "0.50", "max_minutes": 120}


async def test_a_session_charges_the_minutes_played_rounded_up_and_releases_the_rest(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        table = await add_device(services, net, "Billiards", "timed_table", TABLE_PRICES)
        asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(table.key))
        assert (asked.json()["price"], asked.json()["uses"]) == ("0.50", 200)  # minutes the card can pay

        started = await _post(http, table.key, "/v1/devices/sessions", {"customer": CARD})
        assert started.status_code == 201, started.text
        session = started.json()
        assert (session["amount"], session["max_minutes"], session["wallet"]["balance"]) == ("60.00", 120, "40.00")

        clock.moment += timedelta(minutes=7, seconds=10)
        key = new_key()
        stopped = await _post(http, table.key, f"/v1/devices/sessions/{session['session']}/stop", None, key)
        assert stopped.status_code == 200, stopped.text
        body = stopped.json()
        assert (body["minutes"], body["captured"], body["released"]) == (8, "4.00", "56.00")
        assert body["wallet"]["balance"] == "96.00"
        replay = await _post(http, table.key, f"/v1/devices/sessions/{session['session']}/stop", None, key)
        assert replay.json() == body

        short = (await _post(http, table.key, "/v1/devices/sessions", {"customer": CARD, "max_minutes": 30})).json()
        assert short["amount"] == "15.00"
        told = await _post(http, table.key, f"/v1/devices/sessions/{short['session']}/stop", {"minutes": 31})
        assert_problem(told, 422, "invalid-input", "minutes")
        clock.moment += timedelta(hours=3)
        late = await _post(http, table.key, f"/v1/devices/sessions/{short['session']}/stop", {"minutes": 20})
        assert_problem(late, 409, "hold-not-open", "hold")  # 30 minutes + the hold time have passed

        too_long = await _post(http, table.key, "/v1/devices/sessions", {"customer": CARD, "max_minutes": 121})
        assert_problem(too_long, 422, "invalid-input", "max_minutes")

    assert await account_balance(services, "prepaid", "partner", table.partner_id) == 400
    assert await verify(services.engine) == []


async def test_a_session_stopped_with_minutes_named_by_the_table(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        table = await add_device(services, net, "Snooker", "timed_table", TABLE_PRICES)
        session = (await _post(http, table.key, "/v1/devices/sessions", {"customer": CARD, "max_minutes": 60})).json()
        clock.moment += timedelta(minutes=63)  # past its 60 minutes, within the hold time (5 min) after: 60 paid
        stopped = await _post(http, table.key, f"/v1/devices/sessions/{session['session']}/stop")
        assert stopped.status_code == 200, stopped.text
        assert (stopped.json()["minutes"], stopped.json()["captured"]) == (60, "30.00")
        nothing = (await _post(http, table.key, "/v1/devices/sessions", {"customer": CARD, "max_minutes": 10})).json()
        zero = await _post(http, table.key, f"/v1/devices/sessions/{nothing['session']}/stop", {"minutes": 0})
        assert (zero.json()["status"], zero.json()["captured"]) == ("voided", "0.00")
        arcade = await add_device(services, net, "Pinball", "arcade", {"per_use": "1.00"})
        not_a_session = await _post(http, arcade.key, "/v1/devices/sessions", {"customer": CARD})
        assert_problem(not_a_session, 409, "conflict", "device")
    assert await verify(services.engine) == []


async def test_a_kiosk_puts_the_cash_it_counted_on_the_card(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _, _ = await _park(services, http)
        kiosk = await add_device(services, net, "Kiosk", "kiosk")
        topped = await _post(http, kiosk.key, "/v1/devices/top-ups", {"customer": CARD, "amount": "50.00"})
        assert topped.status_code == 201, topped.text
        assert (topped.json()["balance"], topped.json()["topped_up"]) == ("150.00", "50.00")
        arcade = await add_device(services, net, "Claw", "arcade", {"per_use": "1.00"})
        refused = await _post(http, arcade.key, "/v1/devices/top-ups", {"customer": CARD, "amount": "50.00"})
        assert_problem(refused, 403, "forbidden", "authorization")
        bad = await _post(http, kiosk.key, "/v1/devices/top-ups", {"customer": CARD, "amount": "-1.00"})
        assert_problem(bad, 422, "invalid-input", "amount")
    assert await account_balance(services, "prepaid", "partner", kiosk.partner_id) == -5000  # it owes the cash
    assert await verify(services.engine) == []
