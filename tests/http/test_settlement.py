"""Settlement of a water park's day among its partners, through the API and the CLI (issue 4), on both engines.

The day: two visitors buy tickets (the ticket office grants 10 % in points), spend points at the café, the photo
booth and the arcade (each of which grants 10 % on what is paid in money), and one ticket is partly refunded.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key

pytestmark = pytest.mark.anyio


async def test_a_water_park_day_is_settled_with_exact_numbers(park, settings):
    services, clock = park
    admin_key, keys, partner_ids = await water_park(services)
    async with client(services) as http:
        clock.moment = DAY_START + timedelta(hours=1)
        await enrol(http, keys["Tickets"], "7700-0001")
        await enrol(http, keys["Tickets"], "7700-0002")
        await buy(http, keys["Tickets"], "7700-0001", "2000.00")  # +200 points: Tickets owes 200.00
        ticket = await buy(http, keys["Tickets"], "7700-0002", "3000.00")  # +300: owes 300.00
        await buy(http, keys["Cafe"], "7700-0001", "600.00", redeem=150)  # honours 150.00, grants 45 points
        await buy(http, keys["Photo"], "7700-0002", "400.00", redeem=200)  # honours 200.00, grants 20
        await buy(http, keys["Arcade"], "7700-0002", "500.00", redeem=100)  # honours 100.00, grants 40
        refund = await http.post(
            f"/v1/purchases/{ticket['id']}/refunds",
            json={"amount": "1000.00"},
            headers=auth(keys["Tickets"], new_key()),
        )
        assert refund.status_code == 201, refund.text  # takes back 100 points: Tickets owes 100.00 less

        clock.moment = DAY_END + timedelta(hours=3)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )
        assert closed.status_code == 201, closed.text
        statement = closed.json()
        lines = {line["name"]: line for line in statement["partners"]}
        assert {
            name: (line["granted"], line["granted_refunded"], line["honoured"], line["net"])
            for name, line in lines.items()
        } == {
            "Arcade": ("40.00", "0.00", "100.00", "60.00"),
            "Cafe": ("45.00", "0.00", "150.00", "105.00"),
            "Photo": ("20.00", "0.00", "200.00", "180.00"),
            "Tickets": ("500.00", "100.00", "0.00", "-400.00"),
        }
        # the node holds the value of the 55 points granted today and not yet spent (95 and −40 on the two cards)
        assert statement["node"]["net"] == "55.00"
        assert [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["through_node"]] == [
            ("settlement node", "Arcade", "60.00"),
            ("settlement node", "Cafe", "105.00"),
            ("settlement node", "Photo", "180.00"),
            ("Tickets", "settlement node", "400.00"),
        ]
        assert [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["direct"]] == [
            ("Tickets", "Photo", "180.00"),
            ("Tickets", "Cafe", "105.00"),
            ("Tickets", "Arcade", "60.00"),
            ("Tickets", "settlement node", "55.00"),
        ]

        # a partner checks its entries line by line: they add up to its net
        entries = await http.get(
            f"/v1/admin/settlement/statements/1/partners/{partner_ids['Tickets']}", headers=auth(admin_key)
        )
        amounts = [entry["amount"] for entry in entries.json()["entries"]]
        assert amounts == ["-200.00", "-300.00", "100.00"]

        # closing it again, an end before the open period's start, or an end too recent are refused
        again = await http.post(
            "/v1/admin/settlement/periods", json={"end": DAY_END.isoformat()}, headers=auth(admin_key)
        )
        assert_problem(again, 409, "conflict", "end")
        first_close = {"start": DAY_START.isoformat(), "end": DAY_END.isoformat()}
        retried = await http.post("/v1/admin/settlement/periods", json=first_close, headers=auth(admin_key))
        assert_problem(retried, 409, "conflict", "end")  # the very request that closed it, sent again
        overlapping = {"start": DAY_START.isoformat(), "end": (DAY_END + timedelta(hours=1)).isoformat()}
        wrong_start = await http.post("/v1/admin/settlement/periods", json=overlapping, headers=auth(admin_key))
        assert "the open period starts at" in assert_problem(wrong_start, 422, "invalid-input", "start")["detail"]
        too_recent = await http.post(
            "/v1/admin/settlement/periods", json={"end": clock.moment.isoformat()}, headers=auth(admin_key)
        )
        assert_problem(too_recent, 422, "invalid-input", "end")

        # an offline till uploads a sale of yesterday: it lands in the open period, with its own time shown
        late = await buy(
            http, keys["Cafe"], "7700-0001", "100.00", occurred_at=(DAY_END - timedelta(hours=5)).isoformat()
        )
        assert late["points_earned"] == 10
        clock.moment = DAY_END + timedelta(days=1, hours=3)
        second = await http.post(
            "/v1/admin/settlement/periods",
            json={"end": (DAY_END + timedelta(days=1)).isoformat()},
            headers=auth(admin_key),
        )
        assert second.status_code == 201, second.text
        assert second.json()["period"]["start"] == DAY_END.isoformat()
        cafe = {line["name"]: line for line in second.json()["partners"]}["Cafe"]
        assert (cafe["granted"], cafe["net"]) == ("10.00", "-10.00")
        cafe_entries = await http.get(
            f"/v1/admin/settlement/statements/2/partners/{partner_ids['Cafe']}", headers=auth(admin_key)
        )
        [entry] = cafe_entries.json()["entries"]
        assert entry["occurred_at"] == (DAY_END - timedelta(hours=5)).isoformat()

        table = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=auth(admin_key))
        rows = list(csv.reader(io.StringIO(table.text)))
        assert rows[0][0] == "party" and ["settlement node", "", "", "", "", "", "", "55.00", ""] in rows
        listing = await http.get("/v1/admin/settlement/statements", headers=auth(admin_key))
        assert [s["number"] for s in listing.json()["statements"]] == [1, 2]

    arguments = ["settle", "show", "park", "1", "--format", "csv", "--database-url", settings.database_url]
    shown = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, arguments))  # the CLI runs its own loop
    assert shown.exit_code == 0, shown.output
    assert "Tickets,500.00,100.00,0.00,0.00,0.00,0.00,-400.00" in shown.output
    third_end = (DAY_END + timedelta(days=2)).isoformat()
    closing = ["settle", "close", "park", "--end", third_end, "--database-url", settings.database_url]
    closed = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, closing))
    assert closed.exit_code == 0, closed.output
    assert "4/4" in closed.output and "statement 3" in closed.output  # the progress bar went over the 4 partners
    assert await verify(services.engine) == []


async def test_a_period_ending_before_it_starts_is_refused_and_nothing_is_stored(park):
    services, clock = park
    admin_key, _, _ = await water_park(services)
    clock.moment = DAY_END + timedelta(days=1)
    async with client(services) as http:
        backwards = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_END.isoformat(), "end": DAY_START.isoformat()},
            headers=auth(admin_key),
        )
        assert_problem(backwards, 422, "invalid-input", "end")
        naive = await http.post(
            "/v1/admin/settlement/periods", json={"end": "2026-07-01T21:00:00"}, headers=auth(admin_key)
        )
        assert naive.status_code == 422
        listed = (await http.get("/v1/admin/settlement/statements", headers=auth(admin_key))).json()
        assert listed == {"statements": [], "next_cursor": None}


@pytest.mark.postgres
async def test_two_closes_at_once_produce_one_statement(pg_database_url):
    clock = Clock()
    services = build_services(
        Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"), clock=clock
    )
    try:
        admin_key, keys, _ = await water_park(services)
        async with client(services) as http:
            await enrol(http, keys["Tickets"], "7700-0101")
            await buy(http, keys["Tickets"], "7700-0101", "1000.00")
            clock.moment = DAY_END + timedelta(hours=1)
            body = {"start": DAY_START.isoformat(), "end": DAY_END.isoformat()}
            answers = await asyncio.gather(
                *(http.post("/v1/admin/settlement/periods", json=body, headers=auth(admin_key)) for _ in range(5))
            )
            assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409]
            listing = await http.get("/v1/admin/settlement/statements", headers=auth(admin_key))
            assert len(listing.json()["statements"]) == 1
    finally:
        await services.close()


async def test_settlement_fees_are_charged_to_partners_and_shown_on_their_own_line(park):
    services, clock = park
    admin_key, keys, _ = await water_park(services)
    async with client(services) as http:
        refused = await http.put(
            "/v1/admin/settlement/fees", json={"percent_of_granted": "101"}, headers=auth(admin_key)
        )
        assert_problem(refused, 422, "invalid-input", "percent_of_granted")
        fees = await http.put(
            "/v1/admin/settlement/fees",
            json={"per_transaction": "0.50", "percent_of_granted": "1.5"},
            headers=auth(admin_key),
        )
        assert fees.json() == {"per_transaction": "0.50", "percent_of_granted": "1.5", "currency": "RUB"}
        clock.moment = DAY_START + timedelta(hours=1)
        await enrol(http, keys["Tickets"], "7700-0201")
        await buy(http, keys["Tickets"], "7700-0201", "1234.00")  # grants 123 points: 123.00
        await buy(http, keys["Cafe"], "7700-0201", "200.00", redeem=100)  # honours 100.00, grants 10.00
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )
        lines = {line["name"]: line for line in closed.json()["partners"]}
        # Tickets: 0.50 × 1 transaction + 1.5 % of 123.00 = 1.845, rounded down to 1.84 → 2.34
        assert (lines["Tickets"]["fees"], lines["Tickets"]["net"]) == ("2.34", "-125.34")
        # Cafe: 0.50 + 1.5 % of 10.00 = 0.15 → 0.65; net 100.00 − 10.00 − 0.65
        assert (lines["Cafe"]["fees"], lines["Cafe"]["net"]) == ("0.65", "89.35")
        assert closed.json()["node"]["net"] == "35.99"  # 125.34 − 89.35: what the node keeps, fees included


async def test_verify_finds_a_statement_that_no_longer_matches_the_ledger(park):
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    services, clock = park
    admin_key, keys, partner_ids = await water_park(services)
    async with client(services) as http:
        clock.moment = DAY_START + timedelta(hours=1)
        await enrol(http, keys["Tickets"], "7700-0301")
        await buy(http, keys["Tickets"], "7700-0301", "1000.00")
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=auth(admin_key),
        )
        assert closed.status_code == 201, closed.text
    assert await verify(services.engine) == []
    tamper = sa.text(
        "UPDATE settlement_lines SET granted_minor = granted_minor - 100, net_minor = net_minor + 100 "
        "WHERE partner_id = :partner"
    )
    if services.engine.dialect.name == "postgresql":  # a closed statement cannot be edited at all
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.engine.begin() as connection:
                await connection.execute(tamper, {"partner": partner_ids["Tickets"]})
        assert await verify(services.engine) == []
        return
    async with services.engine.begin() as connection:
        await connection.execute(tamper, {"partner": partner_ids["Tickets"]})
    found = {violation.check.name for violation in await verify(services.engine)}
    assert found == {"statements-balance", "statements-match-ledger"}
