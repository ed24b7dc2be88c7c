"""The web terminal over HTTP on both engines: the steps of a sale, one booking per attempt key, the cashier's own
day (the query added for it), refunds from that list, enrolment, and the refusals shown beside their fields."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from coalition.adapters.storage.web_terminal_store import SqlWebTerminalStore
from coalition.application.member_admin import MemberAdministration
from coalition.application.web_terminal import WebTerminal
from coalition.wiring import Services
from tests.support import SettableClock, auth, buy, client, enrol, make_network, new_key, table_counts
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio
_KEY = re.compile(r'name="key" value="([^"]+)"')


class Shop:
    def __init__(self, services: Services, shop_key: str, outlet_id: int) -> None:
        self.services, self.shop_key, self.outlet_id = services, shop_key, outlet_id


async def _shop(services: Services) -> Shop:
    network = await make_network(services)
    listing = await services.admin.listing(network.ref)
    outlet_id = listing["outlets"][0]["id"]
    for login in ("anna", "olga"):
        await services.admin.create_cashier(network.ref, outlet_id, login, login.title(), f"{login}-secret-1")
    async with client(services) as http:
        await enrol(http, network.shop_key, "5000-0001")
        assert (await buy(http, network.shop_key, "5000-0001", "3500.00")).status_code == 201  # 105 points
    return Shop(services, network.shop_key, outlet_id)


async def _signed_in(http: httpx.AsyncClient, shop: Shop, login: str = "anna") -> str:
    signed = await sign_in_cashier(http, shop.outlet_id, login, f"{login}-secret-1")
    assert signed.status_code == 303
    return csrf_token((await http.get("/terminal")).text)


async def _review(http: httpx.AsyncClient, csrf: str, amount: str, points: str) -> httpx.Response:
    return await http.post(
        "/terminal/review", data={"csrf_token": csrf, "customer": "5000-0001", "amount": amount, "points": points}
    )


async def _confirm(
    http: httpx.AsyncClient, csrf: str, amount: str, points: str, headers: dict[str, str] | None = None
) -> tuple[str, httpx.Response]:
    review = await _review(http, csrf, amount, points)
    assert review.status_code == 200, review.text
    found = _KEY.search(review.text)
    assert found is not None
    key = found.group(1)
    data = {"csrf_token": csrf, "customer": "5000-0001", "amount": amount, "points": points, "key": key}
    return key, await http.post("/terminal/purchases", data=data, headers=headers or {})


async def test_a_sale_step_by_step_books_once_per_attempt_key(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": "5000-0001"})
        assert member.status_code == 200
        assert 'id="member-points">105<' in member.text
        quote = await http.post(
            "/terminal/quote", data={"csrf_token": csrf, "customer": "5000-0001", "amount": "2 000,00"}
        )
        assert 'id="max-points">105<' in quote.text  # 15 % of 2,000 is 300, the member has 105
        before = await table_counts(services)
        key, booked = await _confirm(http, csrf, "2000.00", "105")
        assert booked.status_code == 303 and booked.headers["location"] == f"/terminal/receipts/{key}"
        data = {"csrf_token": csrf, "customer": "5000-0001", "amount": "2000.00", "points": "105", "key": key}
        again = await http.post("/terminal/purchases", data=data, headers={"X-Requested-With": "fetch"})
        assert again.status_code == 200 and again.json() == {"receipt_url": f"/terminal/receipts/{key}"}
        after = await table_counts(services)
        assert after["purchases"] == before["purchases"] + 1
        receipt = await http.get(f"/terminal/receipts/{key}")
        assert 'id="receipt-earned">56<' in receipt.text  # 3 % of the 1,895.00 paid, rounded down
        assert 'id="receipt-balance">56<' in receipt.text
    async with client(services) as pos:
        answer = await pos.get("/v1/members/5000-0001", headers=auth(shop.shop_key))
        assert answer.json()["points_balance"] == 56


async def test_too_many_points_and_a_bad_amount_are_shown_beside_their_fields(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        before = await table_counts(services)
        greedy = await _review(http, csrf, "2000.00", "106")
        assert greedy.status_code == 422
        assert 'id="points-error"' in greedy.text and "At most 105 points can pay this check." in greedy.text
        small = await _review(http, csrf, "1000.00", "10")
        assert "Points pay only checks from" in small.text
        bad = await http.post("/terminal/quote", data={"csrf_token": csrf, "customer": "5000-0001", "amount": "12,3,4"})
        assert bad.status_code == 422 and 'id="amount-error"' in bad.text
        unknown = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": "9999-9999"})
        assert unknown.status_code == 404 and "No customer has this card number or phone." in unknown.text
        fetched = await http.post(
            "/terminal/purchases",
            data={"csrf_token": csrf, "customer": "5000-0001", "amount": "2000.00", "points": "500", "key": new_key()},
            headers={"X-Requested-With": "fetch"},
        )
        assert fetched.status_code == 422 and fetched.json()["field"] == "points"
        assert await table_counts(services) == before


async def test_the_day_lists_only_the_cashiers_own_purchases_with_totals(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        await _confirm(http, csrf, "2000.00", "0")  # earns 60
        await _confirm(http, csrf, "1600.00", "100")  # pays 1,500.00, earns 45
    async with client(services) as other:
        other_csrf = await _signed_in(other, shop, "olga")
        await _confirm(other, other_csrf, "700.00", "0")
    terminal: WebTerminal = services.web_terminal
    ctx = await services.pos.authenticate(shop.shop_key)
    day = await terminal.cashier_day(ctx, "anna")
    assert [p.check_minor for p in day.purchases] == [2000_00, 1600_00]
    totals = day.totals
    assert (totals.checks, totals.amount_due_minor, totals.points_redeemed, totals.points_earned) == (
        2,
        3500_00,
        100,
        105,
    )
    assert [p.check_minor for p in (await terminal.cashier_day(ctx, "olga")).purchases] == [700_00]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert (await terminal.cashier_day(ctx, "anna", yesterday)).purchases == ()
    assert (await terminal.cashier_day(ctx, "anna", date(2020, 1, 1))).totals.checks == 0


async def test_a_refund_from_the_day_list_once_per_key(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        await _confirm(http, csrf, "2000.00", "0")
        ctx = await services.pos.authenticate(shop.shop_key)
        (purchase,) = (await services.web_terminal.cashier_day(ctx, "anna")).purchases
        page = await http.get(f"/terminal/purchases/{purchase.id}/refund")
        found = _KEY.search(page.text)
        assert found is not None
        data = {"csrf_token": csrf, "key": found.group(1), "amount": "500,00"}
        too_much = await http.post(
            f"/terminal/purchases/{purchase.id}/refund", data=data | {"key": new_key(), "amount": "2500"}
        )
        assert too_much.status_code == 422 and 'id="amount-error"' in too_much.text
        first = await http.post(f"/terminal/purchases/{purchase.id}/refund", data=data)
        second = await http.post(f"/terminal/purchases/{purchase.id}/refund", data=data)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        done = await http.get(first.headers["location"])
        assert 'id="points-clawed-back">15<' in done.text  # a quarter of the 60 earned
        (refunded,) = (await services.web_terminal.cashier_day(ctx, "anna")).purchases
        assert refunded.refunded_minor == 500_00


async def test_a_cashier_cannot_open_another_outlets_purchase(services: Services) -> None:
    shop = await _shop(services)
    network_listing = await services.admin.listing(await services.admin.network("shop"))
    cafe_outlet = network_listing["outlets"][1]["id"]
    await services.admin.create_cashier(await services.admin.network("shop"), cafe_outlet, "cafe", "Cafe", "cafe-1234")
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        await _confirm(http, csrf, "2000.00", "0")
        ctx = await services.pos.authenticate(shop.shop_key)
        (purchase,) = (await services.web_terminal.cashier_day(ctx, "anna")).purchases
    async with client(services) as cafe:
        assert (await sign_in_cashier(cafe, cafe_outlet, "cafe", "cafe-1234")).status_code == 303
        assert (await cafe.get(f"/terminal/purchases/{purchase.id}/refund")).status_code == 404


async def test_enrolment_issues_a_personal_card_once_per_key(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        form = await http.get("/terminal/enrol")
        found = _KEY.search(form.text)
        assert found is not None
        data = {
            "csrf_token": csrf,
            "key": found.group(1),
            "kind": "personal",
            "card_number": "5000-0100",
            "name": "Nina",
            "phone": "+7 912 555 01 02",
            "email": "not-an-address",
            "birth_date": "1990-05-31",
        }
        refused = await http.post("/terminal/enrol", data=data)
        assert refused.status_code == 422 and 'id="email-error"' in refused.text
        data["email"] = "nina@example.org"
        no_consent = await http.post("/terminal/enrol", data=data)
        assert 'id="consent_data_processing-error"' in no_consent.text
        data["consent_data_processing"] = "on"
        first = await http.post("/terminal/enrol", data=data)
        second = await http.post("/terminal/enrol", data=data)
        assert first.status_code == second.status_code == 303
        assert "Card 50000100 is active." in (await http.get(first.headers["location"])).text
        taken = await http.post("/terminal/enrol", data=data | {"key": new_key(), "phone": ""})
        assert taken.status_code == 409 and 'id="card_number-error"' in taken.text
    async with client(services) as pos:
        member = (await pos.get("/v1/members/+79125550102", headers=auth(shop.shop_key))).json()
        assert member["member"]["name"] == "Nina" and "birth_date" not in member["member"]  # a till is not told
    network_id = (await services.pos.authenticate(shop.shop_key)).network_id
    profile = await MemberAdministration(services.pos).overview(network_id, member["member"]["id"])
    assert profile.profile.birth_date == date(1990, 5, 31)


async def test_a_blocked_card_sells_nothing_and_odd_points_are_refused(services: Services) -> None:
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        odd = await _review(http, csrf, "2000.00", "1²")
        assert odd.status_code == 422 and "Enter the points as a whole number" in odd.text
        blocked = await http.post("/v1/cards/5000-0001/block", headers=auth(shop.shop_key, new_key()))
        assert blocked.status_code == 200
        member = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": "5000-0001"})
        assert "This card is blocked" in member.text and 'name="amount"' not in member.text
        quote = await http.post("/terminal/quote", data={"csrf_token": csrf, "customer": "5000-0001", "amount": "2000"})
        assert quote.status_code == 409 and "This card cannot be used now" in quote.text
        before = await table_counts(services)
        data = {"csrf_token": csrf, "customer": "5000-0001", "amount": "2000.00", "points": "0", "key": new_key()}
        refused = await http.post("/terminal/purchases", data=data, headers={"X-Requested-With": "fetch"})
        assert refused.status_code == 409 and refused.json()["detail"].startswith("This card cannot be used now")
        assert await table_counts(services) == before


async def test_the_cashiers_day_is_the_outlets_calendar_day(services: Services) -> None:
    """The shop is in Moscow (UTC+3): 20:30 UTC is 23:30 there, the evening before; 21:30 UTC is 00:30 next day."""
    shop = await _shop(services)
    ctx = await services.pos.authenticate(shop.shop_key)
    evening, after_midnight = datetime(2026, 11, 25, 20, 30, tzinfo=UTC), datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    async with client(services) as http:
        for receipt, moment in (("late", evening), ("early", after_midnight)):
            body = {
                "customer": "5000-0001",
                "amount": "100.00",
                "receipt": receipt,
                "cashier": "anna",
                "occurred_at": moment.isoformat(),
            }
            real_clock, services.pos.clock = services.pos.clock, SettableClock(moment)  # recorded then (hole 5)
            bought = await http.post("/v1/purchases", json=body, headers=auth(shop.shop_key, new_key()))
            services.pos.clock = real_clock
            assert bought.status_code == 201, bought.text
    terminal = WebTerminal(SqlWebTerminalStore(services.engine).unit_of_work, SettableClock(after_midnight))
    assert terminal.local_today(ctx) == date(2026, 11, 26)
    today = await terminal.cashier_day(ctx, "anna")
    assert [p.receipt for p in today.purchases] == ["early"]
    assert [p.occurred_at for p in today.purchases] == [after_midnight]
    before = await terminal.cashier_day(ctx, "anna", date(2026, 11, 25))
    assert [p.receipt for p in before.purchases] == ["late"]


_FACTS = re.compile(r'<dl class="facts">.*?</dl>', re.DOTALL)


async def test_a_replayed_purchase_shows_the_receipt_it_first_gave(services: Services) -> None:
    """The receipt is the purchase's typed answer as first given: a retry of the attempt, after the member's balance
    has moved on, books nothing and shows the same figures, never figures worked out again."""
    shop = await _shop(services)
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        key, booked = await _confirm(http, csrf, "2000.00", "105")
        assert booked.status_code == 303
        first = await http.get(f"/terminal/receipts/{key}")
        assert first.status_code == 200
        await _confirm(http, csrf, "1000.00", "0")  # the balance moves on: 56 + 30
        before = await table_counts(services)
        data = {"csrf_token": csrf, "customer": "5000-0001", "amount": "2000.00", "points": "105", "key": key}
        again = await http.post("/terminal/purchases", data=data)
        assert again.status_code == 303 and again.headers["location"] == f"/terminal/receipts/{key}"
        replayed = await http.get(again.headers["location"])
        assert await table_counts(services) == before
    facts = _FACTS.search(first.text)
    assert facts is not None and facts.group(0) == _FACTS.search(replayed.text).group(0)  # type: ignore[union-attr]
    figures = {
        name: re.search(rf'id="receipt-{name}">([^<]+)<', replayed.text).group(1)  # type: ignore[union-attr]
        for name in ("check", "spent", "paid", "earned", "balance")
    }
    assert figures["spent"] == "105" and figures["earned"] == "56" and figures["balance"] == "56"
    assert "2,000.00" in figures["check"] and "1,895.00" in figures["paid"]


async def test_the_cashier_enters_the_first_purchase_when_the_network_asks_for_one(services: Services) -> None:
    shop = await _shop(services)
    network_id = (await services.pos.authenticate(shop.shop_key)).network_id
    await services.limits.set_card_minimum(network_id, "RUB", "400.00")  # docs/program-editor.md
    async with client(services) as http:
        csrf = await _signed_in(http, shop)
        found = _KEY.search((await http.get("/terminal/enrol")).text)
        assert found is not None
        data = {"csrf_token": csrf, "key": found.group(1), "kind": "anonymous", "card_number": "5000-0400"}
        refused = await http.post("/terminal/enrol", data=data | {"first_purchase": "350.00"})
        assert refused.status_code == 422 and 'id="first_purchase-error"' in refused.text
        assert "only with a first purchase of at least 400.00" in refused.text
        issued = await http.post("/terminal/enrol", data=data | {"first_purchase": "400.00"})
        assert issued.status_code == 303
