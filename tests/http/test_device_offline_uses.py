"""A device's offline uses (issue 15) on both engines: each use charged once by its own key at its own time and by the
prices then, a re-upload that doubles nothing, a partly bad upload, a short payment the partner bears, the offline
limit flagged, two devices uploading for one card at once, and every bad input refused per use or as a whole."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import tables
from coalition.adapters.storage.driver import Db
from coalition.adapters.storage.pos_device_offline import append_price_list, record_price_list
from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import ARCADE_PRICES, CARD, account_balance, add_device, park_with_wallet
from tests.http.water_park import DAY_START
from tests.support import assert_problem, auth, client, enrol, new_key

pytestmark = pytest.mark.anyio

PATH = "/v1/devices/offline-uses"
_MOSCOW = ZoneInfo("Europe/Moscow")
BEFORE = DAY_START - timedelta(days=1)  # the devices exist from the day before


def at(minutes: int) -> str:
    """A moment of the park's day, as a device in Moscow writes it."""
    return (DAY_START + timedelta(minutes=minutes)).astimezone(_MOSCOW).isoformat()


_park = park_with_wallet


async def _upload(http, key: str, uses: list[dict[str, Any]], idempotency_key: str | None = None):
    headers = auth(key, idempotency_key) if idempotency_key else auth(key)
    return await http.post(PATH, json={"uses": uses}, headers=headers)


async def _balance(http, key: str, card: str = CARD) -> str:
    return str((await http.get(f"/v1/members/{card}/wallet", headers=auth(key))).json()["balance"])


async def test_uses_are_charged_at_their_time_and_a_re_upload_doubles_nothing(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        arcade = await add_device(
            services, net, "Arcade 1", "arcade", ARCADE_PRICES, created_at=BEFORE, offline_limit_minor=1000
        )
        clock.moment = DAY_START + timedelta(hours=2)  # the network came back two hours later
        uses = [
            {"key": "u-1", "customer": CARD, "occurred_at": at(10)},
            {"key": "u-2", "customer": CARD, "occurred_at": at(20), "product": "A1"},
            {"key": "u-3", "customer": CARD, "occurred_at": at(30)},
        ]
        first = await _upload(http, arcade.key, uses)
        assert first.status_code == 200, first.text
        body = first.json()
        assert (body["charged"], body["short"], body["replayed"], body["refused"]) == (3, 0, 0, 0)
        results = body["results"]
        assert [r["amount"] for r in results] == ["2.50", "1.20", "2.50"]
        assert [r["wallet"]["balance"] for r in results] == ["97.50", "96.30", "93.80"]
        assert [r["index"] for r in results] == [0, 1, 2]
        assert all(r["result"] == "charged" and r["unpaid"] == "0.00" for r in results)
        assert not any(r["over_offline_limit"] for r in results)
        lt = tables.ledger_transactions
        async with services.engine.connect() as connection:
            moments = (
                await connection.execute(
                    sa.select(lt.c.occurred_at, lt.c.recorded_at).where(lt.c.id == results[0]["transaction"])
                )
            ).one()
        assert tables.as_utc(moments[0]) == DAY_START + timedelta(minutes=10)  # the use's time
        assert tables.as_utc(moments[1]) == clock.moment  # written now: in the open settlement period

        again = await _upload(http, arcade.key, uses)  # the device never saw the answer
        assert again.status_code == 200, again.text
        assert again.json()["replayed"] == 3
        assert [r["first"] for r in again.json()["results"]] == [
            {k: v for k, v in r.items() if k != "index"} for r in results
        ]
        assert await _balance(http, arcade.key) == "93.80"

        # a crash half-way: the first uses were written, the rest come with the re-upload
        more = [*uses, {"key": "u-4", "customer": CARD, "occurred_at": at(40)}]
        resumed = (await _upload(http, arcade.key, more)).json()
        assert [r["result"] for r in resumed["results"]] == ["replayed", "replayed", "replayed", "charged"]
        assert resumed["results"][3]["wallet"]["balance"] == "91.30"

        # the whole upload under an Idempotency-Key: its retry is the first answer, word for word
        keyed = [{"key": "u-5", "customer": CARD, "occurred_at": at(50)}]
        upload_key = new_key()
        once = await _upload(http, arcade.key, keyed, upload_key)
        twice = await _upload(http, arcade.key, keyed, upload_key)
        assert once.json()["charged"] == 1 and twice.json() == once.json()
        assert twice.headers.get("Idempotent-Replayed") == "true"
        reused = await _upload(
            http, arcade.key, [*keyed, {"key": "u-6", "customer": CARD, "occurred_at": at(51)}], upload_key
        )
        assert_problem(reused, 422, "idempotency-key-reused", "Idempotency-Key")

    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 250 + 120 + 250 + 250 + 250
    assert await verify(services.engine) == []


async def test_a_partly_bad_upload_records_the_good_uses_and_names_each_bad_field(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 2", "arcade", ARCADE_PRICES, created_at=BEFORE)
        clock.moment = DAY_START + timedelta(hours=1)
        charged = await _upload(http, arcade.key, [{"key": "taken", "customer": CARD, "occurred_at": at(1)}])
        assert charged.json()["charged"] == 1
        uses: list[Any] = [
            {"key": "ok-1", "customer": CARD, "occurred_at": at(5)},
            {"key": "b-1", "customer": "NOBODY-1", "occurred_at": at(5)},
            {"key": "b-2", "customer": CARD, "occurred_at": at(5), "product": "Z9"},
            {"key": "b-3", "customer": CARD, "occurred_at": at(60 + 6)},  # 6 minutes after the server's time
            {"key": "b-4", "customer": CARD, "occurred_at": (DAY_START - timedelta(days=31)).isoformat()},
            {"key": "b-5", "customer": CARD, "occurred_at": (BEFORE - timedelta(minutes=1)).isoformat()},
            {"key": "b-6", "customer": CARD, "occurred_at": "2026-07-01T09:05:00"},  # no offset
            {"key": "b-7", "customer": CARD, "occurred_at": "yesterday"},
            {"key": "taken", "customer": CARD, "occurred_at": at(2)},  # same key, another use
            {"key": "b-8", "occurred_at": at(5)},  # no customer
            {"key": "b-9", "customer": "W-1\u0000", "occurred_at": at(5)},
            {"key": "b-10", "customer": CARD, "occurred_at": at(5), "minutes": 10**30},
            {"key": "b-11", "customer": CARD, "occurred_at": at(5), "minutes": 5},  # no price per minute
            {"key": "x" * 65, "customer": CARD, "occurred_at": at(5)},
            "not an object",
            {"key": "b-12", "customer": CARD, "occurred_at": at(5), "price": "0.01"},  # an unknown field
            {"key": "ok-2", "customer": CARD, "occurred_at": at(6), "product": "A1"},
        ]
        answer = await _upload(http, arcade.key, uses)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        results = body["results"]
        assert (body["charged"], body["refused"]) == (2, 15)
        assert [results[0]["result"], results[16]["result"]] == ["charged", "charged"]
        expected = {
            1: (422, "member-not-found", "uses[1].customer"),
            2: (422, "invalid-input", "uses[2].product"),
            3: (422, "invalid-input", "uses[3].occurred_at"),
            4: (422, "invalid-input", "uses[4].occurred_at"),
            5: (422, "invalid-input", "uses[5].occurred_at"),
            6: (422, "invalid-input", "uses[6].occurred_at"),
            7: (422, "invalid-input", "uses[7].occurred_at"),
            8: (409, "conflict", "uses[8].key"),
            9: (422, "invalid-input", "uses[9].customer"),
            10: (422, "invalid-input", "uses[10].customer"),
            11: (422, "invalid-input", "uses[11].minutes"),
            12: (422, "invalid-input", "uses[12].minutes"),
            13: (422, "invalid-input", "uses[13].key"),
            14: (422, "invalid-input", "uses[14]"),
            15: (422, "invalid-input", "uses[15].price"),
        }
        for index, (status, code, field) in expected.items():
            item = results[index]
            assert item["result"] == "refused", item
            problem = item["problem"]
            assert (problem["status"], problem["type"].rsplit("/", 1)[1], problem["field"]) == (status, code, field), (
                item
            )
        assert "after the server" in results[3]["problem"]["detail"]
        assert "30 days" in results[4]["problem"]["detail"]
        assert "before the device existed" in results[5]["problem"]["detail"]
        assert results[16]["wallet"]["balance"] == "93.80"  # 100 − 2.50 (taken) − 2.50 − 1.20: the bad took nothing
    assert await verify(services.engine) == []


async def test_a_use_is_priced_by_the_price_list_in_force_when_it_happened(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 3", "arcade", {"per_use": "2.50"}, created_at=BEFORE)
        changed_at = DAY_START + timedelta(hours=1)
        await _change_prices(services, arcade.id, {"per_use": "3.00"}, changed_at, BEFORE, {"per_use": "2.50"})
        clock.moment = DAY_START + timedelta(hours=3)
        uses = [
            {"key": "early", "customer": CARD, "occurred_at": at(50)},
            {"key": "late", "customer": CARD, "occurred_at": at(70)},
            {"key": "very-early", "customer": CARD, "occurred_at": (BEFORE + timedelta(minutes=1)).isoformat()},
        ]
        results = (await _upload(http, arcade.key, uses)).json()["results"]
        assert [r["amount"] for r in results] == ["2.50", "3.00", "2.50"]
        assert results[-1]["wallet"]["balance"] == "92.00"
        online = await http.post("/v1/devices/charges", json={"customer": CARD}, headers=auth(arcade.key, new_key()))
        assert online.json()["amount"] == "3.00"
    assert await verify(services.engine) == []


async def _change_prices(services, device_id: int, prices: dict, when, created_at, old: dict) -> None:
    """What the registry's PATCH does: the device's list changes, and the change is recorded from its moment on."""
    async with services.store.unit_of_work() as uow:
        await uow.append_price_list(device_id, json.dumps(old), created_at)  # the backfill of migration 0038
        await uow.append_price_list(device_id, json.dumps(prices), when)
    async with services.engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE devices SET price_list = :p WHERE id = :id"), {"p": json.dumps(prices), "id": device_id}
        )


async def test_a_short_payment_takes_what_the_wallet_has_and_the_limit_is_flagged(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http, top_up="6.00")
        arcade = await add_device(
            services, net, "Arcade 4", "arcade", ARCADE_PRICES, created_at=BEFORE, offline_limit_minor=500
        )
        clock.moment = DAY_START + timedelta(hours=1)
        uses = [{"key": f"s-{n}", "customer": CARD, "occurred_at": at(n)} for n in range(4)]
        body = (await _upload(http, arcade.key, uses)).json()
        results = body["results"]
        assert [r["result"] for r in results] == ["charged", "charged", "short", "short"]
        assert [(r["paid"], r["unpaid"]) for r in results] == [
            ("2.50", "0.00"),
            ("2.50", "0.00"),
            ("1.00", "1.50"),
            ("0.00", "2.50"),
        ]
        assert [r["over_offline_limit"] for r in results] == [False, False, True, True]
        assert results[3]["transaction"] is None and results[3]["wallet"]["balance"] == "0.00"
        replayed = (await _upload(http, arcade.key, uses)).json()["results"]
        assert [r["first"]["result"] for r in replayed] == ["charged", "charged", "short", "short"]
        shown = await http.get(f"/v1/admin/devices/{arcade.id}", headers=auth(_keys["admin"]))
        assert shown.json()["today"] == {"uses": 4, "takings": "6.00"}  # the use nothing paid is a use too
    assert await account_balance(services, "prepaid", "partner", arcade.partner_id) == 600
    assert await verify(services.engine) == []
    async with services.engine.begin() as connection:  # a row that says the wallet paid more than it did
        await connection.execute(sa.text("UPDATE device_offline_uses SET unpaid_minor = 0 WHERE key = 's-2'"))
    assert [v.check.name for v in await verify(services.engine)] == ["device-offline-uses-paid-as-recorded"]


async def test_two_devices_uploading_for_one_card_at_once_overdraw_nothing(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        one = await add_device(services, net, "Kart A", "arcade", {"per_use": "2.50"}, created_at=BEFORE)
        two = await add_device(services, net, "Kart B", "arcade", {"per_use": "2.50"}, created_at=BEFORE)
        clock.moment = DAY_START + timedelta(hours=1)
        answers: list[dict[str, Any]] = []

        async def upload(device) -> None:
            uses = [{"key": f"k-{n}", "customer": CARD, "occurred_at": at(n)} for n in range(30)]
            response = await _upload(http, device.key, uses)
            assert response.status_code == 200, response.text
            answers.append(response.json())

        async with anyio.create_task_group() as group:
            group.start_soon(upload, one)
            group.start_soon(upload, two)
        results = [r for answer in answers for r in answer["results"]]
        paid = sum(Decimal(r["paid"]) for r in results)
        unpaid = sum(Decimal(r["unpaid"]) for r in results)
        assert (paid, unpaid) == (Decimal("100.00"), Decimal("50.00"))
        assert await _balance(http, one.key) == "0.00"
    assert (
        await account_balance(services, "prepaid", "partner", one.partner_id)
        + await account_balance(services, "prepaid", "partner", two.partner_id)
        == 10000
    )
    assert await verify(services.engine) == []


async def test_a_timed_tables_use_is_its_minutes_times_the_price_per_minute(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        table = await add_device(
            services, net, "Billiards", "timed_table", {"per_minute": "0.50", "max_minutes": 120}, created_at=BEFORE
        )
        clock.moment = DAY_START + timedelta(hours=3)
        uses = [
            {"key": "t-1", "customer": CARD, "occurred_at": at(0), "minutes": 7},
            {"key": "t-2", "customer": CARD, "occurred_at": at(60), "minutes": 121},
            {"key": "t-3", "customer": CARD, "occurred_at": at(90)},
        ]
        results = (await _upload(http, table.key, uses)).json()["results"]
        assert (results[0]["amount"], results[0]["minutes"], results[0]["wallet"]["balance"]) == ("3.50", 7, "96.50")
        assert results[1]["problem"]["field"] == "uses[1].minutes"
        assert results[2]["problem"]["field"] == "uses[2].minutes"
    assert await verify(services.engine) == []


async def test_an_upload_refused_as_a_whole(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 5", "arcade", ARCADE_PRICES, created_at=BEFORE)
        use = {"key": "w-1", "customer": CARD, "occurred_at": at(1)}
        clock.moment = DAY_START + timedelta(hours=1)
        assert (await http.post(PATH, json={"uses": [use]})).status_code == 401
        assert (await _upload(http, "not-a-key", [use])).status_code == 401
        assert_problem(await _upload(http, keys["Cafe"], [use]), 403, "forbidden", "authorization")
        assert_problem(await _upload(http, arcade.key, []), 422, "invalid-input", "uses")
        assert_problem(await _upload(http, arcade.key, [use] * 501), 422, "invalid-input", "uses")
        not_a_list = await http.post(PATH, json={"uses": "all"}, headers=auth(arcade.key))
        assert_problem(not_a_list, 422, "invalid-input", "uses")
        assert_problem(await _upload(http, arcade.key, [use], "k" * 201), 422, "invalid-input", "Idempotency-Key")
        async with services.engine.begin() as connection:
            await connection.execute(sa.text("UPDATE devices SET active = false WHERE id = :id"), {"id": arcade.id})
        assert_problem(await _upload(http, arcade.key, [use]), 403, "forbidden", "authorization")
        assert await _balance(http, keys["Cafe"]) == "100.00"
    assert await verify(services.engine) == []


async def test_the_storage_function_records_a_price_change(park) -> None:
    """What the registry's PATCH calls before it updates the device's row: `append_price_list` on a driver Db,
    `record_price_list` on a SQLAlchemy connection. A device never recorded keeps its list from its creation."""
    services, _clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        arcade = await add_device(services, net, "Arcade 6", "arcade", ARCADE_PRICES, created_at=BEFORE)

    async def per_use_at(moment) -> str:
        async with services.store.unit_of_work() as uow:
            return str(json.loads(await uow.price_list_at(arcade.id, moment) or "")["per_use"])

    async with services.store.unit_of_work() as uow:
        db: Db = uow.db  # type: ignore[attr-defined]
        await append_price_list(db, arcade.id, json.dumps({"per_use": "9.00"}), DAY_START)
        await append_price_list(db, arcade.id, json.dumps({"per_use": "9.50"}), DAY_START)  # the same moment: replaced
    assert await per_use_at(DAY_START + timedelta(seconds=1)) == "9.50"
    assert await per_use_at(DAY_START - timedelta(seconds=1)) == "2.50"  # the list it had from its creation
    assert await per_use_at(BEFORE - timedelta(days=1)) == "2.50"  # before any: the first
    async with services.engine.begin() as connection:  # the administrator's store: a SQLAlchemy connection
        await record_price_list(connection, arcade.id, json.dumps({"per_use": "4.00"}), DAY_START + timedelta(hours=1))
        await record_price_list(connection, arcade.id, json.dumps({"per_use": "4.50"}), DAY_START + timedelta(hours=1))
    assert await per_use_at(DAY_START + timedelta(hours=2)) == "4.50"
    assert await per_use_at(DAY_START + timedelta(minutes=59)) == "9.50"
    fresh = await add_device(services, net, "Arcade 7", "arcade", ARCADE_PRICES, created_at=BEFORE)
    async with services.engine.begin() as connection:
        await record_price_list(connection, fresh.id, json.dumps({"per_use": "5.00"}), DAY_START)
    async with services.store.unit_of_work() as uow:
        assert json.loads(await uow.price_list_at(fresh.id, BEFORE) or "")["per_use"] == "2.50"


async def test_the_worked_example_of_the_docs(park) -> None:
    """docs/device_charges.md "Offline uses", in exact figures."""
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http, top_up="1.00")
        await enrol(http, keys["Tickets"], "W-200")
        topped = await http.post(
            "/v1/wallets/top-ups",
            json={"customer": "W-200", "amount": "6.00"},
            headers=auth(keys["Tickets"], new_key()),
        )
        assert topped.status_code == 201, topped.text
        game = await add_device(
            services, net, "Game", "arcade", ARCADE_PRICES, created_at=BEFORE, offline_limit_minor=500
        )
        raised = {"per_use": "3.00", "slots": ARCADE_PRICES["slots"]}
        await _change_prices(services, game.id, raised, DAY_START + timedelta(minutes=30), BEFORE, ARCADE_PRICES)
        clock.moment = DAY_START + timedelta(hours=2)  # 11:00 in Moscow
        uses = [
            {"key": "u-1", "customer": "W-200", "occurred_at": "2026-07-01T09:10:00+03:00"},
            {"key": "u-2", "customer": "W-200", "occurred_at": "2026-07-01T09:20:00+03:00", "product": "A1"},
            {"key": "u-3", "customer": "W-200", "occurred_at": "2026-07-01T09:40:00+03:00"},
        ]
        results = (await _upload(http, game.key, uses)).json()["results"]
        table = [
            (r["amount"], r["paid"], r["unpaid"], r["wallet"]["balance"], r["over_offline_limit"], r["result"])
            for r in results
        ]
        assert table == [
            ("2.50", "2.50", "0.00", "3.50", False, "charged"),
            ("1.20", "1.20", "0.00", "2.30", False, "charged"),
            ("3.00", "2.30", "0.70", "0.00", True, "short"),
        ]
        again = (await _upload(http, game.key, uses)).json()
        assert again["replayed"] == 3
    assert await account_balance(services, "prepaid", "partner", game.partner_id) == 600
    assert await verify(services.engine) == []


async def test_a_crashed_devices_expired_hold_is_released_before_an_offline_use_is_paid(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, _keys, _ = await _park(services, http)
        crashed = await add_device(services, net, "Crashy", "vending", {"per_use": "80.00"}, hold_ttl_seconds=60)
        held = await http.post("/v1/devices/holds", json={"customer": CARD}, headers=auth(crashed.key, new_key()))
        assert held.json()["wallet"]["balance"] == "20.00"
        kart = await add_device(services, net, "Kart", "arcade", {"per_use": "30.00"}, created_at=BEFORE)
        clock.moment = DAY_START + timedelta(minutes=10)
        results = (await _upload(http, kart.key, [{"key": "k", "customer": CARD, "occurred_at": at(5)}])).json()
        assert (results["results"][0]["result"], results["results"][0]["wallet"]["balance"]) == ("charged", "70.00")
    assert await account_balance(services, "held_money", "node", 0) == 0
    assert await verify(services.engine) == []


async def test_the_daily_spending_limit_bounds_what_an_offline_use_takes(park) -> None:
    services, clock = park
    async with client(services) as http:
        net, keys, _ = await _park(services, http)
        member_id = (await http.get(f"/v1/members/{CARD}/wallet", headers=auth(keys["Tickets"]))).json()["member"]
        limits = await http.put(
            f"/v1/admin/members/{member_id}/wallet",
            json={"daily_spend_limit": "4.00"},
            headers=auth(keys["admin"]),
        )
        assert limits.status_code == 200, limits.text
        arcade = await add_device(services, net, "Arcade 8", "arcade", ARCADE_PRICES, created_at=BEFORE)
        clock.moment = DAY_START + timedelta(hours=1)
        uses = [{"key": f"d-{n}", "customer": CARD, "occurred_at": at(n)} for n in range(2)]
        results = (await _upload(http, arcade.key, uses)).json()["results"]
        assert [(r["paid"], r["unpaid"]) for r in results] == [("2.50", "0.00"), ("1.50", "1.00")]
        assert results[1]["wallet"]["balance"] == "96.00"
    assert await verify(services.engine) == []


async def test_a_price_change_through_the_admin_api_keeps_what_earlier_uses_cost(park) -> None:
    """Registered through the admin API the day before at 2.50 a use; the administrator changes it to 3.00 at 10:00
    (PATCH); an upload at noon prices the 09:50 use at 2.50 and the 10:10 use at 3.00."""
    services, clock = park
    async with client(services) as http:
        _net, keys, partners = await _park(services, http)
        clock.moment = BEFORE
        body = {
            "partner_id": partners["Arcade"],
            "name": "Arcade 4",
            "kind": "arcade",
            "timezone": "Europe/Moscow",
            "price_list": {"per_use": "2.50"},
        }
        made = await http.post("/v1/admin/devices", json=body, headers=auth(keys["admin"], new_key()))
        assert made.status_code == 201, made.text
        device = made.json()
        clock.moment = DAY_START + timedelta(hours=1)
        changed = await http.patch(
            f"/v1/admin/devices/{device['id']}",
            json={"price_list": {"per_use": "3.00"}},
            headers=auth(keys["admin"], new_key()),
        )
        assert changed.status_code == 200, changed.text
        clock.moment = DAY_START + timedelta(hours=3)
        uses = [
            {"key": "before-the-change", "customer": CARD, "occurred_at": at(50)},
            {"key": "after-the-change", "customer": CARD, "occurred_at": at(70)},
        ]
        results = (await _upload(http, device["key"], uses)).json()["results"]
        assert [(r["result"], r["amount"]) for r in results] == [("charged", "2.50"), ("charged", "3.00")]
    assert await verify(services.engine) == []
