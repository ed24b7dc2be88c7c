"""A wallet's daily spending limit and device holds across midnight (issue 15), on both engines: what a device holds
counts on the day the hold began, so a hold of yesterday given back today (a void, an expiry, the rest of a capture)
adds nothing to what the card may spend today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import add_device
from tests.http.test_device_charges import CARD, _park, _post
from tests.support import assert_problem, auth, client, new_key

pytestmark = pytest.mark.anyio

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


async def _limited_card(services, http):
    """The park's card W-100 with 100.00 on it and a daily limit of 20.00, and a gum machine at 5.00 a use."""
    net, keys, _ = await _park(services, http)
    member = (await http.get(f"/v1/members/{CARD}", headers=auth(keys["Tickets"]))).json()["member"]["id"]
    limits = await http.put(
        f"/v1/admin/members/{member}/wallet", json={"daily_spend_limit": "20.00"}, headers=auth(keys["admin"])
    )
    assert limits.status_code == 200, limits.text
    gum = await add_device(services, net, "Gum", "vending", {"per_use": "5.00"}, hold_ttl_seconds=600)
    return keys, gum


async def _spend_today_up_to_the_limit(http, keys, gum) -> None:
    """Four uses of 5.00 fill today's 20.00; a fifth, or a purchase from the wallet, is refused."""
    for _ in range(4):
        charged = await _post(http, gum.key, "/v1/devices/charges", {"customer": CARD})
        assert charged.status_code == 201, charged.text
    asked = await http.post("/v1/devices/authorize", json={"customer": CARD}, headers=auth(gum.key))
    assert (asked.json()["allowed"], asked.json()["uses"]) == (False, 0), asked.json()
    fifth = await _post(http, gum.key, "/v1/devices/charges", {"customer": CARD})
    assert_problem(fifth, 422, "insufficient-funds", "customer")
    assert "daily" in fifth.json()["detail"]
    lunch = await http.post(
        "/v1/purchases",
        json={"customer": CARD, "amount": "1.00", "receipt": new_key(), "tenders": [{"kind": "wallet"}]},
        headers=auth(keys["Cafe"], new_key()),
    )
    assert lunch.status_code == 422, lunch.text
    assert lunch.json()["type"].endswith("/insufficient-funds"), lunch.json()


async def test_a_hold_of_yesterday_voided_today_leaves_today_its_own_limit(park) -> None:
    services, clock = park
    async with client(services) as http:
        clock.moment = moscow(1, 23, 55)
        keys, gum = await _limited_card(services, http)
        held = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "10.00"})
        assert held.status_code == 201, held.text
        clock.moment = moscow(2, 0, 1)  # the next day in Moscow: the hold is given back
        voided = await _post(http, gum.key, f"/v1/devices/holds/{held.json()['hold']}/void")
        assert voided.status_code == 200, voided.text
        await _spend_today_up_to_the_limit(http, keys, gum)
    assert await verify(services.engine) == []


async def test_a_hold_of_yesterday_expired_today_leaves_today_its_own_limit(park) -> None:
    services, clock = park
    async with client(services) as http:
        clock.moment = moscow(1, 23, 55)
        keys, gum = await _limited_card(services, http)
        held = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "15.00"})
        assert held.status_code == 201, held.text
        clock.moment = moscow(2, 0, 5) + timedelta(minutes=1)  # past its 10 minutes: the next hold releases it
        await _spend_today_up_to_the_limit(http, keys, gum)
        balance = (await http.get(f"/v1/members/{CARD}/wallet", headers=auth(keys["Tickets"]))).json()["balance"]
        assert balance == "80.00"  # 100.00 − 4 × 5.00, the 15.00 back
    assert await verify(services.engine) == []


async def test_what_a_device_held_and_took_today_counts_today(park) -> None:
    services, clock = park
    async with client(services) as http:
        clock.moment = moscow(2, 10, 0)
        _keys, gum = await _limited_card(services, http)
        held = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "12.00"})
        assert held.status_code == 201, held.text
        over = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "8.01"})
        assert_problem(over, 422, "insufficient-funds", "customer")  # 12.00 held: 8.00 left today
        captured = await _post(http, gum.key, f"/v1/devices/holds/{held.json()['hold']}/capture", {"amount": "2.00"})
        assert captured.status_code == 200, captured.text
        clock.moment += timedelta(minutes=1)
        # 2.00 taken, 10.00 given back: 18.00 left today, which 3 uses and a fourth hold of 3.00 fill
        for _ in range(3):
            assert (await _post(http, gum.key, "/v1/devices/charges", {"customer": CARD})).status_code == 201
        last = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "3.00"})
        assert last.status_code == 201, last.text
        refused = await _post(http, gum.key, "/v1/devices/holds", {"customer": CARD, "amount": "0.01"})
        assert_problem(refused, 422, "insufficient-funds", "customer")
    assert await verify(services.engine) == []
