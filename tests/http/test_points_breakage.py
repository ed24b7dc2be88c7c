"""Points that expire unused: per network the node keeps the granting partner's obligation, returns the points'
value to it or shares it (issue 4), through the API on both engines, with the water park's partners.

The park's program grants 10 % of what is paid in money (1 point = 1.00) and, here, lets points live 30 days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.http.water_park import DAY_END, DAY_START, PROGRAM, buy, water_park
from tests.support import assert_problem, auth, balance_of, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

EXPIRING = replace(PROGRAM, points_expire_days=30)
A_MONTH_LATER = DAY_START + timedelta(days=31)  # every lot of the first day has expired


async def _set_policy(http, admin_key, policy, share_bp=None):
    body = {"policy": policy} | ({"share_bp": share_bp} if share_bp is not None else {})
    response = await http.put("/v1/admin/points-breakage", json=body, headers=auth(admin_key))
    assert response.status_code == 200, response.text
    assert response.json() == {"policy": policy, "share_bp": share_bp}


async def _close(http, admin_key, end, start=None):
    body = {"end": end.isoformat()} | ({"start": start.isoformat()} if start else {})
    closed = await http.post("/v1/admin/settlement/periods", json=body, headers=auth(admin_key))
    assert closed.status_code == 201, closed.text
    return closed.json()


def _lines(statement, *fields):
    return {line["name"]: tuple(line[field] for field in fields) for line in statement["partners"]}


async def _breakage_points(services) -> int:
    async with services.engine.connect() as connection:
        total = await connection.scalar(
            sa.text(
                "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
                "WHERE a.purpose = 'points_breakage'"
            )
        )
        return int(total)


@pytest.mark.parametrize(
    ("policy", "share_bp", "returned", "breakage"),
    [
        ("kept", None, "0.00", {"Tickets": "0.00", "Cafe": "0.00", "Photo": "0.00"}),
        ("returned", None, "128.00", {"Tickets": "50.00", "Cafe": "45.00", "Photo": "33.00"}),
        # 33.33 % of 50.00, 45.00 and 33.00, each rounded down: 16.665 → 16.66, 14.9985 → 14.99, 10.9989 → 10.99
        ("shared", 3333, "42.64", {"Tickets": "16.66", "Cafe": "14.99", "Photo": "10.99"}),
    ],
)
async def test_expired_points_are_kept_returned_or_shared_with_exact_numbers(
    park, policy, share_bp, returned, breakage
):
    services, clock = park
    admin_key, keys, partner_ids = await water_park(services, program=EXPIRING)
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await _set_policy(http, admin_key, policy, share_bp)
        read = await http.get("/v1/admin/points-breakage", headers=auth(admin_key))
        assert read.json() == {"policy": policy, "share_bp": share_bp}
        for card in ("7700-0101", "7700-0102", "7700-0103"):
            await enrol(http, keys["Tickets"], card)
        await buy(http, keys["Tickets"], "7700-0101", "2000.00")  # a Tickets lot of 200
        spent = await buy(http, keys["Cafe"], "7700-0101", "600.00", redeem=150)  # 50 left in it; a Cafe lot of 45
        assert (spent["points_earned"], spent["points_balance"]) == (45, 95)
        await buy(http, keys["Photo"], "7700-0102", "330.00")  # a Photo lot of 33
        arcade = await buy(http, keys["Arcade"], "7700-0103", "1000.00")  # an Arcade lot of 100 ...
        await buy(http, keys["Cafe"], "7700-0103", "200.00", redeem=100)  # ... spent at the café, which grants 10
        refund = await http.post(
            f"/v1/purchases/{arcade['id']}/refunds", json={"amount": "1000.00"}, headers=auth(keys["Arcade"], new_key())
        )
        assert refund.json()["points_balance"] == -90  # the 10 left are clawed back, 90 owed: a debt, no lot

        clock.moment = DAY_END + timedelta(hours=3)
        day = await _close(http, admin_key, DAY_END, start=DAY_START)
        assert _lines(day, "granted", "granted_refunded", "honoured", "breakage", "net") == {
            "Arcade": ("100.00", "100.00", "0.00", "0.00", "0.00"),
            "Cafe": ("55.00", "0.00", "250.00", "0.00", "195.00"),
            "Photo": ("33.00", "0.00", "0.00", "0.00", "-33.00"),
            "Tickets": ("200.00", "0.00", "0.00", "0.00", "-200.00"),
        }
        assert day["node"]["net"] == "38.00"  # the value of 95 + 33 − 90 points still on the cards

        clock.moment = A_MONTH_LATER
        assert await balance_of(http, keys["Tickets"], "7700-0101") == 0  # expired: shown at once, not swept yet
        job = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        assert job.status_code == 200, job.text
        assert job.json()["points"] == {
            "members": 2,
            "points": 95 + 33,
            "policy": {"policy": policy, "share_bp": share_bp},
            "returned_to_partners": returned,
        }
        balances = [await balance_of(http, keys["Tickets"], card) for card in ("7700-0101", "7700-0102", "7700-0103")]
        assert balances == [0, 0, -90]  # the debt is not breakage
        assert await _breakage_points(services) == 128

        clock.moment = A_MONTH_LATER + timedelta(hours=1)
        month = await _close(http, admin_key, A_MONTH_LATER + timedelta(minutes=30))
        released = policy != "kept"
        assert _lines(month, "granted", "honoured", "breakage", "net", "transactions") == {
            "Arcade": ("0.00", "0.00", "0.00", "0.00", 0),
            "Cafe": ("0.00", "0.00", breakage["Cafe"], breakage["Cafe"], int(released)),
            "Photo": ("0.00", "0.00", breakage["Photo"], breakage["Photo"], int(released)),
            "Tickets": ("0.00", "0.00", breakage["Tickets"], breakage["Tickets"], int(released)),
        }
        assert month["node"]["net"] == ("-" if released else "") + returned  # the node pays what it released
        entries = await http.get(
            f"/v1/admin/settlement/statements/2/partners/{partner_ids['Tickets']}", headers=auth(admin_key)
        )
        expected = [("expiry", None, breakage["Tickets"])] if released else []
        assert [(e["kind"], e["outlet"], e["amount"]) for e in entries.json()["entries"]] == expected
        table = await http.get("/v1/admin/settlement/statements/2?format=csv", headers=auth(admin_key))
        assert f"Tickets,0.00,0.00,0.00,0.00,{breakage['Tickets']},0.00,{breakage['Tickets']}," in table.text
    assert await verify(services.engine) == []


async def _open_lots_by_grantor(services, member_id: int) -> dict[int | None, int]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT l.granting_partner_id, SUM(l.remaining) FROM lots l "
                "JOIN member_balances b ON b.account_id = l.account_id "
                "WHERE b.member_id = :member AND l.remaining > 0 GROUP BY l.granting_partner_id"
            ),
            {"member": member_id},
        )
        return {row[0]: int(row[1]) for row in rows}


async def test_a_refund_gives_spent_points_back_with_their_grantor_and_purchases_and_batches_sweep_them(park):
    services, clock = park
    admin_key, keys, partner_ids = await water_park(services, program=EXPIRING)
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await _set_policy(http, admin_key, "returned")
        first = await enrol(http, keys["Tickets"], "7700-0201")
        await enrol(http, keys["Tickets"], "7700-0202")
        await buy(http, keys["Tickets"], "7700-0201", "2000.00")  # 200 points granted by Tickets
        cafe = await buy(http, keys["Cafe"], "7700-0201", "400.00", redeem=200)  # all of them spent; 20 earned
        refund = await http.post(
            f"/v1/purchases/{cafe['id']}/refunds", json={"amount": "400.00"}, headers=auth(keys["Cafe"], new_key())
        )
        assert (refund.json()["points_clawed_back"], refund.json()["points_returned"]) == (20, 200)
        # the 200 points come back as Tickets' points: Tickets still owes the node for them
        assert await _open_lots_by_grantor(services, first["member"]["id"]) == {partner_ids["Tickets"]: 200}
        await buy(http, keys["Photo"], "7700-0202", "1000.00")  # 100 points granted by Photo

        clock.moment = A_MONTH_LATER
        swept = await buy(http, keys["Photo"], "7700-0202", "100.00")  # a purchase sweeps the member's expired lot
        assert (swept["points_earned"], swept["points_balance"]) == (10, 10)
        item = {"idempotency_key": new_key(), "customer": "7700-0201", "amount": "50.00", "receipt": "B-1"}
        batch = await http.post("/v1/purchases/batch", json={"purchases": [item]}, headers=auth(keys["Arcade"]))
        assert batch.json()["results"][0]["body"]["points_balance"] == 5  # the batch swept the 200 first

        clock.moment = A_MONTH_LATER + timedelta(hours=1)
        statement = await _close(http, admin_key, A_MONTH_LATER + timedelta(minutes=30), start=DAY_START)
        assert _lines(statement, "granted", "granted_refunded", "honoured", "honoured_refunded", "breakage", "net") == {
            "Arcade": ("5.00", "0.00", "0.00", "0.00", "0.00", "-5.00"),
            "Cafe": ("20.00", "20.00", "200.00", "200.00", "0.00", "0.00"),
            "Photo": ("110.00", "0.00", "0.00", "0.00", "100.00", "-10.00"),
            "Tickets": ("200.00", "0.00", "0.00", "0.00", "200.00", "0.00"),
        }
        assert statement["node"]["net"] == "15.00"  # the 5 + 10 points on the cards
    assert await verify(services.engine) == []


BONUS_RULES = {
    "rules": [
        {
            "code": "welcome",
            "trigger": "enrolment",
            "scope": {"partners": ["Tickets"]},
            "effects": [{"accrue_fixed": {"points": 50}}],
        },
        {"code": "birthday", "trigger": "birthday", "effects": [{"accrue_fixed": {"points": 100}}]},
    ]
}


async def test_a_welcome_bonus_is_returned_to_its_partner_and_a_birthday_bonus_stays_the_nodes(park):
    services, clock = park
    admin_key, keys, partner_ids = await water_park(services, program=EXPIRING)
    ref = await services.admin.network("park")
    assert (await services.rules.save_draft(ref, BONUS_RULES))["errors"] == 0
    await services.rules.publish(ref, None)
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await _set_policy(http, admin_key, "returned")
        body = {
            "kind": "personal",
            "card_number": "7700-0301",
            "profile": {"birth_date": "1990-07-01", "consent_data_processing": True},
        }
        enrolled = await http.post("/v1/members", json=body, headers=auth(keys["Tickets"], new_key()))
        assert enrolled.json()["bonus"]["points"] == 50  # Tickets owes the node 50.00
        birthdays = await http.post("/v1/admin/jobs/birthdays", json={"date": "2026-07-01"}, headers=auth(admin_key))
        assert birthdays.json()["points"] == 100  # the node's own points: nobody owes for them
        member_id = enrolled.json()["member"]["id"]
        assert await _open_lots_by_grantor(services, member_id) == {partner_ids["Tickets"]: 50, None: 100}

        clock.moment = A_MONTH_LATER
        job = await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        assert (job.json()["points"]["points"], job.json()["points"]["returned_to_partners"]) == (150, "50.00")

        clock.moment = A_MONTH_LATER + timedelta(hours=1)
        statement = await _close(http, admin_key, A_MONTH_LATER + timedelta(minutes=30), start=DAY_START)
        tickets = _lines(statement, "granted", "breakage", "net", "transactions")["Tickets"]
        assert tickets == ("50.00", "50.00", "0.00", 2)
        assert statement["node"]["net"] == "0.00"
    async with services.engine.connect() as connection:
        postings = await connection.execute(
            sa.text(
                "SELECT a.purpose, a.owner_kind, p.amount FROM postings p JOIN accounts a ON a.id = p.account_id "
                "JOIN ledger_transactions t ON t.id = p.tx_id WHERE t.kind = 'expiry' ORDER BY p.amount"
            )
        )
        # one balanced transaction: the points to breakage, 50.00 from the node's obligations to Tickets'
        assert [tuple(row) for row in postings] == [
            ("obligations", "node", -5_000),
            ("member_points", "member", -150),
            ("points_breakage", "node", 150),
            ("obligations", "partner", 5_000),
        ]
    assert await verify(services.engine) == []


async def test_the_policy_is_kept_by_default_and_bad_input_is_refused_naming_the_field(park):
    services, _ = park
    admin_key, _, _ = await water_park(services)
    async with client(services) as http:
        read = await http.get("/v1/admin/points-breakage", headers=auth(admin_key))
        assert read.json() == {"policy": "kept", "share_bp": None}
        await _set_policy(http, admin_key, "shared", 2500)
        for body, field in (
            ({"policy": "lost"}, "policy"),
            ({"policy": 7}, "policy"),
            ({}, "policy"),
            ({"policy": "shared"}, "share_bp"),
            ({"policy": "shared", "share_bp": 10_001}, "share_bp"),
            ({"policy": "shared", "share_bp": -1}, "share_bp"),
            ({"policy": "shared", "share_bp": "25"}, "share_bp"),
            ({"policy": "shared", "share_bp": 12.5}, "share_bp"),
            ({"policy": "returned", "share_bp": 5_000}, "share_bp"),
            ({"policy": "kept", "share_bp": 0}, "share_bp"),
            ({"policy": "kept", "partner_share": 1}, "partner_share"),
        ):
            refused = await http.put("/v1/admin/points-breakage", json=body, headers=auth(admin_key))
            assert_problem(refused, 422, "invalid-input", field)
        unknown = await http.put("/v1/admin/points-breakage", json={"policy": "kept"}, headers=auth("adm_nobody"))
        assert unknown.status_code == 401
        after = await http.get("/v1/admin/points-breakage", headers=auth(admin_key))
        assert after.json() == {"policy": "shared", "share_bp": 2500}  # nothing was written
        for share_bp in (0, 10_000):  # the bounds are allowed
            await _set_policy(http, admin_key, "shared", share_bp)
        await _set_policy(http, admin_key, "kept")


async def _forge_expiry(connection, network_id: int, partner_id: int, amount_minor: int) -> None:
    """A balanced expiry transaction paying a partner without any of its points expiring (a forged breakage)."""
    accounts = await connection.execute(
        sa.text(
            "SELECT owner_kind, id FROM accounts WHERE network_id = :network AND purpose = 'obligations' "
            "AND (owner_kind = 'node' OR owner_id = :partner)"
        ),
        {"network": network_id, "partner": partner_id},
    )
    by_kind = {row[0]: row[1] for row in accounts}
    moment = A_MONTH_LATER + timedelta(hours=2)
    tx_id = await connection.scalar(
        sa.text(
            "INSERT INTO ledger_transactions (network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, "
            "recorded_at) VALUES (:network, 'expiry', NULL, NULL, 'forged', :moment, :moment) RETURNING id"
        ).bindparams(sa.bindparam("moment", type_=sa.DateTime(timezone=True))),
        {"network": network_id, "moment": moment},
    )
    for kind, amount in (("node", -amount_minor), ("partner", amount_minor)):
        await connection.execute(
            sa.text("INSERT INTO postings (tx_id, account_id, asset, amount) VALUES (:tx, :account, 'money:RUB', :a)"),
            {"tx": tx_id, "account": by_kind[kind], "a": amount},
        )


async def test_verify_finds_breakage_paid_to_a_partner_whose_points_did_not_expire_or_an_edited_statement(park):
    from sqlalchemy.exc import DBAPIError

    services, clock = park
    admin_key, keys, partner_ids = await water_park(services, program=EXPIRING)
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        await _set_policy(http, admin_key, "returned")
        await enrol(http, keys["Tickets"], "7700-0401")
        await buy(http, keys["Tickets"], "7700-0401", "1000.00")
        clock.moment = A_MONTH_LATER
        await http.post("/v1/admin/jobs/expire", headers=auth(admin_key))
        clock.moment = A_MONTH_LATER + timedelta(hours=1)
        await _close(http, admin_key, A_MONTH_LATER + timedelta(minutes=30), start=DAY_START)
    assert await verify(services.engine) == []
    network_id = (await services.admin.network("park")).id

    async with services.engine.begin() as connection:
        await _forge_expiry(connection, network_id, partner_ids["Photo"], 1_000)
    assert {violation.check.name for violation in await verify(services.engine)} == {"breakage-returned-to-grantors"}

    move = sa.text(
        "UPDATE settlement_lines SET granted_minor = granted_minor + 100, breakage_minor = breakage_minor + 100 "
        "WHERE partner_id = :partner"
    )  # the net stays: only the breakage figure disagrees with the ledger
    if services.engine.dialect.name == "postgresql":  # a closed statement and a lot's grantor cannot be edited
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.engine.begin() as connection:
                await connection.execute(move, {"partner": partner_ids["Tickets"]})
        with pytest.raises(DBAPIError, match="changing a key or reference column of lots refused"):
            async with services.engine.begin() as connection:
                await connection.execute(sa.text("UPDATE lots SET granting_partner_id = NULL"))
        return
    async with services.engine.begin() as connection:
        await connection.execute(move, {"partner": partner_ids["Tickets"]})
    found = {violation.check.name for violation in await verify(services.engine)}
    assert found == {"breakage-returned-to-grantors", "statements-breakage-match-ledger"}

    stranger = await services.admin.create_partner((await make_network(services, "other")).ref, "Stranger")
    async with services.engine.begin() as connection:  # a lot said to be granted by another network's partner
        await connection.execute(sa.text("UPDATE lots SET granting_partner_id = :partner"), {"partner": stranger["id"]})
    found = {violation.check.name for violation in await verify(services.engine)}
    assert "lots-granted-within-network" in found
