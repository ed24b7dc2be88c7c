"""The worked example of docs/devices_water_park.md, end to end through the API on both engines (issue 15, "Done
when"): a day of devices at the water park.

Everything the guests do goes through a machine and its own key: the kiosk enrols them, takes their cash onto the card
and sells the day ticket (which grants a free lemonade); the gate starts and ends their visits (points that end with
the visit, the exit's reset); the arcade game charges per use, the café's dispenser per slot (and hands over the
lemonade), the billiard table by the minute; a photo machine holds money and crashes, and the expire job gives it
back. Then July is closed. The devices, rules and every table come from the page, so page and test cannot drift.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.http.device_charge_support import Device, add_device
from tests.http.test_water_park_day import markdown_tables
from tests.http.test_water_park_money import documented_flows, documented_rules
from tests.http.water_park import Clock, water_park
from tests.support import assert_problem, auth, client, enrol, new_key, signed_minor, table_counts

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "devices_water_park.md"
MOSCOW = ZoneInfo("Europe/Moscow")
ANNA, BORIS = "7700-3001", "7700-3002"
MONTH_START = datetime(2026, 7, 1, tzinfo=MOSCOW).astimezone(UTC)
MONTH_END = datetime(2026, 8, 1, tzinfo=MOSCOW).astimezone(UTC)
FREE_LEMONADE = {"code": "free-lemonade", "name": "A free lemonade", "price": "150.00", "partners": ["Cafe"]}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def at(clock: Clock, day: int, hour: int, minute: int = 0, second: int = 0, month: int = 7) -> None:
    """Move the park's clock to a time of 2026 in Moscow."""
    clock.moment = datetime(2026, month, day, hour, minute, second, tzinfo=MOSCOW).astimezone(UTC)


def opening_hours(cell: str) -> dict[str, Any] | None:
    """The page's hours ("always", "every day 10:00–22:00") as the devices' opening_hours JSON."""
    if cell == "always":
        return None
    [(start, end)] = re.findall(r"^every day (\d\d:\d\d)–(\d\d:\d\d)$", cell)
    return {day: [[start, end]] for day in DAYS}


async def documented_devices(services, network, partner_ids: dict[str, int], text: str) -> dict[str, Device]:
    """The page's devices, registered under their partners with their price lists, hours and hold times."""
    [table] = [t for t in markdown_tables(text) if t[0][0] == "device" and t[0][1] == "partner"]
    devices = {}
    for name, partner, kind, prices, hours, hold_time in table[1:]:
        devices[name] = await add_device(
            services,
            network,
            name,
            kind,
            json.loads(prices.strip("`")),
            hours=opening_hours(hours),
            hold_ttl_seconds=int(hold_time.removesuffix(" s")),
            partner_id=partner_ids[partner],
        )
    return devices


async def takings(services, device: Device) -> tuple[int, int]:
    """A device's uses and takings as the design defines them: its device_charge transactions (their outlet is the
    device's) and their postings on its partner's PREPAID account."""
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.text(
                    "SELECT COUNT(DISTINCT t.id) AS uses, COALESCE(SUM(p.amount), 0) AS taken "
                    "FROM ledger_transactions t JOIN postings p ON p.tx_id = t.id "
                    "JOIN accounts a ON a.id = p.account_id AND a.purpose = 'prepaid' AND a.owner_kind = 'partner' "
                    "WHERE t.kind = 'device_charge' AND t.outlet_id = :outlet"
                ),
                {"outlet": device.outlet_id},
            )
        ).one()
    return int(row.uses), int(row.taken)


async def test_a_day_of_devices_at_the_water_park_settles_with_the_numbers_of_the_docs(park):
    services, clock = park
    text = DOC.read_text()
    at(clock, 1, 9)
    admin_key, _desks, partner_ids = await water_park(services)
    admin = auth(admin_key)
    network = await services.admin.network("park")
    devices = await documented_devices(services, network, partner_ids, text)
    kiosk, gate, arcade = devices["Kiosk"].key, devices["Gate"].key, devices["Arcade game"].key
    table, drinks, photo = devices["Billiard table"].key, devices["Drinks"].key, devices["Photo print"].key

    async def post(key: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return await http.post(path, json=body, headers=auth(key, new_key()))

    async def wallet_balance(card: str) -> str:
        answer = await http.get(f"/v1/members/{card}/wallet", headers=auth(kiosk))
        assert answer.status_code == 200, answer.text
        return str(answer.json()["balance"])

    async def points(card: str) -> int:
        answer = await http.get(f"/v1/members/{card}", headers=auth(kiosk))
        assert answer.status_code == 200, answer.text
        return int(answer.json()["points_balance"])

    async with client(services) as http:
        at(clock, 1, 9, 10)
        catalogue = await http.post("/v1/admin/gift-types", json=FREE_LEMONADE, headers=admin)
        assert catalogue.status_code == 201, catalogue.text
        draft = await http.put(
            "/v1/admin/rule-sets/draft",
            content=documented_rules(text),
            headers=admin | {"Content-Type": "application/yaml"},
        )
        assert draft.status_code == 200, draft.text
        published = await http.post("/v1/admin/rule-sets/draft/publish", headers=admin)
        assert published.status_code == 200, published.text

        # 09:30: Anna enrols at the kiosk, puts 3,000.00 in cash into it and buys her day ticket from the card
        lemonades = {}
        for card, minute, cash in ((ANNA, 30, "3000.00"), (BORIS, 35, "2500.00")):
            at(clock, 1, 9, minute)
            await enrol(http, kiosk, card)
            topped = await post(kiosk, "/v1/devices/top-ups", {"customer": card, "amount": cash})
            assert topped.status_code == 201, topped.text
            assert (topped.json()["topped_up"], topped.json()["balance"]) == (cash, cash)
            at(clock, 1, 9, minute + 1)
            ticket = await post(
                kiosk,
                "/v1/purchases",
                {"customer": card, "amount": "1500.00", "receipt": new_key(), "tenders": [{"kind": "wallet"}]},
            )
            assert ticket.status_code == 201, ticket.text
            assert (ticket.json()["to_collect"], ticket.json()["points_earned"]) == ("0.00", 0)
            [lemonades[card]] = ticket.json()["gifts_granted"]
            assert lemonades[card]["gift_type"] == "free-lemonade"
        assert (await wallet_balance(ANNA), await wallet_balance(BORIS)) == ("1500.00", "1000.00")

        # 09:40: the gate lets them in; the entry gives 100 points that end with the visit
        visits = {}
        for card, minute in ((ANNA, 40), (BORIS, 45)):
            at(clock, 1, 9, minute)
            entered = await post(gate, "/v1/visits", {"customer": card})
            assert entered.status_code == 201, entered.text
            assert (entered.json()["entry_outlet"], entered.json()["state"]) == ("Gate machine", "open")
            assert entered.json()["bonus"] == {"points": 100, "rules": ["entry-bonus"]}
            visits[card] = entered.json()["id"]

        # 09:50: the billiard table opens at 10:00
        at(clock, 1, 9, 50)
        before = await table_counts(services)
        closed = await post(table, "/v1/devices/sessions", {"customer": BORIS, "max_minutes": 60})
        assert_problem(closed, 409, "device-closed", "device")
        assert await table_counts(services) == before

        # 10:30: three games at the arcade, 50.00 and 10 points each
        asked = await http.post("/v1/devices/authorize", json={"customer": ANNA}, headers=auth(arcade))
        assert asked.status_code == 200, asked.text
        assert (asked.json()["allowed"], asked.json()["price"], asked.json()["uses"]) == (True, "50.00", 30)
        for minute, balance, points_after in ((30, "1450.00", 110), (35, "1400.00", 120), (40, "1350.00", 130)):
            at(clock, 1, 10, minute)
            played = await post(arcade, "/v1/devices/charges", {"customer": ANNA})
            assert played.status_code == 201, played.text
            assert (played.json()["amount"], played.json()["wallet"]["balance"]) == ("50.00", balance)
            assert played.json()["rewards"]["points_balance"] == points_after
            assert played.json()["rewards"]["bonus"] == {"points": 10, "rules": ["arcade-play"]}

        # 11:00: the café's dispenser hands Anna her free lemonade, then pours her a water
        at(clock, 1, 11)
        handed = await post(drinks, f"/v1/gifts/{lemonades[ANNA]['id']}/honour")
        assert (handed.status_code, handed.json()["price"]) == (200, "150.00"), handed.text
        at(clock, 1, 11, 1)
        water = await post(drinks, "/v1/devices/charges", {"customer": ANNA, "product": "A1"})
        assert water.status_code == 201, water.text
        assert (water.json()["amount"], water.json()["wallet"]["balance"]) == ("80.00", "1270.00")

        # 12:00: Boris plays billiards for at most 60 minutes: 600.00 held; stopped at 12:47:10, 48 minutes paid
        at(clock, 1, 12)
        session = await post(table, "/v1/devices/sessions", {"customer": BORIS, "max_minutes": 60})
        assert session.status_code == 201, session.text
        assert (session.json()["amount"], session.json()["wallet"]["balance"]) == ("600.00", "400.00")
        at(clock, 1, 12, 47, 10)
        stopped = await post(table, f"/v1/devices/sessions/{session.json()['session']}/stop")
        assert stopped.status_code == 200, stopped.text
        assert (stopped.json()["minutes"], stopped.json()["captured"], stopped.json()["released"]) == (
            48,
            "480.00",
            "120.00",
        )
        assert stopped.json()["wallet"]["balance"] == "520.00"
        assert stopped.json()["rewards"]["bonus"] == {"points": 20, "rules": ["billiard-points"]}
        assert await points(BORIS) == 120

        # 13:00: the photo machine holds a print's price and crashes; restarted at 13:10, its capture is refused
        at(clock, 1, 13)
        held = await post(photo, "/v1/devices/holds", {"customer": ANNA})
        assert held.status_code == 201, held.text
        assert (held.json()["amount"], held.json()["wallet"]["balance"]) == ("300.00", "970.00")
        assert await verify(services.engine) == []  # the node's HELD_MONEY is the open hold
        at(clock, 1, 13, 10)
        late = await post(photo, f"/v1/devices/holds/{held.json()['hold']}/capture")
        assert_problem(late, 409, "hold-not-open", "hold")

        # 13:15: the expire job gives the money back
        at(clock, 1, 13, 15)
        expired = await http.post("/v1/admin/jobs/expire", headers=admin)
        assert expired.status_code == 200, expired.text
        assert expired.json()["device_holds"] == {"holds": 1, "amount_minor": 30_000}
        assert await wallet_balance(ANNA) == "1270.00"
        assert await verify(services.engine) == []

        # 13:30: Anna leaves: her 130 visit points expire, there is nothing else to reset
        at(clock, 1, 13, 30)
        left = await post(gate, f"/v1/visits/{visits[ANNA]}/end")
        assert left.status_code == 200, left.text
        assert (left.json()["exit_outlet"], left.json()["points_expired"], left.json()["points_balance"]) == (
            "Gate machine",
            130,
            0,
        )
        assert left.json()["reset"] == {"points": 0, "gifts": [], "rules": ["exit-reset"]}

        # 13:45: Boris leaves: his 100 entry points expire, the reset takes the table's 20; his lemonade, granted
        # before he came in, is not the visit's: it stays valid for its day
        at(clock, 1, 13, 45)
        left = await post(gate, f"/v1/visits/{visits[BORIS]}/end")
        assert left.status_code == 200, left.text
        assert (left.json()["points_expired"], left.json()["points_balance"]) == (100, 0)
        assert left.json()["reset"] == {"points": 20, "gifts": [], "rules": ["exit-reset"]}
        assert (await wallet_balance(ANNA), await wallet_balance(BORIS)) == ("1270.00", "520.00")
        assert (await points(ANNA), await points(BORIS)) == (0, 0)

        # 2 July, 10:00: the lemonade's day is over; the expire job expires it, the node keeps its price
        at(clock, 2, 10)
        expired = await http.post("/v1/admin/jobs/expire", headers=admin)
        assert expired.status_code == 200, expired.text
        assert expired.json()["gifts"] == {"gifts": 1, "released": 0, "policy": "kept"}
        assert expired.json()["device_holds"] == {"holds": 0, "amount_minor": 0}
        late_lemonade = await post(drinks, f"/v1/gifts/{lemonades[BORIS]['id']}/honour")
        assert_problem(late_lemonade, 409, "conflict", "gift_id")

        # each card's history, as the page shows it: the ledger's movements of the wallet, a device's in its name
        [documented_history] = [t for t in markdown_tables(text) if t[0][0] == "card"]
        history = []
        for name, card in (("Anna", ANNA), ("Boris", BORIS)):
            lines = await http.get(f"/v1/members/{card}/wallet/history", headers=auth(kiosk))
            assert lines.status_code == 200, lines.text
            history += [
                [name, line["outlet"].removesuffix(" machine"), line["kind"], line["amount"], line["balance_after"]]
                for line in lines.json()["lines"]
            ]
        assert documented_history[1:] == history

        # what each machine took, as the page shows it
        [documented_takings] = [t for t in markdown_tables(text) if t[0] == ["device", "uses", "takings"]]
        assert documented_takings[1:] == [
            [name, str(uses), f"{taken // 100}.{taken % 100:02d}"]
            for name, (uses, taken) in [(name, await takings(services, device)) for name, device in devices.items()]
        ]

        # 1 August, 01:00 in Moscow: July is closed
        at(clock, 1, 1, month=8)
        closed_month = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": MONTH_START.isoformat(), "end": MONTH_END.isoformat()},
            headers=admin,
        )
        assert closed_month.status_code == 201, closed_month.text
        statement = closed_month.json()
        assert {
            line["name"]: (line["points_net"], line["money"]["net"], line["net"]) for line in statement["partners"]
        } == {
            "Arcade": ("-50.00", "630.00", "580.00"),
            "Cafe": ("150.00", "80.00", "230.00"),
            "Photo": ("0.00", "0.00", "0.00"),
            "Tickets": ("-500.00", "-2500.00", "-3000.00"),
        }
        assert statement["node"] == {
            "net": "2190.00",
            "points_net": "400.00",  # the 250 points that ended with the visits and Boris's lemonade
            "money": {"wallets": "1790.00", "gift_cards": "0.00", "breakage_kept": "0.00", "funded": "0.00",
                      "net": "1790.00"},
        }  # fmt: skip
        positions = [line["net"] for line in statement["partners"]] + [statement["node"]["net"]]
        assert sum(signed_minor(amount) for amount in positions) == 0
        through_node = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["through_node"]]
        direct = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["direct"]]

        # the page shows exactly these numbers: the day's events add up to the statement's fields, the statement is
        # the CSV the API serves, and both plans are the close's answer
        [events] = [t for t in markdown_tables(text) if t[0][0] == "when"]
        points_fields = ("granted", "granted_refunded", "honoured", "honoured_refunded", "breakage")
        money_fields = ("top_ups", "wallet_accepted", "wallet_refunded")
        flows = {
            line["name"]: {
                **{kind: signed_minor(line[kind]) for kind in points_fields},
                **{kind: signed_minor(line["money"][kind]) for kind in money_fields},
            }
            for line in statement["partners"]
        }
        assert documented_flows(events) == {
            name: {kind: amount for kind, amount in fields.items() if amount} for name, fields in flows.items()
        }
        csv_answer = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=admin)
        csv_rows = [row for row in csv.reader(io.StringIO(csv_answer.text)) if row]
        plans_from = csv_rows.index(["transfers (through node)", "from", "to", "amount"])
        shown = [t for t in markdown_tables(text) if t[0][0] in ("party", "prepaid money", "settlement node holds",
                                                                "net of both")]  # fmt: skip
        assert [row for shown_table in shown for row in shown_table] == csv_rows[:plans_from]
        documented_through_node, documented_direct = [t for t in markdown_tables(text) if t[0][0] == "from"]
        assert documented_through_node[1:] == [list(transfer) for transfer in through_node]
        assert documented_direct[1:] == [list(transfer) for transfer in direct]
    assert await verify(services.engine) == []
