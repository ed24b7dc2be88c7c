"""Points expiry through the API: expired lots stop counting at once and are swept to breakage when touched."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.application.admin import NetworkRef
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import auth, buy, client, enrol

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


@pytest.fixture()
async def expiring(settings: Settings):
    clock = Clock()
    services = build_services(settings, clock=clock)
    program = replace(SMALL_SHOP_PROGRAM, points_expire_days=30)
    created = await services.admin.create_network("expiring", "Expiring points", "RUB", program)
    ref = NetworkRef(created["id"], "expiring", created["name"], "RUB")
    partner = await services.admin.create_partner(ref, "Shop")
    outlet = await services.admin.create_outlet(ref, partner["id"], "Till", "UTC")
    key = (await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"]
    try:
        yield services, clock, key
    finally:
        await services.close()


async def _breakage(services) -> int:
    async with services.engine.connect() as connection:
        return int(
            await connection.scalar(
                sa.text(
                    "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
                    "WHERE a.purpose = 'points_breakage'"
                )
            )
        )


async def test_expired_points_stop_counting_and_are_swept_by_the_next_purchase(expiring):
    services, clock, key = expiring
    async with client(services) as http:
        await enrol(http, key, "3001")
        assert (await buy(http, key, "3001", "5000.00")).json()["points_balance"] == 150
        clock.moment += timedelta(days=10)
        assert (await buy(http, key, "3001", "2000.00")).json()["points_balance"] == 210  # a second lot of 60

        clock.moment += timedelta(days=21)  # the first lot (150) expired a day ago; the second has 9 days left
        member = (await http.get("/v1/members/3001", headers=auth(key))).json()
        assert member["points_balance"] == 60
        assert member["next_expiry"]["points"] == 60
        assert await _breakage(services) == 0  # nothing swept yet: only shown

        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": "3001", "amount": "2000.00", "redeem_points": 61},
            headers=auth(key),
        )
        assert quote.status_code == 409  # the expired points cannot be spent

        spent = await buy(http, key, "3001", "2000.00", redeem=60)
        assert spent.status_code == 201, spent.text
        assert spent.json()["points_balance"] == 58  # 60 − 60 + 3 % of 1,940.00
        assert await _breakage(services) == 150
        statement = await http.get("/v1/admin/members/3001/statement", headers=auth(key))
        assert statement.status_code == 401  # the statement needs the admin key, not a terminal's
    assert await verify(services.engine) == []


async def test_the_batch_path_sweeps_expired_points_too(expiring):
    services, clock, key = expiring
    async with client(services) as http:
        await enrol(http, key, "3002")
        await buy(http, key, "3002", "5000.00")
        clock.moment += timedelta(days=31)
        response = await http.post(
            "/v1/purchases/batch",
            json={"purchases": [{"idempotency_key": "x1", "customer": "3002", "amount": "1000.00", "receipt": "B1"}]},
            headers=auth(key),
        )
        assert response.json()["results"][0]["body"]["points_balance"] == 30
        assert await _breakage(services) == 150
    assert await verify(services.engine) == []


async def test_expire_sweeps_every_member_with_expired_points_at_once(expiring):
    services, clock, key = expiring
    async with client(services) as http:
        for card, amount in (("3101", "5000.00"), ("3102", "1000.00"), ("3103", "2000.00")):
            await enrol(http, key, card)
            await buy(http, key, card, amount)
        clock.moment += timedelta(days=20)
        await buy(http, key, "3103", "1000.00")  # a younger lot of 30 that has not expired yet
        clock.moment += timedelta(days=11)
        network_id = (await services.admin.network("expiring")).id
        seen: list[tuple[int, int]] = []
        result = await services.pos.expire_points(network_id, lambda done, total: seen.append((done, total)))
        kept = {"policy": {"policy": "kept", "share_bp": None}, "returned_to_partners": "0.00"}
        assert result == {"members": 3, "points": 150 + 30 + 60} | kept
        assert seen[-1] == (3, 3)
        assert await _breakage(services) == 240
        again = await services.pos.expire_points(network_id)
        assert again == {"members": 0, "points": 0} | kept
        member = (await http.get("/v1/members/3103", headers=auth(key))).json()
        assert member["points_balance"] == 30
    assert await verify(services.engine) == []
