"""The web terminal's gifts and coupons over HTTP on both engines (issue 14, point 6): a gift handed over once per
attempt through the POS API's command, a coupon's effect quoted and its use recorded, and the form posts refused with
clear messages and nothing written (bad input, NUL bytes, a gift or a coupon of another network, the matrix)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coalition.wiring import Services
from tests.support import Network, auth, client, enrol, make_network, new_key, table_counts
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {
            "code": "coffee",
            "condition": "basket.total_minor >= 100000",
            "effects": [{"grant_gift": {"gift_type": "free-coffee", "valid_days": 7}}],
        },
        {"code": "spring", "condition": '"spring" in coupon_campaigns', "effects": [{"discount": {"percent": "10"}}]},
        {"code": "points", "effects": [{"accrue_percent": {"percent": "3"}}]},
    ]
}
_GIFT_FORM = re.compile(r'action="/terminal/gifts/([^"/]+)/honour"[^>]*>.*?name="key" value="([^"]+)"', re.S)
_KEY = re.compile(r'name="key" value="([^"]+)"')


async def _network(services: Services, code: str, card: str) -> tuple[Network, str]:
    """A network whose purchases from 1,000.00 grant a free coffee (handed over by both partners), with a spring
    coupon rule; `card` bought for 2,000.00, so it holds one coffee: its id."""
    net = await make_network(services, code)
    async with client(services) as http:
        created = await http.post(
            "/v1/admin/gift-types",
            json={
                "code": "free-coffee",
                "name": "A free coffee",
                "price": "150.00",
                "valid_days": 7,
                "partners": ["Shop", "Cafe"],
            },
            headers=auth(net.admin_key),
        )
        assert created.status_code == 201, created.text
        saved = await services.rules.save_draft(net.ref, RULES)
        assert saved["errors"] == 0, saved
        await services.rules.publish(net.ref, None)
        await enrol(http, net.shop_key, card)
        bought = await http.post(
            "/v1/purchases",
            json={"customer": card, "amount": "2000.00", "receipt": new_key()},
            headers=auth(net.shop_key, new_key()),
        )
        assert bought.status_code == 201, bought.text
        [gift] = bought.json()["gifts_granted"]
    return net, gift["id"]


async def _cashier(services: Services, http: httpx.AsyncClient, net: Network, outlet: int = 0) -> str:
    listing = await services.admin.listing(net.ref)
    outlet_id = listing["outlets"][outlet]["id"]
    login = f"cashier{outlet}"
    await services.admin.create_cashier(net.ref, outlet_id, login, "Cashier", "cashier-secret-1")
    assert (await sign_in_cashier(http, outlet_id, login, "cashier-secret-1")).status_code == 303
    return csrf_token((await http.get("/terminal")).text)


async def _coupons(http: httpx.AsyncClient, net: Network, campaign: str, codes: list[str], **extra: object) -> None:
    body = {"campaign": campaign, "codes": codes, "valid_until": (datetime.now(UTC) + timedelta(days=7)).isoformat()}
    registered = await http.post("/v1/admin/coupons", json=body | extra, headers=auth(net.admin_key))
    assert registered.status_code == 201, registered.text


async def test_a_gift_is_handed_over_once_per_attempt_and_leaves_the_list(services: Services) -> None:
    net, gift_id = await _network(services, "shop", "5000-0001")
    async with client(services) as http:
        csrf = await _cashier(services, http, net)
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": "5000-0001"})
        assert "Gifts to hand over" in member.text and "A free coffee" in member.text
        [(shown_id, key)] = _GIFT_FORM.findall(member.text)
        assert shown_id == gift_id
        data = {"csrf_token": csrf, "customer": "5000-0001", "key": key}
        before = await table_counts(services)
        first = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data)
        assert first.status_code == 200, first.text
        assert "Handed over: A free coffee." in first.text
        assert _GIFT_FORM.findall(first.text) == []  # the list refreshed: nothing left to hand over
        again = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data)  # a double tap, a retry
        assert again.status_code == 200 and "Handed over" in again.text
        after = await table_counts(services)
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1  # one hand-over posted, once
        another = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data | {"key": new_key()})
        assert another.status_code == 422
        assert "This customer has no such gift to hand over." in another.text
        answer = await http.get("/v1/members/5000-0001", headers=auth(net.shop_key))
        assert answer.json()["gifts"] == []
        assert await table_counts(services) == after


async def test_a_gift_hand_over_is_refused_with_its_reason_and_writes_nothing(services: Services) -> None:
    net, gift_id = await _network(services, "shop", "5000-0001")
    _, foreign_gift = await _network(services, "other", "7000-0001")
    async with client(services) as http:
        csrf = await _cashier(services, http, net)
        data = {"csrf_token": csrf, "customer": "5000-0001", "key": new_key()}
        before = await table_counts(services)
        foreign = await http.post(f"/terminal/gifts/{foreign_gift}/honour", data=data)
        assert foreign.status_code == 422 and "This customer has no such gift to hand over." in foreign.text
        nul = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data | {"customer": "5000-0001\x00"})
        assert nul.status_code == 422 and "control characters (such as NUL) are not allowed" in nul.text
        nul_key = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data | {"key": "a\x00" * 10})
        assert nul_key.status_code == 422
        stale = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data | {"key": "short"})
        assert stale.status_code == 422 and "This form is out of date" in stale.text
        nobody = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data | {"customer": "9999-9999"})
        assert nobody.status_code == 404 and "No customer has this card number or phone." in nobody.text
        matrix = {"entries": [{"outlet": "Cafe till", "counter": "gift:free-coffee", "operations": ["honour"]}]}
        assert (await http.put("/v1/admin/permissions", json=matrix, headers=auth(net.admin_key))).status_code == 200
        before = await table_counts(services)  # the matrix's change is written; nothing after it
        forbidden = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data)
        assert forbidden.status_code == 403
        assert "outlet &#39;Shop till&#39; may not honour gift:free-coffee" in forbidden.text
        assert 'id="gift-error"' in forbidden.text and "A free coffee" in forbidden.text  # the list stays
        assert await table_counts(services) == before
        russian = await http.post(f"/terminal/gifts/{gift_id}/honour", data=data, headers={"Accept-Language": "ru"})
        assert "нельзя вручать" in russian.text


async def _confirm(http: httpx.AsyncClient, csrf: str, coupons: str) -> tuple[str, httpx.Response]:
    sale = {"csrf_token": csrf, "customer": "5000-0001", "amount": "1000.00", "coupons": coupons}
    review = await http.post("/terminal/review", data=sale | {"points": "0"})
    assert review.status_code == 200, review.text
    found = _KEY.search(review.text)
    assert found is not None
    return found.group(1), await http.post("/terminal/purchases", data=sale | {"points": "0", "key": found.group(1)})


async def test_a_coupon_is_quoted_with_its_effect_and_recorded_once_confirmed(services: Services) -> None:
    net, _ = await _network(services, "shop", "5000-0001")
    async with client(services) as http:
        await _coupons(http, net, "spring", ["SPRING10"])
        csrf = await _cashier(services, http, net)
        sale = {"csrf_token": csrf, "customer": "5000-0001", "amount": "1000.00"}
        plain = await http.post("/terminal/quote", data=sale)
        assert 'id="coupon-effect"' not in plain.text
        quote = await http.post("/terminal/quote", data=sale | {"coupons": " spring10 "})
        assert quote.status_code == 200, quote.text
        assert 'id="quote-discount">RUB\xa0100.00<' in quote.text
        effect = quote.text.split('id="coupon-effect"')[1].split("</dd>")[0]
        assert "SPRING10" in effect and "discount RUB\xa0100.00" in effect
        assert 'name="coupons" value="SPRING10"' in quote.text  # carried to the next steps
        api = await http.post(
            "/v1/purchases/quote",
            json={"customer": "5000-0001", "amount": "1000.00", "coupons": ["spring10"]},
            headers=auth(net.shop_key),
        )
        assert (api.json()["discount"], api.json()["coupons_used"]) == ("100.00", ["SPRING10"])
        key, booked = await _confirm(http, csrf, "SPRING10")
        assert booked.status_code == 303, booked.text
        receipt = await http.get(f"/terminal/receipts/{key}")
        assert 'id="receipt-coupons">SPRING10<' in receipt.text
        assert 'id="receipt-discount">RUB\xa0100.00<' in receipt.text
        listing = await http.get("/v1/admin/coupons?campaign=spring", headers=auth(net.admin_key))
        assert [c["uses"] for c in listing.json()["coupons"]] == [1]
        before = await table_counts(services)
        again = await http.post("/terminal/quote", data=sale | {"coupons": "SPRING10"})  # its one use is spent
        assert again.status_code == 409
        assert 'id="coupons-error"' in again.text and "coupon &#39;SPRING10&#39; is used up" in again.text
        assert await table_counts(services) == before
        # used up between the review and the confirm (by another till): the confirm is refused beside the coupon
        await _coupons(http, net, "spring", ["SPRING20"])
        review = await http.post("/terminal/review", data=sale | {"coupons": "SPRING20", "points": "0"})
        found = _KEY.search(review.text)
        assert review.status_code == 200 and found is not None
        elsewhere = await http.post(
            "/v1/purchases",
            json={"customer": "5000-0001", "amount": "500.00", "receipt": new_key(), "coupons": ["SPRING20"]},
            headers=auth(net.cafe_key, new_key()),
        )
        assert elsewhere.status_code == 201, elsewhere.text
        before = await table_counts(services)
        late = await http.post(
            "/terminal/purchases", data=sale | {"coupons": "SPRING20", "points": "0", "key": found.group(1)}
        )
        assert late.status_code == 409 and 'id="coupons-error"' in late.text
        assert "coupon &#39;SPRING20&#39; is used up" in late.text and 'value="SPRING20"' in late.text
        assert await table_counts(services) == before


async def test_a_coupon_the_sale_cannot_take_is_refused_naming_it(services: Services) -> None:
    net, _ = await _network(services, "shop", "5000-0001")
    other, _ = await _network(services, "other", "7000-0001")
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0002")
        await _coupons(http, net, "spring", ["LATER1"], valid_from=(datetime.now(UTC) + timedelta(days=1)).isoformat())
        await _coupons(http, net, "spring", ["HERS1"], member="5000-0002")
        await _coupons(http, other, "spring", ["OTHER1"])
        await _coupons(http, net, "autumn", ["AUTUMN1"])  # no rule reads it: it gives nothing, is not used
        csrf = await _cashier(services, http, net)
        sale = {"csrf_token": csrf, "customer": "5000-0001", "amount": "1000.00"}
        before = await table_counts(services)
        cases = {
            "NOPE1": (422, "there is no coupon &#39;NOPE1&#39; in this network"),
            "OTHER1": (422, "there is no coupon &#39;OTHER1&#39; in this network"),  # another network's
            "HERS1": (422, "coupon &#39;HERS1&#39; was issued to another member"),
            "LATER1": (422, "coupon &#39;LATER1&#39; is valid from"),
            "bad!code": (422, "&#39;bad!code&#39; is not a coupon code"),
            "NOPE1 nope1": (422, "a coupon is presented twice"),
        }
        for typed, (status, message) in cases.items():
            refused = await http.post("/terminal/quote", data=sale | {"coupons": typed})
            assert refused.status_code == status, (typed, refused.text)
            assert 'id="coupons-error"' in refused.text and message in refused.text, typed
            assert f'value="{typed}"' in refused.text  # what was typed stays in the field
        nul = await http.post("/terminal/quote", data=sale | {"coupons": "SPRING\x0010"})
        assert nul.status_code == 422 and "control characters (such as NUL) are not allowed" in nul.text
        confirm = {**sale, "points": "0", "key": new_key(), "coupons": "NOPE1"}
        fetched = await http.post("/terminal/purchases", data=confirm, headers={"X-Requested-With": "fetch"})
        assert fetched.status_code == 422 and fetched.json()["field"] == "coupons"
        assert "NOPE1" in fetched.json()["detail"]
        idle = await http.post("/terminal/quote", data=sale | {"coupons": "autumn1"})
        assert idle.status_code == 200
        assert "gives nothing on this check and will not be used" in idle.text
        russian = await http.post(
            "/terminal/quote", data=sale | {"coupons": "NOPE1"}, headers={"Accept-Language": "ru"}
        )
        assert "в этой сети нет купона «NOPE1»" in russian.text
        assert await table_counts(services) == before


async def _card_action(
    http: httpx.AsyncClient, csrf: str, path: str, key: str | None = None, **fields: str
) -> httpx.Response:
    data = {"csrf_token": csrf, "customer": "5000-0001", "key": key or new_key(), **fields}
    return await http.post(f"/terminal/cards{path}", data=data)


async def _card_states(http: httpx.AsyncClient, net: Network, customer: str) -> dict[str, str]:
    answer = await http.get(f"/v1/members/{customer}", headers=auth(net.shop_key))
    return {card["number"]: card["state"] for card in answer.json()["cards"]}


async def test_card_actions_from_the_customers_screen_once_per_attempt(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0001")
        await enrol(http, net.shop_key, "5000-0002")
        csrf = await _cashier(services, http, net)
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": "5000-0001"})
        assert 'action="/terminal/cards/50000001/block"' in member.text
        assert 'action="/terminal/cards/50000001/activate"' not in member.text  # only what its state allows
        key = _KEY.findall(member.text)[0]
        blocked = await _card_action(http, csrf, "/50000001/block", key)
        assert blocked.status_code == 200 and "Card 50000001 is blocked." in blocked.text
        before = await table_counts(services)
        again = await _card_action(http, csrf, "/50000001/block", key)  # a double tap: the first answer again
        assert again.status_code == 200 and "Card 50000001 is blocked." in again.text
        assert await table_counts(services) == before
        assert 'action="/terminal/cards/50000001/unblock"' in again.text
        assert await _card_states(http, net, "5000-0002") == {"50000002": "active"}
        assert (await _card_states(http, net, "5000-0001")) == {"50000001": "blocked"}
        unblocked = await _card_action(http, csrf, "/50000001/unblock")
        assert "Card 50000001 is unblocked." in unblocked.text

        before = await table_counts(services)
        foreign = await _card_action(http, csrf, "/50000002/block")
        assert foreign.status_code == 422 and "This card is not this customer&#39;s." in foreign.text
        twice = await _card_action(http, csrf, "/50000001/activate")
        assert twice.status_code == 409 and 'id="card-error"' in twice.text
        assert "a card that is active cannot be asked to activate" in twice.text
        unknown = await _card_action(http, csrf, "/50000001/shred")
        assert unknown.status_code == 404
        empty = await _card_action(http, csrf, "/50000001/replace", new_number="")
        assert empty.status_code == 422 and "Enter the new card&#39;s number." in empty.text
        taken = await _card_action(http, csrf, "/50000001/replace", new_number="5000-0002")
        assert taken.status_code == 409 and 'id="card-error"' in taken.text
        nul = await _card_action(http, csrf, "/50000001/replace", new_number="5000\x00-0009")
        assert nul.status_code == 422 and "control characters (such as NUL) are not allowed" in nul.text
        assert await table_counts(services) == before

        replaced = await _card_action(http, csrf, "/50000001/replace", new_number="5000-0009")
        assert replaced.status_code == 200 and "Card 50000001 is replaced by 50000009." in replaced.text
        assert 'name="customer" value="50000009"' in replaced.text  # the sale goes on with the new card
        added = await _card_action(http, csrf, "", new_card="5000-0010")
        assert added.status_code == 200 and "Card 50000010 is added to this customer." in added.text
        assert await _card_states(http, net, "5000-0009") == {
            "50000001": "replaced",
            "50000009": "active",
            "50000010": "active",
        }
