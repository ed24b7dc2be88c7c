"""What a device's one-shot charge costs the database (issue 15: an authorize + charge at p99 ≤ 20 ms): warmed, it
reads the device, the member, their wallet and today's spend in one statement and writes in one more on PostgreSQL
(the purchase path's shape); SQLite writes its rows one statement each. It writes ONE ledger transaction,
DEVICE_CHARGE (wallet −P, the device partner's PREPAID +P), as an offline use does: no hold, no release. An
authorize sends that read alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import driver
from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import ARCADE_PRICES, CARD, account_balance, add_device, park_with_wallet
from tests.support import auth, client, new_key

pytestmark = pytest.mark.anyio

MOST_STATEMENTS = {"postgresql": 2, "sqlite": 6}  # a warmed charge: one read and one write on PostgreSQL
_SENDS = ("fetch", "fetchrow", "fetchval", "execute", "executemany", "insert_many", "update_many")


@contextmanager
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent through the driver, on either engine, once: SQLite's fetchval goes through its fetchrow
    and fetch, so only the outermost call counts."""
    sent: list[str] = []
    depth = [0]
    with monkeypatch.context() as patch:
        for db_class in (driver.AsyncpgDb, driver.SqliteDb):
            for name in _SENDS:
                original = getattr(db_class, name)

                async def counted(self: Any, sql: Any, *args: Any, _original: Any = original) -> Any:
                    if depth[0] == 0:
                        sent.append(str(sql))
                    depth[0] += 1
                    try:
                        return await _original(self, sql, *args)
                    finally:
                        depth[0] -= 1

                patch.setattr(db_class, name, counted)
        yield sent


def _engine(services) -> str:
    return "postgresql" if services.settings.database_url.startswith("postgresql") else "sqlite"


async def _kinds(services) -> list[str]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT kind FROM ledger_transactions WHERE kind LIKE 'device%'"))
        return sorted(row.kind for row in rows)


async def _charge(http, key: str, body: dict | None = None):
    return await http.post("/v1/devices/charges", json=body or {"customer": CARD}, headers=auth(key, new_key()))


async def test_a_warmed_charge_sends_one_read_and_one_write(park, monkeypatch) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", ARCADE_PRICES)
        warm = await _charge(http, arcade.key)  # the caches: program, matrix, rules, the partner's PREPAID account
        assert warm.status_code == 201, warm.text

        with statements(monkeypatch) as sent:
            charged = await _charge(http, arcade.key, {"customer": CARD, "product": "A1"})
        assert charged.status_code == 201, charged.text
        body = charged.json()
        assert (body["amount"], body["wallet"]["balance"]) == ("1.20", "96.30")
        assert body["rewards"] == {"points_balance": 0, "applied_rules": []}  # what the device_use rules gave: none
        assert len(sent) <= MOST_STATEMENTS[_engine(services)], sent
        assert not any("held_money" in sql or "FOR UPDATE OF b" in sql for sql in sent), sent

        wallet = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(arcade.key))
        assert wallet.json()["balance"] == "96.30"
    assert await _kinds(services) == ["device_charge", "device_charge"]  # one transaction per charge
    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 370
    assert await account_balance(services, "held_money", "node", 0) == 0
    assert await verify(services.engine) == []


async def test_a_daily_limit_is_counted_in_the_same_read(park, monkeypatch) -> None:
    """Under a daily limit the read also sums what the wallet spent today (this charge's first sibling included)."""
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", {"per_use": "3.00"})
        member = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(arcade.key))
        member_id = member.json()["member"]
        limited = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"daily_spend_limit": "7.00"}, headers=auth(keys["admin"])
        )
        assert limited.status_code == 200, limited.text
        assert (await _charge(http, arcade.key)).status_code == 201

        with statements(monkeypatch) as sent:
            charged = await _charge(http, arcade.key)
        assert charged.status_code == 201, charged.text
        assert charged.json()["wallet"]["daily_left"] == "1.00"
        assert len(sent) <= MOST_STATEMENTS[_engine(services)], sent

        refused = await _charge(http, arcade.key)  # 1.00 left today
        assert refused.status_code == 422, refused.text
        assert "daily limit" in refused.json()["detail"]
    assert await verify(services.engine) == []


async def test_a_member_with_an_expired_hold_gets_its_money_back_first(park) -> None:
    """A crashed device's hold holds money: the charge releases it before it judges the wallet (the locked path)."""
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http, top_up="30.00")
        pump = await add_device(services, net, "Fuel", "dispenser", {"per_use": "25.00"}, hold_ttl_seconds=60)
        held = await http.post("/v1/devices/holds", json={"customer": CARD}, headers=auth(pump.key, new_key()))
        assert held.status_code == 201, held.text
        assert (await _charge(http, pump.key)).status_code == 422  # 5.00 left while the hold holds 25.00
        clock.moment += timedelta(minutes=2)
        charged = await _charge(http, pump.key)
        assert charged.status_code == 201, charged.text
        assert charged.json()["wallet"]["balance"] == "5.00"
    assert await verify(services.engine) == []


async def test_parallel_charges_never_pass_the_daily_limit(park) -> None:
    """Twenty charges of 7.00 at once on a card of 100.00 limited to 50.00 a day: exactly seven are paid. The first
    try's write finds the wallet changed by a sibling and gives way to the locked run, which counts the day again."""
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await park_with_wallet(services, http)
        machine = await add_device(services, net, "Go-kart", "arcade", {"per_use": "7.00"})
        member_id = (await http.get(f"/v1/members/{CARD}/wallet", headers=auth(machine.key))).json()["member"]
        limited = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"daily_spend_limit": "50.00"}, headers=auth(keys["admin"])
        )
        assert limited.status_code == 200, limited.text
        statuses: list[int] = []

        async def one() -> None:
            response = await _charge(http, machine.key)
            assert response.status_code in (201, 422), response.text
            statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
        assert statuses.count(201) == 7, statuses
        wallet = (await http.get(f"/v1/members/{CARD}/wallet", headers=auth(machine.key))).json()
        assert (wallet["balance"], wallet["daily_left"]) == ("51.00", "1.00")
    assert await verify(services.engine) == []


async def test_a_wallet_changed_since_the_read_sends_the_charge_under_the_lock(park, monkeypatch) -> None:
    """The write matches no row when the wallet's version moved since the read: nothing is written by it, and the
    charge is made under the member's lock, once."""
    from coalition.adapters.storage.pos_device_one_shot import SqlOneShotCharges

    read = SqlOneShotCharges.read_for_charge

    async def stale(self, *args):
        found = await read(self, *args)
        return None if found is None else dataclasses.replace(found, wallet_version=found.wallet_version - 1)

    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", ARCADE_PRICES)
        assert (await _charge(http, arcade.key)).status_code == 201
        monkeypatch.setattr(SqlOneShotCharges, "read_for_charge", stale)
        with statements(monkeypatch) as sent:
            charged = await _charge(http, arcade.key)
        assert charged.status_code == 201, charged.text
        assert charged.json()["wallet"]["balance"] == "95.00"
        if _engine(services) == "postgresql":
            assert any("FOR UPDATE OF b" in sql for sql in sent), sent  # the locked run
    assert await _kinds(services) == ["device_charge", "device_charge"]
    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 500
    assert await verify(services.engine) == []


async def test_a_warmed_authorize_reads_in_one_statement(park, monkeypatch) -> None:
    """authorize reads the device, the member and the wallet as a charge does, in one statement, no transaction."""
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade = await add_device(services, net, "Arcade 1", "arcade", ARCADE_PRICES)
        ask = {"customer": CARD, "product": "A1"}
        warm = await http.post("/v1/devices/authorize", json=ask, headers=auth(arcade.key))
        assert warm.status_code == 200, warm.text
        with statements(monkeypatch) as sent:
            asked = await http.post("/v1/devices/authorize", json=ask, headers=auth(arcade.key))
        assert asked.status_code == 200, asked.text
        assert (asked.json()["allowed"], asked.json()["uses"], asked.json()["wallet"]["balance"]) == (
            True,
            83,
            "100.00",
        )
        assert len(sent) == 1, sent
        assert "nextval" not in sent[0] and "MAX(id)" not in sent[0]  # an authorize draws no transaction id
