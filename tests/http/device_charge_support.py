"""A device for the charges' tests: its partner, outlet and terminal through the admin service, and its `devices`
row inserted directly (registering a device through the admin API is the registry's part of issue 15)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from coalition.application.admin import NetworkRef
from coalition.wiring import Services


@dataclass(frozen=True)
class Device:
    id: int
    key: str
    outlet_id: int
    outlet: str
    partner_id: int


async def add_device(
    services: Services,
    network: NetworkRef,
    name: str,
    kind: str,
    prices: dict[str, Any] | None = None,
    *,
    hours: dict[str, Any] | None = None,
    hold_ttl_seconds: int = 300,
    partner_id: int | None = None,
    created_at: datetime | None = None,
    offline_limit_minor: int = 0,
) -> Device:
    if partner_id is None:
        partner_id = (await services.admin.create_partner(network, name))["id"]
    outlet = await services.admin.create_outlet(network, partner_id, f"{name} machine", "Europe/Moscow")
    terminal = await services.admin.create_terminal(network, outlet["id"], "device")
    async with services.engine.begin() as connection:
        device_id = (
            await connection.execute(
                sa.text(
                    "INSERT INTO devices (network_id, outlet_id, terminal_id, kind, price_list, opening_hours, "
                    "hold_ttl_seconds, offline_limit_minor, created_at) "
                    "VALUES (:n, :o, :t, :k, :p, :h, :ttl, :limit, :at) RETURNING id"
                ),
                {
                    "n": network.id,
                    "o": outlet["id"],
                    "t": terminal["id"],
                    "k": kind,
                    "p": json.dumps(prices or {}),
                    "h": None if hours is None else json.dumps(hours),
                    "ttl": hold_ttl_seconds,
                    "limit": offline_limit_minor,
                    "at": created_at or datetime.now(UTC),
                },
            )
        ).scalar_one()
    return Device(int(device_id), terminal["key"], outlet["id"], f"{name} machine", partner_id)


async def account_balance(services: Services, purpose: str, owner_kind: str, owner_id: int) -> int:
    """The sum of postings of an account (0 when it has none)."""
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.text(
                    "SELECT COALESCE(SUM(p.amount), 0) FROM accounts a LEFT JOIN postings p ON p.account_id = a.id "
                    "WHERE a.purpose = :purpose AND a.owner_kind = :kind AND a.owner_id = :owner"
                ),
                {"purpose": purpose, "kind": owner_kind, "owner": owner_id},
            )
        ).scalar_one()
    return int(total)


CARD = "W-100"
ARCADE_PRICES = {"per_use": "2.50", "slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}}}


async def park_with_wallet(services: Services, http: Any, top_up: str = "100.00") -> tuple[NetworkRef, dict, dict]:
    """The water park of tests/http/water_park.py, with its administrator's key among the keys and a member CARD
    whose wallet the ticket office topped up."""
    from tests.http.water_park import water_park
    from tests.support import auth, enrol, new_key

    admin_key, keys, partner_ids = await water_park(services)
    keys["admin"] = admin_key
    net = await services.admin.network("park")
    await enrol(http, keys["Tickets"], CARD)
    body = {"customer": CARD, "amount": top_up}
    topped = await http.post("/v1/wallets/top-ups", json=body, headers=auth(keys["Tickets"], new_key()))
    assert topped.status_code == 201, topped.text
    return net, keys, partner_ids
