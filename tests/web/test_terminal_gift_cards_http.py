"""The web terminal's gift cards over HTTP on both engines (issue 14, point 5): a card sold once per attempt (the
confirm's key made when it was shown, the PIN typed at the confirm and never put in a page), its receipt with the
number; the balance enquiry with the PIN; and refusals — a bad amount, the permissions matrix, a wrong PIN, too many,
an unknown or mistyped number, a blocked card — said beside the field, writing nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from coalition.wiring import Services
from tests.support import Network, auth, client, make_network, new_key, table_counts
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio

_KEY = re.compile(r'name="key" value="([^"]+)"')


def rub(amount: str) -> str:
    return f"RUB\xa0{amount}"


async def _cashier(services: Services, http: httpx.AsyncClient, net: Network, outlet: int = 0) -> str:
    listing = await services.admin.listing(net.ref)
    outlet_id = listing["outlets"][outlet]["id"]
    login = f"cashier{outlet}"
    await services.admin.create_cashier(net.ref, outlet_id, login, "Cashier", "cashier-secret-1")
    assert (await sign_in_cashier(http, outlet_id, login, "cashier-secret-1")).status_code == 303
    return csrf_token((await http.get("/terminal/gift-cards")).text)


def _key(page: httpx.Response) -> str:
    found = _KEY.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def _fact(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)<', page.text, re.S)
    assert found is not None, element_id
    return found.group(1).strip()


async def _sell(http: httpx.AsyncClient, csrf: str, amount: str, pin: str = "") -> str:
    review = await http.post("/terminal/gift-cards/sell", data={"csrf_token": csrf, "sell_amount": amount})
    assert review.status_code == 200, review.text
    data = {"csrf_token": csrf, "sell_amount": "", "sell_pin": pin, "key": _key(review)}
    data["sell_amount"] = re.search(r'name="sell_amount" value="([^"]+)"', review.text).group(1)  # type: ignore[union-attr]
    sold = await http.post("/terminal/gift-cards", data=data)
    assert sold.status_code == 303, sold.text
    receipt = await http.get(sold.headers["location"])
    return _fact(receipt, "sold-number").replace(" ", "")


async def test_a_card_is_sold_once_with_its_number_on_the_receipt_and_its_balance_asked(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        csrf = await _cashier(services, http, net)
        page = await http.get("/terminal/gift-cards")
        assert page.status_code == 200 and 'action="/terminal/gift-cards/sell"' in page.text
        assert 'aria-current="page">Gift cards' in page.text
        review = await http.post("/terminal/gift-cards/sell", data={"csrf_token": csrf, "sell_amount": "1 000,50"})
        assert review.status_code == 200, review.text
        assert _fact(review, "gift-card-take") == f"Take {rub('1,000.50')}"
        assert 'name="sell_amount" value="1000.50"' in review.text
        before = await table_counts(services)
        confirm = {"csrf_token": csrf, "sell_amount": "1000.50", "sell_pin": "4321", "key": _key(review)}
        first = await http.post("/terminal/gift-cards", data=confirm)
        assert first.status_code == 303 and first.headers["location"] == f"/terminal/gift-cards/sold/{confirm['key']}"
        again = await http.post("/terminal/gift-cards", data=confirm)  # a double tap, a retry: the same answer
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
        after = await table_counts(services)
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1
        receipt = await http.get(first.headers["location"])
        assert receipt.status_code == 200 and "Gift card sold" in receipt.text
        shown_number = _fact(receipt, "sold-number")
        number = shown_number.replace(" ", "")  # shown in groups of four
        # the PIN is never shown (the random card number itself may hold its four digits, so it is left out)
        assert "4321" not in receipt.text.replace(shown_number, "")
        assert len(number) == 19 and _fact(receipt, "sold-amount") == rub("1,000.50")
        assert _fact(receipt, "sold-pin") == "asked at every use"
        assert (await http.get(f"/terminal/gift-cards/sold/{new_key()}")).status_code == 404
        assert (await http.get(f"/terminal/receipts/{confirm['key']}")).status_code == 404  # not a purchase
        # the API sees the same card, sold at this outlet
        api = await http.get(f"/v1/gift-cards/{number}", headers=auth(net.shop_key) | {"Gift-Card-PIN": "4321"})
        assert api.status_code == 200 and api.json()["balance"] == "1000.50"

        enquiry = {"csrf_token": csrf, "number": "-".join([number[:4], number[4:8], number[8:]]), "pin": "4321"}
        shown = await http.post("/terminal/gift-cards/balance", data=enquiry)
        assert shown.status_code == 200, shown.text
        assert _fact(shown, "gift-card-balance") == rub("1,000.50")
        assert _fact(shown, "gift-card-status") == "can pay"
        assert 'value="4321"' not in shown.text  # the PIN is never written back into the page
        russian = await http.post("/terminal/gift-cards/balance", data=enquiry, headers={"Accept-Language": "ru"})
        assert "Подарочные карты" in russian.text and "Баланс подарочной карты" in russian.text

        plain = await _sell(http, csrf, "50")  # no PIN: the enquiry needs none
        no_pin = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": plain})
        assert no_pin.status_code == 200 and _fact(no_pin, "gift-card-balance") == rub("50.00")


async def test_refusals_are_said_beside_the_field_and_write_nothing(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        csrf = await _cashier(services, http, net)
        number = await _sell(http, csrf, "100.00", pin="1234")
        before = await table_counts(services)
        cases = {
            "": (422, "Enter the amount."),
            "-5": (422, "Enter an amount such as 1500.00."),
            "0": (422, "The amount must be greater than zero."),
            "abc": (422, "Enter an amount such as 1500.00."),
            "100000000.01": (422, "a gift card&#39;s amount is at most"),
        }
        for typed, (status, message) in cases.items():
            refused = await http.post("/terminal/gift-cards/sell", data={"csrf_token": csrf, "sell_amount": typed})
            assert refused.status_code == status, (typed, refused.text)
            assert 'id="sell_amount-error"' in refused.text and message in refused.text, typed
        # a bad PIN at the confirm: the confirm again, beside the PIN, the same key (nothing was stored under it)
        review = await http.post("/terminal/gift-cards/sell", data={"csrf_token": csrf, "sell_amount": "10"})
        key = _key(review)
        bad_pin = {"csrf_token": csrf, "sell_amount": "10.00", "sell_pin": "12", "key": key}
        refused = await http.post("/terminal/gift-cards", data=bad_pin)
        assert refused.status_code == 422 and 'id="sell_pin-error"' in refused.text and _key(refused) == key
        stale = await http.post("/terminal/gift-cards", data=bad_pin | {"sell_pin": "", "key": "x"})
        assert stale.status_code == 422 and "This form is out of date" in stale.text
        # enquiry refusals
        wrong = await http.post(
            "/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": number, "pin": "9999"}
        )
        assert wrong.status_code == 422 and 'id="pin-error"' in wrong.text and "4 attempt(s) left" in wrong.text
        no_pin = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": number})
        assert no_pin.status_code == 422 and 'id="pin-error"' in no_pin.text
        unknown = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": "NOPE-0001"})
        assert unknown.status_code == 404 and 'id="number-error"' in unknown.text
        assert "this network has no gift card NOPE0001" in unknown.text
        mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)
        typo = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": mistyped})
        assert typo.status_code == 404 and "the check digit does not match" in typo.text
        empty = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": ""})
        assert empty.status_code == 422 and "Enter the gift card&#39;s number." in empty.text
        for _ in range(4):  # with the 9999 above, five wrong PINs in a row (the one left out counted none)
            await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": number, "pin": "0000"})
        locked = await http.post(
            "/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": number, "pin": "1234"}
        )
        assert locked.status_code == 429 and "Too many wrong PINs" in locked.text and 'id="pin-error"' in locked.text
        nul = await http.post(
            "/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": "12\x0034", "pin": ""}
        )
        assert nul.status_code == 422
        after = await table_counts(services)
        assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
            k: v for k, v in before.items() if k != "idempotency_keys"
        }
        assert after["ledger_transactions"] == before["ledger_transactions"]


async def test_the_matrix_and_a_blocked_card_are_refused(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        csrf = await _cashier(services, http, net)
        number = await _sell(http, csrf, "20.00")
        entries = [{"outlet": "Cafe till", "counter": "gift_card", "operations": ["top_up", "spend"]}]
        changed = await http.put("/v1/admin/permissions", json={"entries": entries}, headers=auth(net.admin_key))
        assert changed.status_code == 200, changed.text
        before = await table_counts(services)
        forbidden = await http.post("/terminal/gift-cards/sell", data={"csrf_token": csrf, "sell_amount": "10"})
        assert forbidden.status_code == 403 and "permissions matrix does not allow it" in forbidden.text
        assert await table_counts(services) == before
        blocked = await http.post(f"/v1/admin/gift-cards/{number}/block", headers=auth(net.admin_key))
        assert blocked.status_code == 200, blocked.text
        shown = await http.post("/terminal/gift-cards/balance", data={"csrf_token": csrf, "number": number})
        assert shown.status_code == 200 and _fact(shown, "gift-card-status") == "blocked: it cannot pay"


async def test_a_sale_paid_in_part_by_a_gift_card_and_its_refusals(services: Services) -> None:
    from tests.support import enrol

    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7700-0001")
        csrf = await _cashier(services, http, net)
        number = await _sell(http, csrf, "100.00", pin="4321")
        sale = {"csrf_token": csrf, "customer": "7700-0001", "amount": "250.00", "points": "0"}
        review = await http.post("/terminal/review", data=sale)
        assert review.status_code == 200 and 'action="/terminal/pay-by-gift-card"' in review.text
        card = {"gift_card": number, "gift_card_pin": "4321"}
        before = await table_counts(services)
        # refusals: nothing written, the same step without the card, the message beside the card's field
        wrong = await http.post(
            "/terminal/pay-by-gift-card", data=sale | card | {"gift_card_pin": "9999", "gift_card_all": "all"}
        )
        assert wrong.status_code == 422 and 'id="gift_card-error"' in wrong.text and "attempt(s) left" in wrong.text
        assert _fact(wrong, "amount-due") == rub("250.00")
        unknown = await http.post(
            "/terminal/pay-by-gift-card", data=sale | card | {"gift_card": "NOPE-0001", "gift_card_all": "all"}
        )
        assert unknown.status_code == 404 and "this network has no gift card NOPE0001" in unknown.text
        too_much = await http.post("/terminal/pay-by-gift-card", data=sale | card | {"gift_card_amount": "150"})
        assert too_much.status_code == 422 and 'id="gift_card-error"' in too_much.text
        no_amount = await http.post("/terminal/pay-by-gift-card", data=sale | card)
        assert no_amount.status_code == 422 and 'id="gift_card_amount-error"' in no_amount.text
        assert {k: v for k, v in (await table_counts(services)).items() if k != "idempotency_keys"} == {
            k: v for k, v in before.items() if k != "idempotency_keys"
        }
        # all it can: 100.00 of 250.00, 150.00 to collect
        part = await http.post("/terminal/pay-by-gift-card", data=sale | card | {"gift_card_all": "all"})
        assert part.status_code == 200, part.text
        assert (_fact(part, "gift-card-part"), _fact(part, "to-collect")) == (rub("100.00"), rub("150.00"))
        assert _fact(part, "amount-due") == rub("150.00")
        assert f'name="gift_card" value="{number}"' in part.text and 'name="gift_card_amount" value="all"' in part.text
        key = _key(part)
        confirm = sale | card | {"gift_card_amount": "all", "key": key}
        booked = await http.post("/terminal/purchases", data=confirm)
        assert booked.status_code == 303, booked.text
        again = await http.post("/terminal/purchases", data=confirm)
        assert again.headers["location"] == booked.headers["location"]
        receipt = await http.get(booked.headers["location"])
        assert _fact(receipt, "receipt-tender-1") == rub("100.00") and _fact(receipt, "receipt-to-collect") == rub(
            "150.00"
        )
        assert _fact(receipt, "receipt-earned") == "7"  # 3 % of 250.00: the card's money earns points too
        api = await http.get(f"/v1/gift-cards/{number}", headers=auth(net.shop_key) | {"Gift-Card-PIN": "4321"})
        assert api.json()["balance"] == "0.00" and api.json()["status"] == "spent"
        # the card spent (by this sale) is refused at another sale's confirm, nothing written
        other = await http.post("/terminal/review", data=sale)
        before = await table_counts(services)
        spent = await http.post(
            "/terminal/purchases", data=sale | card | {"gift_card_amount": "10.00", "key": _key(other)}
        )
        assert spent.status_code in (409, 422) and 'id="gift_card-error"' in spent.text
        assert "spent" in spent.text
        assert (await table_counts(services))["purchases"] == before["purchases"]
        # refunded whole at the terminal: the card's share back on it (the card was spent: it can pay again)
        today = await http.get("/terminal/today")
        # the cashier's drawer: 150.00 paid at the till + the card's 100.00 she sold; the card's payment is apart
        figures = ("total-paid", "total-prepaid", "total-taken", "total-cash")
        assert [_fact(today, name) for name in figures] == [
            rub("150.00"),
            rub("100.00"),
            f"1 · {rub('100.00')}",
            rub("250.00"),
        ]
        purchase_id = re.search(r'href="/terminal/purchases/([^"/]+)/refund"', today.text).group(1)  # type: ignore[union-attr]
        form = await http.get(f"/terminal/purchases/{purchase_id}/refund")
        refunded = await http.post(
            f"/terminal/purchases/{purchase_id}/refund", data={"csrf_token": csrf, "whole": "1", "key": _key(form)}
        )
        assert refunded.status_code == 303, refunded.text
        done = await http.get(refunded.headers["location"])
        assert _fact(done, "to-gift-card-1") == rub("100.00") and f"Returned to gift card {number}" in done.text
        after_refund = await http.get("/terminal/today")
        assert _fact(after_refund, "total-cash") == rub("100.00")  # 150.00 handed back: the card's sale is left
        api = await http.get(f"/v1/gift-cards/{number}", headers=auth(net.shop_key) | {"Gift-Card-PIN": "4321"})
        assert api.json()["balance"] == "100.00" and api.json()["status"] == "active"
