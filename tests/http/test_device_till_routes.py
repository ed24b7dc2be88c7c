"""A device's key on the till's routes (issue 15, docs/devices.md): it may make only what its kind does, while the
device is active and open by its hours; reads need an active device; an ordinary till is untouched.

The park's clock starts at 09:00 in Moscow on Wednesday 1 July 2026; the vending machine sells 18:00–23:00 only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.http.device_charge_support import CARD, add_device, park_with_wallet
from tests.support import assert_problem, auth, client, new_key, table_counts

pytestmark = pytest.mark.anyio

EVENINGS_ONLY = {"wed": [["18:00", "23:00"]]}


async def _post(http, key, path, body=None):
    return await http.post(path, json=body, headers=auth(key, new_key()))


def _purchase(amount: str = "10.00") -> dict:
    return {"customer": CARD, "amount": amount, "receipt": new_key(), "tenders": [{"kind": "wallet"}]}


async def test_a_vending_machine_outside_its_hours_buys_nothing_on_the_purchase_route(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        vending = await add_device(services, net, "Snacks", "vending", {"per_use": "1.00"}, hours=EVENINGS_ONLY)
        before = await table_counts(services)
        closed = await _post(http, vending.key, "/v1/purchases", _purchase())
        assert_problem(closed, 409, "device-closed", "device")
        batch = await http.post(
            "/v1/purchases/batch", json={"purchases": [_purchase() | {"idempotency_key": new_key()}]},
            headers=auth(vending.key),
        )  # fmt: skip
        assert_problem(batch, 409, "device-closed", "device")
        assert await table_counts(services) == before  # nothing written, not even an idempotency record

        member = await http.get(f"/v1/members/{CARD}", headers=auth(vending.key))
        assert member.status_code == 200, member.text  # a read: any active device, open or not

        clock.moment += timedelta(hours=10)  # 19:00: open
        sale, key = _purchase(), new_key()
        bought = await http.post("/v1/purchases", json=sale, headers=auth(vending.key, key))
        assert bought.status_code == 201, bought.text

        clock.moment += timedelta(hours=4, minutes=30)  # 23:30: closed again; the answer it lost replays
        again = await http.post("/v1/purchases", json=sale, headers=auth(vending.key, key))
        assert (again.status_code, again.headers.get("Idempotent-Replayed"), again.json()) == (
            201, "true", bought.json()
        )  # fmt: skip
        assert_problem(await _post(http, vending.key, "/v1/purchases", _purchase()), 409, "device-closed", "device")


KINDS = {"arcade": {"per_use": "2.00"}, "turnstile": {"per_use": "0.00"}, "kiosk": {}}


async def test_each_kind_makes_only_its_own_writes(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await park_with_wallet(services, http)
        arcade, gate, kiosk = [await add_device(services, net, f"Test {kind}", kind, KINDS[kind]) for kind in KINDS]
        before = await table_counts(services)
        topped = await _post(http, arcade.key, "/v1/wallets/top-ups", {"customer": CARD, "amount": "5.00"})
        assert_problem(topped, 403, "forbidden", "device")
        assert "kiosk" in topped.json()["detail"]
        assert_problem(await _post(http, arcade.key, "/v1/purchases", _purchase()), 403, "forbidden", "device")
        assert_problem(await _post(http, arcade.key, "/v1/visits", {"customer": CARD}), 403, "forbidden", "device")
        refund = await _post(http, kiosk.key, "/v1/purchases/P-1/refunds", {"amount": "1.00"})
        assert_problem(refund, 403, "forbidden", "device")
        card = await _post(http, gate.key, "/v1/cards", {"customer": CARD, "card_number": "W-200"})
        assert_problem(card, 403, "forbidden", "device")
        assert await table_counts(services) == before

        entered = await _post(http, gate.key, "/v1/visits", {"customer": CARD})
        assert entered.status_code == 201, entered.text
        left = await _post(http, gate.key, f"/v1/visits/{entered.json()['id']}/end")
        assert left.status_code == 200, left.text
        topped = await _post(http, kiosk.key, "/v1/wallets/top-ups", {"customer": CARD, "amount": "5.00"})
        assert topped.status_code == 201, topped.text
        used = await _post(http, arcade.key, "/v1/device-uses", {"customer": CARD})
        assert used.status_code == 201, used.text  # any kind reports a use


async def test_a_deactivated_device_neither_reads_nor_writes_and_a_till_is_unaffected(park) -> None:
    services, _clock = park
    async with client(services) as http:
        net, keys, _ = await park_with_wallet(services, http)
        kiosk = await add_device(services, net, "Kiosk", "kiosk", {})
        async with services.engine.begin() as connection:
            await connection.execute(
                sa.text("UPDATE devices SET active = :no WHERE id = :id"), {"no": False, "id": kiosk.id}
            )
        read = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(kiosk.key))
        assert_problem(read, 403, "forbidden", "authorization")
        topped = await _post(http, kiosk.key, "/v1/wallets/top-ups", {"customer": CARD, "amount": "5.00"})
        assert_problem(topped, 403, "forbidden", "authorization")

        till = keys["Tickets"]  # an ordinary till: every write as before
        assert (await _post(http, till, "/v1/wallets/top-ups", {"customer": CARD, "amount": "5.00"})).status_code == 201
        assert (await _post(http, till, "/v1/purchases", _purchase())).status_code == 201
        assert (await _post(http, till, "/v1/visits", {"customer": CARD})).status_code == 201
