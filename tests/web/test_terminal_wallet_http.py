"""The web terminal's wallet over HTTP on both engines (issue 14, point 5): the wallet on the customer's screen, a
top-up confirmed once per attempt, a sale paid in part by the wallet with exact figures, a refund back into it, and
refusals — bad input, NUL bytes, the permissions matrix, insufficient funds, a closed wallet — that write nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from coalition.wiring import Services
from tests.support import Network, auth, client, enrol, make_network, new_key, table_counts
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio

CARD = "7700-0001"
_KEY = re.compile(r'name="key" value="([^"]+)"')
_REFUND = re.compile(r'href="/terminal/purchases/([^"/]+)/refund"')


def rub(amount: str) -> str:
    return f"RUB\xa0{amount}"


async def _cashier(services: Services, http: httpx.AsyncClient, net: Network, outlet: int = 0) -> str:
    listing = await services.admin.listing(net.ref)
    outlet_id = listing["outlets"][outlet]["id"]
    login = f"cashier{outlet}"
    await services.admin.create_cashier(net.ref, outlet_id, login, "Cashier", "cashier-secret-1")
    assert (await sign_in_cashier(http, outlet_id, login, "cashier-secret-1")).status_code == 303
    return csrf_token((await http.get("/terminal")).text)


async def _balance(http: httpx.AsyncClient, net: Network) -> str:
    answer = await http.get(f"/v1/members/{CARD}/wallet", headers=auth(net.shop_key))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["balance"])


async def _top_up_by_api(http: httpx.AsyncClient, net: Network, amount: str) -> None:
    topped = await http.post(
        "/v1/wallets/top-ups", json={"customer": CARD, "amount": amount}, headers=auth(net.shop_key, new_key())
    )
    assert topped.status_code == 201, topped.text


async def _matrix(http: httpx.AsyncClient, net: Network, entries: list[dict[str, object]]) -> None:
    changed = await http.put("/v1/admin/permissions", json={"entries": entries}, headers=auth(net.admin_key))
    assert changed.status_code == 200, changed.text


def _key(page: httpx.Response) -> str:
    found = _KEY.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def _fact(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)<', page.text, re.S)
    assert found is not None, element_id
    return found.group(1).strip()


async def test_the_customers_screen_shows_the_wallet_and_a_top_up_is_made_once(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        csrf = await _cashier(services, http, net)
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": CARD})
        assert member.status_code == 200, member.text
        assert _fact(member, "wallet-balance") == rub("0.00")  # no wallet yet: an empty one
        assert _fact(member, "wallet-available") == f"can pay {rub('0.00')} now"
        assert 'action="/terminal/top-up"' in member.text

        review = await http.post("/terminal/top-up", data={"csrf_token": csrf, "customer": CARD, "top_up": "1 500,50"})
        assert review.status_code == 200, review.text
        assert _fact(review, "top-up-take") == f"Take {rub('1,500.50')}"
        assert _fact(review, "top-up-after") == rub("1,500.50")
        assert 'name="top_up" value="1500.50"' in review.text
        before = await table_counts(services)
        confirm = {"csrf_token": csrf, "customer": CARD, "top_up": "1500.50", "key": _key(review)}
        first = await http.post("/terminal/top-ups", data=confirm)
        assert first.status_code == 303 and first.headers["location"] == f"/terminal/top-ups/{confirm['key']}"
        again = await http.post("/terminal/top-ups", data=confirm)  # a double tap, a retry: the same answer
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
        after = await table_counts(services)
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1
        assert await _balance(http, net) == "1500.50"
        receipt = await http.get(first.headers["location"])
        assert receipt.status_code == 200 and "Top-up saved" in receipt.text
        assert (_fact(receipt, "topped-up"), _fact(receipt, "top-up-balance")) == (rub("1,500.50"), rub("1,500.50"))
        assert (await http.get(f"/terminal/top-ups/{new_key()}")).status_code == 404
        assert (await http.get(f"/terminal/receipts/{confirm['key']}")).status_code == 404  # not a purchase
        # a key reused for another top-up is refused, and nothing more is written
        other = await http.post("/terminal/top-ups", data=confirm | {"top_up": "10.00"})
        assert other.status_code == 422 and 'id="top_up-error"' in other.text
        assert await table_counts(services) == after
        shown = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": CARD})
        assert _fact(shown, "wallet-balance") == rub("1,500.50")
        russian = await http.post(
            "/terminal/member", data={"csrf_token": csrf, "customer": CARD}, headers={"Accept-Language": "ru"}
        )
        assert "Кошелёк" in russian.text and "Пополнить карту" in russian.text


async def test_a_bad_or_forbidden_top_up_is_refused_and_writes_nothing(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        csrf = await _cashier(services, http, net)
        data = {"csrf_token": csrf, "customer": CARD}
        before = await table_counts(services)
        cases = {
            "": (422, "Enter the amount."),
            "-5": (422, "Enter an amount such as 1500.00."),
            "0": (422, "The amount must be greater than zero."),
            "12.345": (422, "Enter an amount such as 1500.00."),
            "abc": (422, "Enter an amount such as 1500.00."),
            "99999999999": (422, "a top-up is at most"),
            "9" * 400: (422, "Enter an amount such as 1500.00."),
        }
        for typed, (status, message) in cases.items():
            for path, extra in (("/terminal/top-up", {}), ("/terminal/top-ups", {"key": new_key()})):
                refused = await http.post(path, data=data | extra | {"top_up": typed})
                assert refused.status_code == status, (path, typed, refused.text)
                assert 'id="top_up-error"' in refused.text and message in refused.text, (path, typed)
                assert '<details id="top-up" open>' in refused.text  # the top-up stays open, what was typed kept
        for field in ("top_up", "customer", "key"):
            nul = await http.post(
                "/terminal/top-ups", data=data | {"top_up": "10.00", "key": new_key(), field: "1\x00"}
            )
            assert nul.status_code == 422 and "control characters (such as NUL) are not allowed" in nul.text
        stale = await http.post("/terminal/top-ups", data=data | {"top_up": "10.00", "key": "short"})
        assert stale.status_code == 422 and "This form is out of date" in stale.text
        nobody = await http.post("/terminal/top-up", data=data | {"customer": "9999-9999", "top_up": "10"})
        assert nobody.status_code == 404 and "No customer has this card number or phone." in nobody.text
        assert await table_counts(services) == before

        # only the café may top up: refused at the shop before the money is taken, and at the confirm
        await _matrix(http, net, [{"outlet": "Cafe till", "counter": "wallet:RUB", "operations": ["top_up", "spend"]}])
        before = await table_counts(services)
        forbidden = await http.post("/terminal/top-up", data=data | {"top_up": "100"})
        assert forbidden.status_code == 403
        assert "outlet &#39;Shop till&#39; may not top up wallet:RUB" in forbidden.text
        assert 'id="top_up-error"' in forbidden.text and 'value="100"' in forbidden.text
        written = await http.post("/terminal/top-ups", data=data | {"top_up": "100.00", "key": new_key()})
        assert written.status_code == 403 and "may not top up wallet:RUB" in written.text
        russian = await http.post("/terminal/top-up", data=data | {"top_up": "100"}, headers={"Accept-Language": "ru"})
        assert "нельзя пополнять по счётчику wallet:RUB" in russian.text
        assert await table_counts(services) == before
        assert await _balance(http, net) == "0.00"


async def _review(http: httpx.AsyncClient, csrf: str, amount: str) -> httpx.Response:
    review = await http.post(
        "/terminal/review", data={"csrf_token": csrf, "customer": CARD, "amount": amount, "points": "0"}
    )
    assert review.status_code == 200, review.text
    return review


async def test_a_sale_paid_in_part_by_the_wallet_then_refunded_into_it(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        await _top_up_by_api(http, net, "100.00")
        csrf = await _cashier(services, http, net, outlet=1)  # the café's till
        review = await _review(http, csrf, "250.00")
        assert _fact(review, "amount-due") == rub("250.00")
        assert f"Pay {rub('100.00')} from the wallet" in review.text  # all it can: 100.00 of 250.00
        sale = {"csrf_token": csrf, "customer": CARD, "amount": "250.00", "points": "0"}
        part = await http.post("/terminal/pay-by-wallet", data=sale | {"wallet_amount": "60"})
        assert part.status_code == 200, part.text
        assert (_fact(part, "payable"), _fact(part, "wallet-part"), _fact(part, "to-collect")) == (
            rub("250.00"),
            rub("60.00"),
            rub("190.00"),
        )
        assert _fact(part, "amount-due") == rub("190.00")  # the big figure: what to collect at the till
        assert 'name="wallet" value="60.00"' in part.text
        key = _key(part)
        before = await table_counts(services)
        booked = await http.post("/terminal/purchases", data=sale | {"wallet": "60.00", "key": key})
        assert booked.status_code == 303, booked.text
        again = await http.post("/terminal/purchases", data=sale | {"wallet": "60.00", "key": key})
        assert again.status_code == 303 and again.headers["location"] == booked.headers["location"]
        assert (await table_counts(services))["purchases"] == before["purchases"] + 1
        receipt = await http.get(booked.headers["location"])
        assert (_fact(receipt, "receipt-paid"), _fact(receipt, "receipt-tender-1")) == (rub("250.00"), rub("60.00"))
        assert _fact(receipt, "receipt-to-collect") == rub("190.00")
        assert _fact(receipt, "receipt-earned") == "7"  # 3 % of 250.00: the wallet's money earns points too
        assert await _balance(http, net) == "40.00"

        # all the wallet can: 40.00 of 100.00, 60.00 to collect
        everything = await http.post("/terminal/pay-by-wallet", data=sale | {"amount": "100.00", "wallet": "all"})
        assert (_fact(everything, "wallet-part"), _fact(everything, "to-collect")) == (rub("40.00"), rub("60.00"))
        assert 'name="wallet" value="all"' in everything.text
        unused = await http.post("/terminal/review", data=sale | {"amount": "100.00"})  # "Do not use the wallet"
        assert 'id="wallet-part"' not in unused.text and _fact(unused, "amount-due") == rub("100.00")

        # the whole first purchase refunded: 60.00 back into the wallet, 190.00 handed back at the till
        today = await http.get("/terminal/today")
        assert (_fact(today, "total-paid"), _fact(today, "total-prepaid")) == (rub("190.00"), rub("60.00"))
        assert _fact(today, "total-cash") == rub("190.00")  # the top-up was the till's API call, named no cashier
        [purchase_id] = _REFUND.findall(today.text)
        form = await http.get(f"/terminal/purchases/{purchase_id}/refund")
        refund_key = _key(form)
        refunded = await http.post(
            f"/terminal/purchases/{purchase_id}/refund", data={"csrf_token": csrf, "key": refund_key, "whole": "1"}
        )
        assert refunded.status_code == 303, refunded.text
        done = await http.get(refunded.headers["location"])
        assert _fact(done, "money-back") == f"Give back {rub('190.00')} at the till"
        assert _fact(done, "to-wallet") == rub("60.00")
        assert await _balance(http, net) == "100.00"


async def test_a_wallet_that_cannot_pay_is_refused_and_nothing_is_written(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        await _top_up_by_api(http, net, "50.00")
        csrf = await _cashier(services, http, net, outlet=1)
        sale = {"csrf_token": csrf, "customer": CARD, "amount": "250.00", "points": "0"}
        before = await table_counts(services)
        cases = {
            "80": (422, f"The wallet can pay at most {rub('50.00')} now."),
            "300": (422, f"The wallet can pay at most what is left to pay: {rub('250.00')}."),
            "-1": (422, "Enter an amount such as 1500.00."),
            "0": (422, "The amount must be greater than zero."),
            "": (422, "Enter the amount."),
            "1 000 000": (422, "The wallet can pay at most what is left to pay"),
            "99999999999999": (422, "Enter an amount such as 1500.00."),  # more digits than an amount has
        }
        for typed, (status, message) in cases.items():
            refused = await http.post("/terminal/pay-by-wallet", data=sale | {"wallet_amount": typed})
            assert refused.status_code == status, (typed, refused.text)
            assert 'id="wallet-error"' in refused.text and message in refused.text, (typed, refused.text)
            assert _fact(refused, "amount-due") == rub("250.00") and 'type="hidden" name="wallet"' not in refused.text
        nul = await http.post("/terminal/pay-by-wallet", data=sale | {"wallet_amount": "1\x000"})
        assert nul.status_code == 422 and "control characters (such as NUL) are not allowed" in nul.text
        # a wallet spent meanwhile (or a forged form): refused at the confirm, the same sale without the wallet
        late = await http.post("/terminal/purchases", data=sale | {"wallet": "80.00", "key": new_key()})
        assert late.status_code == 422 and 'id="wallet-error"' in late.text
        assert f"The wallet can pay at most {rub('50.00')} now." in late.text
        script = await http.post(
            "/terminal/purchases",
            data=sale | {"wallet": "80.00", "key": new_key()},
            headers={"X-Requested-With": "fetch"},
        )
        assert script.status_code == 422 and script.json()["field"] == "wallet"
        assert script.json()["detail"] == f"The wallet can pay at most {rub('50.00')} now."
        forged = await http.post("/terminal/purchases", data=sale | {"wallet": "lots", "key": new_key()})
        assert forged.status_code == 422 and 'id="wallet-error"' in forged.text
        russian = await http.post(
            "/terminal/pay-by-wallet", data=sale | {"wallet_amount": "80"}, headers={"Accept-Language": "ru"}
        )
        assert "Кошельком можно оплатить сейчас не больше" in russian.text
        assert await table_counts(services) == before
        assert await _balance(http, net) == "50.00"

        # the café may not take wallet money; then the wallet closed
        entries = [
            {"outlet": "Shop till", "counter": "wallet:RUB", "operations": ["top_up", "spend"]},
            {"outlet": "Cafe till", "counter": "points", "operations": ["accrue", "spend"]},
        ]
        await _matrix(http, net, entries)
        before = await table_counts(services)
        forbidden = await http.post("/terminal/pay-by-wallet", data=sale | {"wallet": "all"})
        assert forbidden.status_code == 403 and "outlet &#39;Cafe till&#39; may not spend wallet:RUB" in forbidden.text
        assert 'id="wallet-error"' in forbidden.text and await table_counts(services) == before
        await _matrix(http, net, [])
        member_id = member["member"]["id"] if "member" in member else member["id"]
        closed = await http.post(f"/v1/admin/members/{member_id}/wallet/close", headers=auth(net.admin_key))
        assert closed.status_code == 200, closed.text
        before = await table_counts(services)
        shut = await http.post("/terminal/pay-by-wallet", data=sale | {"wallet": "all"})
        assert shut.status_code == 422 and "The customer&#39;s wallet is closed; it cannot pay." in shut.text
        screen = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": CARD})
        assert "closed: it neither pays nor takes money" in screen.text
        assert 'action="/terminal/top-up"' not in screen.text
        assert await table_counts(services) == before


@pytest.mark.parametrize("typed", ["8 912 000 00 03", "9120000003", "89120000003", "+7 912 000-00-03"])
async def test_a_phone_typed_in_its_national_form_finds_the_member_and_their_wallet(
    services: Services, typed: str
) -> None:
    """Issue 18 review (e): the wallet read after the member's lookup reads the phone as a number of the network's
    country too, at the web terminal and through GET /v1/members/<phone>/wallet."""
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD, phone="+7 912 000-00-03")
        await _top_up_by_api(http, net, "250.00")
        answer = await http.get(f"/v1/members/{typed}/wallet", headers=auth(net.shop_key))
        assert answer.status_code == 200, answer.text
        assert answer.json()["balance"] == "250.00"
        csrf = await _cashier(services, http, net)
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": typed})
        assert member.status_code == 200, member.text
        assert _fact(member, "wallet-balance") == rub("250.00")
