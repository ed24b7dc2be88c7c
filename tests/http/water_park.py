"""The water park of the brief — ticket office, café, photo booth, arcade — as a network for tests, on a clock the
tests move. The park's program grants 10 % of what is paid in money as points and lets points pay up to half a check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from coalition.application.admin import NetworkRef, ProgramSettings
from coalition.domain.bonus import Tier
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import auth, new_key

PROGRAM = ProgramSettings(code="park", name="Park points", tiers=(Tier(0, 1000, 0, 5000),))
DAY_START = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
DAY_END = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)  # midnight in Moscow


class Clock:
    def __init__(self) -> None:
        self.moment = DAY_START

    def now(self) -> datetime:
        return self.moment


async def water_park(services, program=PROGRAM):
    created = await services.admin.create_network("park", "Water park", "RUB", program)
    ref = NetworkRef(created["id"], "park", created["name"], "RUB")
    keys, partner_ids = {}, {}
    for name in ("Tickets", "Cafe", "Photo", "Arcade"):
        partner = await services.admin.create_partner(ref, name)
        outlet = await services.admin.create_outlet(ref, partner["id"], f"{name} desk", "Europe/Moscow")
        keys[name] = (await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"]
        partner_ids[name] = partner["id"]
    return created["admin_key"], keys, partner_ids


async def buy(http, key, card, amount, redeem=0, **extra):
    body = {"customer": card, "amount": amount, "redeem_points": redeem, "receipt": new_key()} | extra
    response = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture()
async def park(settings: Settings) -> Any:
    """Services on the park's clock (at the start of the day) — the network itself comes from `water_park`."""
    clock = Clock()
    services = build_services(settings, clock=clock)
    try:
        yield services, clock
    finally:
        await services.close()
