"""The console's gift cards over HTTP on both engines (issue 14, point 5): the administrator's search, liability,
issue, block and unblock, breakage policy (each through the admin commands, audited), the liability line on Money on
cards; an owner sees only the cards their outlets sold or took money from, and may change nothing.

The day: the shop sells a card of 100.00 (PIN 4321) and the café one of 30.00; the café takes 40.00 of a 50.00
check from the shop's card; the administrator issues one of 25.00."""

from __future__ import annotations

import re
from typing import Any

import pytest

from coalition.wiring import Services
from tests.support import auth, client, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_console
from tests.web.test_console_money import rows, rub

pytestmark = pytest.mark.anyio
CARD = "7700-0001"


async def _day(services: Services) -> dict[str, Any]:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    await services.web_sessions.add_console_user(net.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1")
    cafe = listing["partners"][1]["id"]
    shop = listing["partners"][0]["id"]
    await services.web_sessions.add_console_user(net.ref.id, "owner", cafe, "cafe", "Cafe owner", "cafe-secret-1")
    await services.web_sessions.add_console_user(net.ref.id, "owner", shop, "shop", "Shop owner", "shop-secret-1")
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)

        async def sell(key: str, amount: str, pin: str | None = None) -> str:
            body = {"amount": amount} | ({"pin": pin} if pin else {})
            sold = await http.post("/v1/gift-cards", json=body, headers=auth(key, new_key()))
            assert sold.status_code == 201, sold.text
            return str(sold.json()["number"])

        shop_card, cafe_card = await sell(net.shop_key, "100.00", "4321"), await sell(net.cafe_key, "30.00")
        body = {
            "customer": CARD,
            "amount": "50.00",
            "receipt": "G-1",
            "tenders": [{"kind": "gift_card", "number": shop_card, "pin": "4321", "amount": "40.00"}],
        }
        paid = await http.post("/v1/purchases", json=body, headers=auth(net.cafe_key, new_key()))
        assert paid.status_code == 201, paid.text
    return {
        "shop_card": shop_card,
        "cafe_card": cafe_card,
        "network_id": net.ref.id,
        "cafe_key": net.cafe_key,
        "purchase_ids": [paid.json()["id"]],
    }


def _card_rows(html: str) -> dict[str, list[str]]:
    return {row[0].split()[0]: row[1:] for row in rows(html, "gift-cards") if len(row) > 2}


async def test_the_administrator_searches_issues_blocks_and_sets_the_breakage_policy(services: Services) -> None:
    day = await _day(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        page = await http.get("/console/gift-cards")
        assert page.status_code == 200, page.text
        csrf = csrf_token(page.text)
        assert rows(page.text, "gift-card-liability") == [["RUB", "2", "0", rub(9000)]]  # 60.00 + 30.00
        cards = _card_rows(page.text)
        assert cards[day["shop_card"]][:5] == ["active", rub(6000), rub(10000), rub(4000), "Shop till Shop"]
        assert cards[day["cafe_card"]][:5] == ["active", rub(3000), rub(3000), rub(0), "Cafe till Cafe"]
        part = day["shop_card"][5:11]
        found = await http.get("/console/gift-cards", params={"q": f"{part[:3]} {part[3:]}"})
        assert list(_card_rows(found.text)) == [day["shop_card"]]
        assert _card_rows((await http.get("/console/gift-cards", params={"status": "spent"})).text) == {}
        bad = await http.get("/console/gift-cards", params={"status": "lost"})
        assert bad.status_code == 422 and 'id="search-status-error"' in bad.text

        issued = await http.post(
            "/console/gift-cards", data={"csrf_token": csrf, "amount": "25,00", "valid_days": "10"}
        )
        assert issued.status_code == 303, issued.text
        shown = await http.get(issued.headers["location"])
        number = re.search(r"The gift card (\w+) was issued", shown.text).group(1)  # type: ignore[union-attr]
        assert _card_rows(shown.text)[number][:5] == [
            "active",
            rub(2500),
            rub(2500),
            rub(0),
            "issued by the administrator",
        ]
        refused = await http.post("/console/gift-cards", data={"csrf_token": csrf, "amount": "0", "pin": "12"})
        assert refused.status_code == 422 and 'id="issue-amount-error"' in refused.text
        assert 'value="0"' in refused.text and 'value="12"' not in refused.text  # the PIN is not written back
        no_days = await http.post("/console/gift-cards", data={"csrf_token": csrf, "amount": "5", "valid_days": "x"})
        assert no_days.status_code == 422 and 'id="issue-valid_days-error"' in no_days.text

        blocked = await http.post(f"/console/gift-cards/{day['cafe_card']}/block", data={"csrf_token": csrf})
        assert blocked.status_code == 303
        after = await http.get(blocked.headers["location"])
        assert "is blocked: nothing can be spent from it" in after.text
        assert _card_rows(after.text)[day["cafe_card"]][0] == "blocked"
        assert rows(after.text, "gift-card-liability") == [["RUB", "3", "1", rub(11500)]]
        again = await http.post(f"/console/gift-cards/{day['cafe_card']}/block", data={"csrf_token": csrf})
        assert again.status_code == 303  # already blocked: as it is
        unblocked = await http.post(f"/console/gift-cards/{day['cafe_card']}/unblock", data={"csrf_token": csrf})
        assert unblocked.status_code == 303
        unknown = await http.post("/console/gift-cards/NOPE0001/block", data={"csrf_token": csrf})
        assert unknown.status_code == 404 and "this network has no gift card NOPE0001" in unknown.text

        assert 'name="policy" value="kept" checked' in (await http.get("/console/gift-cards")).text
        shared = await http.post(
            "/console/gift-card-breakage", data={"csrf_token": csrf, "policy": "shared", "share_bp": "2500"}
        )
        assert shared.status_code == 303
        assert await services.gift_cards.breakage(day["network_id"]) == {"policy": "shared", "share_bp": 2500}
        wrong = await http.post(
            "/console/gift-card-breakage", data={"csrf_token": csrf, "policy": "shared", "share_bp": "x"}
        )
        assert wrong.status_code == 422 and 'id="breakage-share_bp-error"' in wrong.text
        audit = await http.get("/console/audit")
        for action in ("gift_card.issue", "gift_card.block", "gift_card.unblock", "gift_cards.breakage"):
            assert action in audit.text, action

        money = await http.get("/console/money")
        assert "Gift-card liability" in money.text
        assert f"{rub(11500)} on 3 gift card(s)" in money.text
        russian = await http.get("/console/gift-cards", headers={"Accept-Language": "ru"})
        assert "Обязательства по подарочным картам" in russian.text


async def test_an_owner_sees_their_outlets_cards_and_changes_nothing(services: Services) -> None:
    day = await _day(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "cafe", "cafe-secret-1")).status_code == 303
        page = await http.get("/console/gift-cards")
        assert page.status_code == 200, page.text
        csrf = csrf_token(page.text)
        assert 'id="gift-card-liability"' not in page.text and 'id="gift-card-issue"' not in page.text
        cards = _card_rows(page.text)  # the café sold one and took 40.00 from the shop's
        assert set(cards) == {day["shop_card"], day["cafe_card"]}
        assert cards[day["shop_card"]][3] == rub(4000) and cards[day["cafe_card"]][3] == rub(0)
        assert "Gift-card liability" not in (await http.get("/console/money")).text
        for path in (
            f"/console/gift-cards/{day['cafe_card']}/block",
            "/console/gift-cards",
            "/console/gift-card-breakage",
        ):
            refused = await http.post(path, data={"csrf_token": csrf, "amount": "5", "policy": "kept"})
            assert refused.status_code in (403, 404), path
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "shop", "shop-secret-1")).status_code == 303
        cards = _card_rows((await http.get("/console/gift-cards")).text)  # the shop sold one; nothing taken there
        assert set(cards) == {day["shop_card"]} and cards[day["shop_card"]][3] == rub(0)


async def test_what_a_card_spent_is_net_of_the_refunds_that_put_money_back(services: Services) -> None:
    """The café refunds 25.00 of the 50.00 check: half of the card's 40.00 goes back onto it, so the card has spent
    20.00 and holds 80.00."""
    day = await _day(services)
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "admin", "admin-secret-1")).status_code == 303
        purchases = await http.get("/console/gift-cards")
        assert _card_rows(purchases.text)[day["shop_card"]][3] == rub(4000)
        [purchase_id] = day["purchase_ids"]
        refund = await http.post(
            f"/v1/purchases/{purchase_id}/refunds", json={"amount": "25.00"}, headers=auth(day["cafe_key"], new_key())
        )
        assert refund.status_code == 201, refund.text
        page = await http.get("/console/gift-cards")
        assert _card_rows(page.text)[day["shop_card"]][:4] == ["active", rub(8000), rub(10000), rub(2000)]
