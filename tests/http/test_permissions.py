"""The permissions matrix: outlet × counter × operation, 403 with the reason outside it (issue 4, point 3)."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from tests.http.test_gifts import _network_with_gift_rules
from tests.http.water_park import DAY_START, buy
from tests.support import assert_problem, auth, client, enrol, new_key, table_counts

pytestmark = pytest.mark.anyio

MATRIX = {
    "entries": [
        {"outlet": "Tickets desk", "counter": "points", "operations": ["accrue"]},
        {"outlet": "Tickets desk", "counter": "gift:free-photo", "operations": ["grant"]},
        {"outlet": "Cafe desk", "counter": "points", "operations": ["accrue", "spend"]},
        {"outlet": "Photo desk", "counter": "points", "operations": ["accrue"]},
    ]
}


async def test_outlets_may_do_only_what_the_matrix_lists(park, settings):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        admin_key, keys, _ = await _network_with_gift_rules(services, http)
        await enrol(http, keys["Tickets"], "9900-0001")
        open_matrix = await http.get("/v1/admin/permissions", headers=auth(admin_key))
        assert open_matrix.json() == {"defined": False, "entries": []}
        # with no matrix every outlet may do everything: the photo booth hands over a gift
        [gift] = (await buy(http, keys["Tickets"], "9900-0001", "2000.00"))["gifts_granted"]

        stored = await http.put("/v1/admin/permissions", json=MATRIX, headers=auth(admin_key))
        assert stored.status_code == 200, stored.text
        assert stored.json()["defined"] is True
        assert {"outlet": "Cafe desk", "counter": "points", "operations": ["accrue", "spend"]} in stored.json()[
            "entries"
        ]

        before = await table_counts(services)
        spend_at_tickets = await http.post(
            "/v1/purchases",
            json={"customer": "9900-0001", "amount": "1000.00", "redeem_points": 10, "receipt": new_key()},
            headers=auth(keys["Tickets"], new_key()),
        )
        problem = assert_problem(spend_at_tickets, 403, "forbidden")
        assert problem["detail"] == (
            "outlet 'Tickets desk' may not spend points: the network's permissions matrix does not allow it"
        )
        earn_at_arcade = await http.post(
            "/v1/purchases",
            json={"customer": "9900-0001", "amount": "100.00", "receipt": new_key()},
            headers=auth(keys["Arcade"], new_key()),
        )
        assert "may not accrue points" in assert_problem(earn_at_arcade, 403, "forbidden")["detail"]
        honour = await http.post(f"/v1/gifts/{gift['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert "may not honour gift:free-photo" in assert_problem(honour, 403, "forbidden")["detail"]
        assert await table_counts(services) == before

        # what the matrix lists goes through
        assert (await buy(http, keys["Cafe"], "9900-0001", "600.00", redeem=100))["points_redeemed"] == 100
        batch = await http.post(
            "/v1/purchases/batch",
            json={
                "purchases": [
                    {"customer": "9900-0001", "amount": "100.00", "receipt": new_key(), "idempotency_key": new_key()}
                ]
            },
            headers=auth(keys["Arcade"]),
        )
        assert batch.json()["results"][0]["status"] == 403

        bad = await http.put(
            "/v1/admin/permissions",
            json={"entries": [{"outlet": "Nowhere", "counter": "points", "operations": ["accrue"]}]},
            headers=auth(admin_key),
        )
        assert_problem(bad, 422, "invalid-input", "entries[0].outlet")
        for entry, field in (
            ({"outlet": "Cafe desk", "counter": "stars", "operations": ["accrue"]}, "entries[0].counter"),
            ({"outlet": "Cafe desk", "counter": "points", "operations": ["steal"]}, "entries[0].operations[0]"),
        ):
            refused = await http.put("/v1/admin/permissions", json={"entries": [entry]}, headers=auth(admin_key))
            assert_problem(refused, 422, "invalid-input", field)
        assert (await http.get("/v1/admin/permissions", headers=auth(admin_key))).json() == stored.json()

    shown = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, ["permissions", "show", "park", "--database-url", settings.database_url])
    )
    assert shown.exit_code == 0 and "gift:free-photo" in shown.output, shown.output

    async with client(services) as http:
        cleared = await http.put("/v1/admin/permissions", json={"entries": []}, headers=auth(admin_key))
        assert cleared.json()["defined"] is False
        again = await http.post(
            "/v1/purchases",
            json={"customer": "9900-0001", "amount": "100.00", "receipt": new_key()},
            headers=auth(keys["Arcade"], new_key()),
        )
        assert again.status_code == 201, again.text
