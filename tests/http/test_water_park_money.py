"""The worked example of docs/wallets_water_park.md, end to end through the API on both engines (issue 14, "Done
when"): a month of prepaid money at the water park.

Anna tops up her card at the ticket office, eats at the café and plays at the arcade with it (and with the points
the café gave her), and gets a dish's price back into the wallet; the shop sells Boris a gift card, which he spends
in part at the café (a purchase's gift-card tender), and the rest expires to breakage under the network's shared
policy. Then July is closed through the admin API: each partner's points part, money part and net, what the node
holds, both transfer plans.
The rules come from the page's YAML block, and the page's tables (the month's events, the statement's CSV, the
plans) are compared with what the API answers, so page and test cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.application.admin import NetworkRef
from tests.http.test_water_park_day import markdown_tables
from tests.http.water_park import Clock, water_park
from tests.support import assert_problem, auth, client, enrol, new_key, signed_minor, table_counts

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "wallets_water_park.md"
MOSCOW = ZoneInfo("Europe/Moscow")
ANNA, BORIS = "7700-2001", "7700-2002"
MONTH_START = datetime(2026, 7, 1, tzinfo=MOSCOW).astimezone(UTC)
MONTH_END = datetime(2026, 8, 1, tzinfo=MOSCOW).astimezone(UTC)


def documented_rules(text: str) -> str:
    [block] = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return block


def documented_flows(events: list[list[str]]) -> dict[str, dict[str, int]]:
    """What the month's table shows in each partner's column ("top_ups 1,000.00; granted 60.00"), summed by field."""
    header, *rows = events
    flows: dict[str, dict[str, int]] = {partner: {} for partner in header[2:]}
    for row in rows:
        for partner, cell in zip(header[2:], row[2:], strict=True):
            for part in filter(None, (piece.strip() for piece in cell.split(";"))):
                field, amount = part.split()
                flows[partner][field] = flows[partner].get(field, 0) + signed_minor(amount.replace(",", ""))
    return flows


def at(clock: Clock, day: int, hour: int, minute: int = 0, month: int = 7) -> None:
    """Move the park's clock to a time of 2026 in Moscow."""
    clock.moment = datetime(2026, month, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


async def park_with_shop(services) -> tuple[str, dict[str, str], dict[str, int]]:
    """The water park of tests/http/water_park.py and a gift shop beside its four partners."""
    admin_key, keys, partner_ids = await water_park(services)
    async with services.engine.connect() as connection:
        network_id = (await connection.execute(sa.text("SELECT id FROM networks WHERE code = 'park'"))).scalar_one()
    ref = NetworkRef(int(network_id), "park", "Water park", "RUB")
    shop = await services.admin.create_partner(ref, "Shop")
    outlet = await services.admin.create_outlet(ref, shop["id"], "Shop desk", "Europe/Moscow")
    keys["Shop"] = (await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"]
    partner_ids["Shop"] = shop["id"]
    return admin_key, keys, partner_ids


async def test_a_month_of_prepaid_money_at_the_water_park_settles_with_the_numbers_of_the_docs(park):
    services, clock = park
    text = DOC.read_text()
    at(clock, 1, 0)
    admin_key, keys, partner_ids = await park_with_shop(services)
    admin = auth(admin_key)

    async def sale(key: str, card: str, amount: str, **extra: object) -> dict:
        body = {"customer": card, "amount": amount, "receipt": new_key()} | extra
        answer = await http.post("/v1/purchases", json=body, headers=auth(key, new_key()))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def wallet_balance(card: str) -> str:
        answer = await http.get(f"/v1/members/{card}/wallet", headers=auth(keys["Tickets"]))
        assert answer.status_code == 200, answer.text
        return str(answer.json()["balance"])

    async with client(services) as http:
        at(clock, 1, 9)
        draft = await http.put(
            "/v1/admin/rule-sets/draft",
            content=documented_rules(text),
            headers=admin | {"Content-Type": "application/yaml"},
        )
        assert draft.status_code == 200, draft.text
        assert (await http.post("/v1/admin/rule-sets/draft/publish", headers=admin)).status_code == 200
        policy = await http.put(
            "/v1/admin/gift-card-breakage", json={"policy": "shared", "share_bp": 2500}, headers=admin
        )
        assert policy.status_code == 200, policy.text
        await enrol(http, keys["Tickets"], ANNA)
        await enrol(http, keys["Shop"], BORIS)

        # 1 July, 10:00: Anna tops up 1,000.00 at the ticket office, which took the cash
        at(clock, 1, 10)
        topped = await http.post(
            "/v1/wallets/top-ups",
            json={"customer": ANNA, "amount": "1000.00"},
            headers=auth(keys["Tickets"], new_key()),
        )
        assert topped.status_code == 201, topped.text
        assert (topped.json()["topped_up"], topped.json()["balance"]) == ("1000.00", "1000.00")

        # 10:30: the shop sells Boris a gift card of 500.00, valid 7 days; the sale earns no points
        at(clock, 1, 10, 30)
        sold = await http.post(
            "/v1/gift-cards",
            json={"amount": "500.00", "pin": "2468", "valid_days": 7},
            headers=auth(keys["Shop"], new_key()),
        )
        assert sold.status_code == 201, sold.text
        gift_card = sold.json()
        assert (gift_card["balance"], gift_card["status"]) == ("500.00", "active")

        # 13:00: Anna eats for 600.00 at the café, all of it from the wallet; the café grants 10 % as points
        at(clock, 1, 13)
        lunch = await sale(keys["Cafe"], ANNA, "600.00", tenders=[{"kind": "wallet"}])
        assert lunch["tenders"] == [{"kind": "wallet", "amount": "600.00", "label": "wallet RUB"}]
        assert (lunch["amount_due"], lunch["to_collect"], lunch["points_earned"]) == ("600.00", "0.00", 60)

        # 13:30: she returns a 100.00 dish: its price goes back into the wallet, 10 of her points back to the café
        at(clock, 1, 13, 30)
        returned = await http.post(
            f"/v1/purchases/{lunch['id']}/refunds", json={"amount": "100.00"}, headers=auth(keys["Cafe"], new_key())
        )
        assert returned.status_code == 201, returned.text
        assert (returned.json()["to_wallet"], returned.json()["money_back"]) == ("100.00", "0.00")
        assert (returned.json()["points_clawed_back"], returned.json()["points_balance"]) == (10, 50)
        assert await wallet_balance(ANNA) == "500.00"

        # 14:00: Boris eats for 300.00 at the café and pays it all with his gift card (and its PIN); he earns 30
        # points, as a wallet would: gift-card money is payment, not a discount
        at(clock, 1, 14)
        card_tender = {"kind": "gift_card", "number": gift_card["number"], "pin": "2468"}
        before = await table_counts(services)
        wrong_pin = await http.post(
            "/v1/purchases",
            json={
                "customer": BORIS,
                "amount": "300.00",
                "receipt": new_key(),
                "tenders": [card_tender | {"pin": "1111"}],
            },
            headers=auth(keys["Cafe"], new_key()),
        )
        assert_problem(wrong_pin, 422, "invalid-input", "tenders[0].pin")
        assert await table_counts(services) == before
        boris_lunch = await sale(keys["Cafe"], BORIS, "300.00", tenders=[card_tender])
        assert [(t["kind"], t["amount"]) for t in boris_lunch["tenders"]] == [("gift_card", "300.00")]
        assert (boris_lunch["to_collect"], boris_lunch["points_earned"]) == ("0.00", 30)
        asked = await http.get(
            f"/v1/gift-cards/{gift_card['number']}", headers=auth(keys["Arcade"]) | {"Gift-Card-PIN": "2468"}
        )
        assert (asked.json()["balance"], asked.json()["status"]) == ("200.00", "active")

        # 15:00: the arcade takes points for up to half a check, then the wallet pays the rest
        at(clock, 1, 15)
        quote = await http.post(
            "/v1/purchases/quote",
            json={"customer": ANNA, "amount": "400.00", "redeem_points": 50, "tenders": [{"kind": "wallet"}]},
            headers=auth(keys["Arcade"]),
        )
        assert quote.status_code == 200, quote.text
        assert (quote.json()["tenders"], quote.json()["to_collect"]) == (
            [{"kind": "wallet", "amount": "350.00", "label": "wallet RUB"}],
            "0.00",
        )
        played = await sale(keys["Arcade"], ANNA, "400.00", redeem_points=50, tenders=[{"kind": "wallet"}])
        assert (played["amount_due"], played["tenders"][0]["amount"], played["to_collect"]) == (
            "350.00",
            "350.00",
            "0.00",
        )
        assert (played["points_earned"], played["points_balance"]) == (0, 0)
        assert await wallet_balance(ANNA) == "150.00"

        # 15:10: another game of 200.00 asks more of the wallet than it holds: refused, nothing written
        at(clock, 1, 15, 10)
        before = await table_counts(services)
        too_much = await http.post(
            "/v1/purchases",
            json={"customer": ANNA, "amount": "200.00", "receipt": new_key(),
                  "tenders": [{"kind": "wallet", "amount": "200.00"}]},
            headers=auth(keys["Arcade"], new_key()),
        )  # fmt: skip
        assert_problem(too_much, 422, "insufficient-funds", "tenders[0].amount")
        assert await table_counts(services) == before
        assert await wallet_balance(ANNA) == "150.00"

        # 10 July: the card's validity ended on the 8th; the expiry job shares what is left with the shop
        at(clock, 10, 10)
        expired = await http.post("/v1/admin/jobs/expire", headers=admin)
        assert expired.status_code == 200, expired.text
        assert expired.json()["gift_cards"] == {
            "cards": 1,
            "kept_minor": 15_000,
            "returned_minor": 5_000,
            "policy": "shared",
            "share_bp": 2500,
        }
        card_now = await http.get(f"/v1/admin/gift-cards/{gift_card['number']}", headers=admin)
        assert (card_now.json()["status"], card_now.json()["balance"]) == ("expired", "0.00")

        # 1 August, 01:00 in Moscow: July is closed
        at(clock, 1, 1, month=8)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": MONTH_START.isoformat(), "end": MONTH_END.isoformat()},
            headers=admin,
        )
        assert closed.status_code == 201, closed.text
        statement = closed.json()
        assert {
            line["name"]: (line["points_net"], line["money"]["net"], line["net"]) for line in statement["partners"]
        } == {
            "Arcade": ("50.00", "350.00", "400.00"),
            "Cafe": ("-80.00", "800.00", "720.00"),
            "Photo": ("0.00", "0.00", "0.00"),
            "Shop": ("0.00", "-450.00", "-450.00"),
            "Tickets": ("0.00", "-1000.00", "-1000.00"),
        }
        cafe = next(line for line in statement["partners"] if line["name"] == "Cafe")
        assert (cafe["granted"], cafe["granted_refunded"]) == ("90.00", "10.00")
        assert (cafe["money"]["wallet_accepted"], cafe["money"]["wallet_refunded"]) == ("600.00", "100.00")
        assert cafe["money"]["gift_cards_accepted"] == "300.00"
        assert statement["node"] == {
            "net": "330.00",
            "points_net": "30.00",  # Boris's points, not spent yet; Anna spent all hers at the arcade
            "money": {
                "wallets": "150.00",
                "gift_cards": "0.00",
                "breakage_kept": "150.00",
                "funded": "0.00",
                "net": "300.00",
            },
        }
        positions = [line["net"] for line in statement["partners"]] + [statement["node"]["net"]]
        assert sum(signed_minor(amount) for amount in positions) == 0
        through_node = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["through_node"]]
        direct = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["direct"]]

        # the page shows exactly these numbers: the month's events add up to the statement's fields, the statement
        # is the CSV the API serves, and both plans are the close's answer
        [events] = [table for table in markdown_tables(text) if table[0][0] == "when"]
        money_fields = ("top_ups", "gift_cards_sold", "wallet_accepted", "wallet_refunded", "gift_cards_accepted",
                        "gift_card_breakage")  # fmt: skip
        flows = {
            line["name"]: {
                **{kind: signed_minor(line[kind]) for kind in ("granted", "granted_refunded", "honoured")},
                **{kind: signed_minor(line["money"][kind]) for kind in money_fields},
            }
            for line in statement["partners"]
        }
        assert documented_flows(events) == {
            name: {kind: amount for kind, amount in fields.items() if amount}
            for name, fields in flows.items()
            if any(fields.values())
        }
        table = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=admin)
        csv_rows = [row for row in csv.reader(io.StringIO(table.text)) if row]
        plans_from = csv_rows.index(["transfers (through node)", "from", "to", "amount"])
        shown = [t for t in markdown_tables(text) if t[0][0] in ("party", "prepaid money", "settlement node holds",
                                                                "net of both")]  # fmt: skip
        assert [row for table in shown for row in table] == csv_rows[:plans_from]
        documented_through_node, documented_direct = [t for t in markdown_tables(text) if t[0][0] == "from"]
        assert documented_through_node[1:] == [list(transfer) for transfer in through_node]
        assert documented_direct[1:] == [list(transfer) for transfer in direct]
        assert through_node == [
            ("settlement node", "Arcade", "400.00"),
            ("settlement node", "Cafe", "720.00"),
            ("Shop", "settlement node", "450.00"),
            ("Tickets", "settlement node", "1000.00"),
        ]
        assert direct == [
            ("Tickets", "Cafe", "720.00"),
            ("Shop", "Arcade", "400.00"),
            ("Tickets", "settlement node", "280.00"),
            ("Shop", "settlement node", "50.00"),
        ]

        # the café checks its entries: each transaction's points and money apart, adding up to its net
        entries = await http.get(f"/v1/admin/settlement/statements/1/partners/{partner_ids['Cafe']}", headers=admin)
        assert entries.status_code == 200, entries.text
        assert [(e["kind"], e["part"], e["amount"]) for e in entries.json()["entries"]] == [
            ("purchase", "money", "600.00"),
            ("purchase", "points", "-60.00"),
            ("refund", "money", "-100.00"),
            ("refund", "points", "10.00"),
            ("purchase", "money", "300.00"),
            ("purchase", "points", "-30.00"),
        ]

        # Anna's wallet history at the ticket office tells the same month
        history = await http.get(f"/v1/members/{ANNA}/wallet/history", headers=auth(keys["Tickets"]))
        assert [(line["kind"], line["amount"], line["balance_after"]) for line in history.json()["lines"]] == [
            ("top_up", "1000.00", "1000.00"),
            ("purchase", "-600.00", "400.00"),
            ("refund", "100.00", "500.00"),
            ("purchase", "-350.00", "150.00"),
        ]
    assert await verify(services.engine) == []
