"""The worked example of docs/settlement.md, end to end through the API on both engines (issue 4).

The brief's chain at the water park: a ticket grants a free photo, the photo booth hands it over and its own sale
grants a café discount (a coupon), the café's sale grants points, the arcade takes them. After a day of three
visitors the period is closed, and the statement and both transfer plans must be exactly those the page shows. The
rules come from the page's YAML block and its tables are compared with the API's answers, so page and test agree.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from coalition.adapters.storage.verify import verify
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.support import assert_problem, auth, client, enrol, new_key, signed_minor

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[2] / "docs" / "settlement.md"
SECTION_TITLE = "## Worked example: a day at the water park"
MOSCOW = ZoneInfo("Europe/Moscow")
ANNA, BORIS, VERA = "7700-1001", "7700-1002", "7700-1003"
FREE_PHOTO = {"code": "free-photo", "name": "A free photo", "price": "300.00", "partners": ["Photo"]}


def worked_example_section() -> str:
    text = DOC.read_text()
    start = text.index(SECTION_TITLE)
    end = text.find("\n## ", start + len(SECTION_TITLE))
    return text[start : end if end >= 0 else len(text)]


def markdown_tables(section: str) -> list[list[list[str]]]:
    """Every table of the section as rows of cells, the header row first and the |---| row left out."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def documented_flows(events: list[list[str]]) -> dict[str, dict[str, int]]:
    """The obligations the day's table shows in each partner's column ("granted 300.00"), summed by kind."""
    header, *rows = events
    flows: dict[str, dict[str, int]] = {partner: {} for partner in header[2:]}
    for row in rows:
        for partner, cell in zip(header[2:], row[2:], strict=True):
            if cell:
                kind, amount = cell.split()
                flows[partner][kind] = flows[partner].get(kind, 0) + signed_minor(amount)
    return flows


def documented_rules(section: str) -> str:
    [block] = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    return block


def at(clock: Clock, hour: int, minute: int = 0, day: int = 1) -> None:
    """Move the park's clock to a time of July 2026 in Moscow."""
    clock.moment = datetime(2026, 7, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


async def test_a_day_of_the_water_park_chain_settles_with_the_numbers_of_the_docs(park):
    services, clock = park
    section = worked_example_section()
    admin_key, keys, partner_ids = await water_park(services)
    admin = auth(admin_key)
    async with client(services) as http:
        at(clock, 9, 30)
        catalogue = await http.post("/v1/admin/gift-types", json=FREE_PHOTO, headers=admin)
        assert catalogue.status_code == 201, catalogue.text
        draft = await http.put(
            "/v1/admin/rule-sets/draft",
            content=documented_rules(section),
            headers=admin | {"Content-Type": "application/yaml"},
        )
        assert draft.status_code == 200, draft.text
        published = await http.post("/v1/admin/rule-sets/draft/publish", headers=admin)
        assert published.status_code == 200, published.text
        for card in (ANNA, BORIS, VERA):
            await enrol(http, keys["Tickets"], card)

        # 10:00 tickets: 1,500.00 and more grant a free photo, valid one day; no points at the ticket office
        at(clock, 10, 0)
        anna_ticket = await buy(http, keys["Tickets"], ANNA, "2000.00")
        [anna_photo] = anna_ticket["gifts_granted"]
        assert (anna_photo["gift_type"], anna_ticket["points_earned"]) == ("free-photo", 0)
        assert anna_photo["valid_until"] == datetime(2026, 7, 2, 10, 0, tzinfo=MOSCOW).astimezone(UTC).isoformat()
        at(clock, 10, 5)
        [boris_photo] = (await buy(http, keys["Tickets"], BORIS, "2000.00"))["gifts_granted"]
        at(clock, 10, 10)
        assert "gifts_granted" not in await buy(http, keys["Tickets"], VERA, "1200.00")

        # 11:00 the photo booth hands Anna her photo; its own sales of 500.00 and more issue a café coupon
        at(clock, 11, 0)
        handed = await http.post(f"/v1/gifts/{anna_photo['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert (handed.status_code, handed.json()["price"]) == (200, "300.00"), handed.text
        at(clock, 11, 5)
        [anna_coupon] = (await buy(http, keys["Photo"], ANNA, "600.00"))["coupons_issued"]
        assert (anna_coupon["campaign"], anna_coupon["uses"]) == ("cafe-treat", 1)
        at(clock, 11, 10)
        [vera_coupon] = (await buy(http, keys["Photo"], VERA, "500.00"))["coupons_issued"]

        # 13:00 the café: 20 % off with a coupon, 10 % of what is paid in money as points
        at(clock, 13, 0)
        anna_lunch = await buy(http, keys["Cafe"], ANNA, "1000.00", coupons=[anna_coupon["code"]])
        assert (anna_lunch["discount"], anna_lunch["amount_due"], anna_lunch["points_earned"]) == (
            "200.00",
            "800.00",
            80,
        )
        assert anna_lunch["coupons_used"] == [anna_coupon["code"]]
        at(clock, 13, 5)
        vera_lunch = await buy(http, keys["Cafe"], VERA, "450.00", coupons=[vera_coupon["code"]])
        assert (vera_lunch["discount"], vera_lunch["amount_due"], vera_lunch["points_earned"]) == (
            "90.00",
            "360.00",
            36,
        )
        at(clock, 13, 10)
        refused = [
            # a used coupon, another member's coupon, points as payment at the café
            (ANNA, {"coupons": [anna_coupon["code"]]}, 409, "conflict", "coupons[0]"),
            (BORIS, {"coupons": [vera_coupon["code"]]}, 422, "invalid-input", "coupons[0]"),
            (ANNA, {"redeem_points": 50}, 422, "redeem-not-allowed", "redeem_points"),
        ]
        for card, extra, status, code, field in refused:
            body = {"customer": card, "amount": "700.00", "receipt": new_key()} | extra
            answer = await http.post("/v1/purchases", json=body, headers=auth(keys["Cafe"], new_key()))
            assert_problem(answer, status, code, field)
        boris_lunch = await buy(http, keys["Cafe"], BORIS, "700.00")
        assert (boris_lunch["discount"], boris_lunch["points_earned"]) == ("0.00", 70)

        # 14:00 Boris returns a 200.00 dish: 20 of his 70 points go back
        at(clock, 14, 0)
        returned = await http.post(
            f"/v1/purchases/{boris_lunch['id']}/refunds",
            json={"amount": "200.00"},
            headers=auth(keys["Cafe"], new_key()),
        )
        assert returned.status_code == 201, returned.text
        assert (returned.json()["points_clawed_back"], returned.json()["points_balance"]) == (20, 50)

        # 15:00 the arcade takes points for up to half a check, and grants none
        for minute, card, amount, points, due in (
            (0, ANNA, "400.00", 80, "320.00"),
            (5, BORIS, "300.00", 50, "250.00"),
            (10, VERA, "100.00", 36, "64.00"),
        ):
            at(clock, 15, minute)
            played = await buy(http, keys["Arcade"], card, amount, redeem=points)
            assert (played["amount_due"], played["points_earned"], played["points_balance"]) == (due, 0, 0)

        # midnight in Moscow: the day is closed
        clock.moment = DAY_END + timedelta(hours=1)
        closed = await http.post(
            "/v1/admin/settlement/periods",
            json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
            headers=admin,
        )
        assert closed.status_code == 201, closed.text
        statement = closed.json()
        assert {
            line["name"]: (
                line["granted"],
                line["granted_refunded"],
                line["honoured"],
                line["honoured_refunded"],
                line["fees"],
                line["net"],
                line["transactions"],
            )
            for line in statement["partners"]
        } == {
            "Arcade": ("0.00", "0.00", "166.00", "0.00", "0.00", "166.00", 3),
            "Cafe": ("186.00", "20.00", "0.00", "0.00", "0.00", "-166.00", 4),
            "Photo": ("0.00", "0.00", "300.00", "0.00", "0.00", "300.00", 1),
            "Tickets": ("600.00", "0.00", "0.00", "0.00", "0.00", "-600.00", 2),
        }
        # the node holds the price of Boris's photo, not yet handed over; every point granted was spent
        assert statement["node"]["net"] == "300.00"
        positions = [line["net"] for line in statement["partners"]] + [statement["node"]["net"]]
        assert sum(signed_minor(amount) for amount in positions) == 0
        through_node = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["through_node"]]
        assert through_node == [
            ("settlement node", "Arcade", "166.00"),
            ("Cafe", "settlement node", "166.00"),
            ("settlement node", "Photo", "300.00"),
            ("Tickets", "settlement node", "600.00"),
        ]
        direct = [(t["from"], t["to"], t["amount"]) for t in statement["transfers"]["direct"]]
        assert direct == [
            ("Cafe", "Arcade", "166.00"),
            ("Tickets", "Photo", "300.00"),
            ("Tickets", "settlement node", "300.00"),
        ]
        assert len(direct) < len(positions) - 1  # five parties not at zero, three transfers

        # the page shows exactly these numbers: the day's events add up to the statement, which is the CSV table
        # the API serves, and both plans
        [events] = [table for table in markdown_tables(section) if table[0][0] == "time"]
        assert documented_flows(events) == {
            line["name"]: {
                kind: signed_minor(line[kind])
                for kind in ("granted", "granted_refunded", "honoured")
                if line[kind] != "0.00"
            }
            for line in statement["partners"]
        }
        documented_statement, documented_through_node, documented_direct = [
            table for table in markdown_tables(section) if table[0][0] in ("party", "from")
        ]
        table = await http.get("/v1/admin/settlement/statements/1?format=csv", headers=admin)
        csv_rows = list(csv.reader(io.StringIO(table.text)))
        assert csv_rows[: len(documented_statement)] == documented_statement
        assert documented_through_node[1:] == [list(transfer) for transfer in through_node]
        assert documented_direct[1:] == [list(transfer) for transfer in direct]

        # the café checks its four entries: three grants and the refund's give-back, adding up to its net
        cafe = await http.get(f"/v1/admin/settlement/statements/1/partners/{partner_ids['Cafe']}", headers=admin)
        assert [entry["amount"] for entry in cafe.json()["entries"]] == ["-80.00", "-36.00", "-70.00", "20.00"]

        # the next day Boris's photo expires unused; by default the node keeps its price: nothing moves
        at(clock, 11, 0, day=2)
        expired = await http.post("/v1/admin/jobs/expire", headers=admin)
        assert expired.json()["gifts"] == {"gifts": 1, "released": 0, "policy": "kept"}
        late = await http.post(f"/v1/gifts/{boris_photo['id']}/honour", headers=auth(keys["Photo"], new_key()))
        assert_problem(late, 409, "conflict", "gift_id")
        clock.moment = DAY_END + timedelta(days=1, hours=1)
        second = await http.post(
            "/v1/admin/settlement/periods", json={"end": (DAY_END + timedelta(days=1)).isoformat()}, headers=admin
        )
        assert second.status_code == 201, second.text
        assert {line["name"]: line["net"] for line in second.json()["partners"]} == dict.fromkeys(
            ("Arcade", "Cafe", "Photo", "Tickets"), "0.00"
        )
        assert second.json()["node"]["net"] == "0.00"
        assert second.json()["transfers"] == {"through_node": [], "direct": []}
    assert await verify(services.engine) == []
