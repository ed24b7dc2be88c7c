"""Gift cards through the HTTP API on both engines (issue 14, point 2): sold at the ticket office, asked at the café,
spent in a unit of work as the purchase's tender will, expired to breakage under each policy with exact figures;
PIN attempts limited; bad input, other networks' cards and forbidden outlets refused naming the field, writing
nothing; retries replayed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.domain.errors import CardNotActive, Conflict, NotFound
from coalition.domain.gift_cards import luhn_valid, redemption_postings
from coalition.domain.ledger import Posting, Transaction, TransactionKind, require_valid
from tests.http.water_park import DAY_START, water_park
from tests.support import assert_problem, auth, client, new_key, table_counts

pytestmark = pytest.mark.anyio


async def _counts(services) -> dict[str, int]:
    counts = await table_counts(services)
    async with services.engine.connect() as connection:
        for table in ("gift_cards", "accounts", "gift_card_settings"):
            counts[table] = int(await connection.scalar(sa.text(f"SELECT COUNT(*) FROM {table}")))
    return counts


async def _balance(services, owner_kind: str, purpose: str, owner_id: int | None = None) -> int:
    """The sum of the postings of the park's accounts of this kind and purpose (of one owner, when given)."""
    sql = (
        "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
        "WHERE a.owner_kind = :kind AND a.purpose = :purpose AND a.asset = 'money:RUB'"
    )
    arguments: dict[str, object] = {"kind": owner_kind, "purpose": purpose}
    if owner_id is not None:
        sql += " AND a.owner_id = :owner"
        arguments["owner"] = owner_id
    async with services.engine.connect() as connection:
        return int(await connection.scalar(sa.text(sql), arguments))


async def _sell(http, key, body, idempotency_key=None):
    return await http.post("/v1/gift-cards", json=body, headers=auth(key, idempotency_key or new_key()))


async def _redeem(services, ctx_key: str, number: str, pin: str | None, amount_minor: int) -> int:
    """What the purchase's gift-card tender will do: funds after the PIN, the postings, the guarded debit, in one
    unit of work with the transaction."""
    ctx = await services.pos.authenticate(ctx_key)
    funds = await services.gift_cards.gift_card_funds(ctx, number, pin)
    now = services.pos.clock.now()
    async with services.store.unit_of_work() as uow:
        card = await uow.gift_card_by_id(funds.card_id, lock=True)
        cafe = await uow.party_prepaid_account(ctx.network_id, ctx.partner_id, "money:RUB")
        postings = redemption_postings(card, amount_minor, cafe, "money:RUB", ctx.network_id, now)
        tx = require_valid(Transaction(TransactionKind.PURCHASE, postings, memo="paid with a gift card"))
        await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
        return await services.gift_cards.debit_in(uow, funds, amount_minor, now)


@pytest.mark.parametrize(
    ("policy", "kept", "returned"),
    [
        ({"policy": "kept"}, 64_950, 0),
        ({"policy": "returned"}, 0, 64_950),
        ({"policy": "shared", "share_bp": 2500}, 48_713, 16_237),  # 16,237.5 rounds down to the seller
    ],
)
async def test_a_card_sold_asked_spent_and_expired_by_the_policy(park, policy, kept, returned):
    services, clock = park
    clock.moment = DAY_START + timedelta(hours=1)
    async with client(services) as http:
        admin_key, keys, partners = await water_park(services)
        before = await _counts(services)
        sold = await _sell(http, keys["Tickets"], {"amount": "1000.00", "pin": "4321", "valid_days": 30})
        assert sold.status_code == 201, sold.text
        card = sold.json()
        assert (card["balance"], card["initial_amount"], card["currency"], card["status"]) == (
            "1000.00",
            "1000.00",
            "RUB",
            "active",
        )
        assert card["has_pin"] and len(card["number"]) == 19 and luhn_valid(card["number"])
        assert card["valid_until"] == (clock.moment + timedelta(days=30)).isoformat()
        after = await _counts(services)
        assert after["gift_cards"] == before["gift_cards"] + 1
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1  # the sale only: no points
        assert after["purchases"] == before["purchases"]
        assert await _balance(services, "partner", "prepaid", partners["Tickets"]) == -100_000
        assert await _balance(services, "gift_card", "gift_card") == 100_000

        number = card["number"]
        spaced = " ".join(number[i : i + 4] for i in range(0, 19, 4))  # as printed
        no_pin = await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Cafe"]))
        assert_problem(no_pin, 422, "invalid-input", "pin")
        asked = await http.get(f"/v1/gift-cards/{spaced}", headers=auth(keys["Cafe"]) | {"Gift-Card-PIN": "4321"})
        assert asked.status_code == 200, asked.text
        assert asked.json() == card

        assert await _redeem(services, keys["Cafe"], number, "4321", 35_050) == 64_950
        asked = await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]) | {"Gift-Card-PIN": "4321"})
        assert asked.json()["balance"] == "649.50"
        assert await _balance(services, "partner", "prepaid", partners["Cafe"]) == 35_050

        stored = await http.put("/v1/admin/gift-card-breakage", json=policy, headers=auth(admin_key))
        assert stored.status_code == 200, stored.text
        assert (await http.get("/v1/admin/gift-card-breakage", headers=auth(admin_key))).json() == {
            "policy": policy["policy"],
            "share_bp": policy.get("share_bp"),
        }
        early = await http.post("/v1/admin/jobs/expire-gift-cards", headers=auth(admin_key))
        assert early.json()["cards"] == 0  # still valid
        clock.moment += timedelta(days=30)
        pin = {"Gift-Card-PIN": "4321"}
        unswept = (await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]) | pin)).json()
        assert (unswept["status"], unswept["balance"]) == ("expired", "649.50")  # shown at once, swept later
        swept = await http.post("/v1/admin/jobs/expire-gift-cards", headers=auth(admin_key))
        assert swept.status_code == 200, swept.text
        assert swept.json() == {"cards": 1, "kept_minor": kept, "returned_minor": returned} | stored.json()
        assert (await http.post("/v1/admin/jobs/expire-gift-cards", headers=auth(admin_key))).json()["cards"] == 0

        shown = (await http.get(f"/v1/admin/gift-cards/{number}", headers=auth(admin_key))).json()
        assert (shown["status"], shown["balance"]) == ("expired", "0.00")
        assert await _balance(services, "gift_card", "gift_card") == 0
        assert await _balance(services, "node", "prepaid_breakage") == kept
        assert await _balance(services, "partner", "prepaid", partners["Tickets"]) == -100_000 + returned
        assert await _balance(services, "partner", "prepaid", partners["Cafe"]) == 35_050
        with pytest.raises(CardNotActive) as late:
            await _redeem(services, keys["Cafe"], number, "4321", 100)
        assert late.value.field == "number" and "expired" in late.value.detail
    assert await verify(services.engine) == []


async def test_five_wrong_pins_stop_pin_checks_for_fifteen_minutes(park):
    services, clock = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        number = (await _sell(http, keys["Tickets"], {"amount": "500.00", "pin": "2580"})).json()["number"]
        url, cafe = f"/v1/gift-cards/{number}", auth(keys["Cafe"])
        for left in (4, 3, 2, 1):
            wrong = await http.get(url, headers=cafe | {"Gift-Card-PIN": "1111"})
            assert f"{left} attempt(s) left" in assert_problem(wrong, 422, "invalid-input", "pin")["detail"]
        fifth = await http.get(url, headers=cafe | {"Gift-Card-PIN": "1111"})
        assert "stopped until" in assert_problem(fifth, 429, "too-many-attempts", "pin")["detail"]
        assert fifth.headers["Retry-After"] == "900"
        right_too_soon = await http.get(url, headers=cafe | {"Gift-Card-PIN": "2580"})
        assert_problem(right_too_soon, 429, "too-many-attempts", "pin")
        clock.moment += timedelta(minutes=15)
        right = await http.get(url, headers=cafe | {"Gift-Card-PIN": "2580"})
        assert right.status_code == 200 and right.json()["balance"] == "500.00"
        again = await http.get(url, headers=cafe | {"Gift-Card-PIN": "1111"})  # the count started afresh
        assert "4 attempt(s) left" in assert_problem(again, 422, "invalid-input", "pin")["detail"]


async def test_right_pins_at_once_never_stop_the_card_and_guesses_at_once_stay_within_five(park):
    """Eight enquiries with the right PIN at once: each is 200, or a 429 for a second while five checks are under
    way — never the 15-minute stop, which only wrong PINs cause. Eight wrong PINs at once try at most five."""
    services, _ = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        number = (await _sell(http, keys["Tickets"], {"amount": "500.00", "pin": "2580"})).json()["number"]
        url, cafe = f"/v1/gift-cards/{number}", auth(keys["Cafe"])
        right = await asyncio.gather(*(http.get(url, headers=cafe | {"Gift-Card-PIN": "2580"}) for _ in range(8)))
        statuses = [answer.status_code for answer in right]
        assert set(statuses) <= {200, 429} and statuses.count(200) >= 1, statuses
        for busy in (answer for answer in right if answer.status_code == 429):
            assert busy.headers["Retry-After"] == "1" and "under way" in busy.json()["detail"]
        after = await http.get(url, headers=cafe | {"Gift-Card-PIN": "2580"})
        assert after.status_code == 200 and after.json()["balance"] == "500.00"

        wrong = await asyncio.gather(*(http.get(url, headers=cafe | {"Gift-Card-PIN": "1111"}) for _ in range(8)))
        assert [answer.status_code for answer in wrong].count(422) <= 4  # the fifth wrong one stops the card
        assert all(answer.status_code in (422, 429) for answer in wrong)
        stopped = await http.get(url, headers=cafe | {"Gift-Card-PIN": "2580"})
        assert "stopped until" in assert_problem(stopped, 429, "too-many-attempts", "pin")["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "99999999999999999999999.00"}, "amount"),
        ({"amount": "100000000.01"}, "amount"),  # over the network's limit on a purchase
        ({"amount": "10.001"}, "amount"),
        ({"amount": 10}, "amount"),
        ({"amount": "10\u0000.00"}, "amount"),
        ({"amount": "10.00", "pin": "12\u000034"}, "pin"),
        ({"amount": "10.00", "pin": "12"}, "pin"),
        ({"amount": "10.00", "pin": "123456789"}, "pin"),
        ({"amount": "10.00", "currency": "USD"}, "currency"),
        ({"amount": "10.00", "valid_days": 0}, "valid_days"),
        ({"amount": "10.00", "valid_days": 10**30}, "valid_days"),
        ({"amount": "10.00", "number": "abc\u0000defgh"}, "number"),
        ({"amount": "10.00", "number": "12-34"}, "number"),
        ({"amount": "10.00", "surprise": 1}, "surprise"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(park, body, field):
    services, _ = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        before = await _counts(services)
        refused = await _sell(http, keys["Tickets"], body)
        assert_problem(refused, 422, refused.json()["type"].rsplit("/", 1)[1], field)
        assert await _counts(services) == before


async def test_a_retry_replays_the_sale_and_a_changed_body_under_the_same_key_is_refused(park):
    services, _ = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        key = new_key()
        first = await _sell(http, keys["Tickets"], {"amount": "250.00"}, key)
        assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
        counts = await _counts(services)
        again = await _sell(http, keys["Tickets"], {"amount": "250.00"}, key)
        assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, first.json(), "true")
        other = await _sell(http, keys["Tickets"], {"amount": "300.00"}, key)
        assert_problem(other, 422, "idempotency-key-reused", "Idempotency-Key")
        missing = await http.post("/v1/gift-cards", json={"amount": "1.00"}, headers=auth(keys["Tickets"]))
        assert_problem(missing, 422, "invalid-input", "Idempotency-Key")
        assert await _counts(services) == counts


async def test_an_outlet_the_matrix_forbids_cannot_sell_and_another_networks_card_is_unknown(park):
    services, _ = park
    async with client(services) as http:
        admin_key, keys, _ = await water_park(services)
        matrix = {"entries": [{"outlet": "Tickets desk", "counter": "gift_card", "operations": ["top_up", "spend"]}]}
        assert (await http.put("/v1/admin/permissions", json=matrix, headers=auth(admin_key))).status_code == 200
        services.pos.forget_matrix()
        before = await _counts(services)
        refused = await _sell(http, keys["Cafe"], {"amount": "100.00"})
        assert "may not top up gift_card" in assert_problem(refused, 403, "forbidden")["detail"]
        assert await _counts(services) == before
        sold = await _sell(http, keys["Tickets"], {"amount": "100.00"})
        assert sold.status_code == 201, sold.text

        other_admin, other_keys, _ = await water_park(services, code="lake")
        unknown = await http.get(f"/v1/gift-cards/{sold.json()['number']}", headers=auth(other_keys["Cafe"]))
        assert_problem(unknown, 404, "not-found", "card_number")
        hidden = await http.get(f"/v1/admin/gift-cards/{sold.json()['number']}", headers=auth(other_admin))
        assert_problem(hidden, 404, "not-found", "card_number")
        with pytest.raises(NotFound) as elsewhere:
            await _redeem(services, other_keys["Cafe"], sold.json()["number"], None, 100)
        assert elsewhere.value.field == "number"
        mistyped = sold.json()["number"][:-1] + str((int(sold.json()["number"][-1]) + 1) % 10)
        typo = await http.get(f"/v1/gift-cards/{mistyped}", headers=auth(keys["Cafe"]))
        assert "mistyped" in assert_problem(typo, 404, "not-found", "card_number")["detail"]


async def test_the_administrator_issues_blocks_and_unblocks_cards_and_a_promotions_breakage_is_the_nodes(park):
    services, clock = park
    async with client(services) as http:
        admin_key, keys, _ = await water_park(services)
        body = {"amount": "300.00", "number": "promo-2026-0001", "valid_days": 7}
        issued = await http.post("/v1/admin/gift-cards", json=body, headers=auth(admin_key))
        assert issued.status_code == 201, issued.text
        assert (issued.json()["number"], issued.json()["sold_at_outlet_id"], issued.json()["has_pin"]) == (
            "PROMO20260001",
            None,
            False,
        )
        twice = await http.post("/v1/admin/gift-cards", json=body, headers=auth(admin_key))
        assert_problem(twice, 409, "conflict", "number")
        assert await _balance(services, "node", "prepaid") == -30_000

        blocked = await http.post("/v1/admin/gift-cards/PROMO20260001/block", headers=auth(admin_key))
        assert blocked.json()["status"] == "blocked"
        asked = await http.get("/v1/gift-cards/promo-2026-0001", headers=auth(keys["Cafe"]))
        assert asked.json()["status"] == "blocked"
        before = await _counts(services)
        with pytest.raises(CardNotActive) as refused:
            await _redeem(services, keys["Cafe"], "PROMO20260001", None, 100)
        assert refused.value.field == "number" and "blocked" in refused.value.detail
        assert await _counts(services) == before
        unblocked = await http.post("/v1/admin/gift-cards/PROMO20260001/unblock", headers=auth(admin_key))
        assert unblocked.json()["status"] == "active"
        again = await http.post("/v1/admin/gift-cards/PROMO20260001/unblock", headers=auth(admin_key))
        assert again.status_code == 200  # already active: nothing to do
        assert await _redeem(services, keys["Cafe"], "PROMO20260001", None, 10_000) == 20_000

        await http.put("/v1/admin/gift-card-breakage", json={"policy": "returned"}, headers=auth(admin_key))
        clock.moment += timedelta(days=7)
        swept = (await http.post("/v1/admin/jobs/expire-gift-cards", headers=auth(admin_key))).json()
        assert (swept["cards"], swept["kept_minor"], swept["returned_minor"]) == (1, 20_000, 0)  # no seller: the node's
        assert await _balance(services, "node", "prepaid_breakage") == 20_000
        late = await http.post("/v1/admin/gift-cards/PROMO20260001/block", headers=auth(admin_key))
        assert_problem(late, 409, "conflict", "card_number")
        bad_policy = await http.put(
            "/v1/admin/gift-card-breakage", json={"policy": "shared", "share_bp": 10_001}, headers=auth(admin_key)
        )
        assert_problem(bad_policy, 422, "invalid-input", "share_bp")
    assert await verify(services.engine) == []


async def test_concurrent_spends_of_one_card_never_go_below_zero(park):
    services, _ = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        number = (await _sell(http, keys["Tickets"], {"amount": "100.00"})).json()["number"]
        outcomes = await asyncio.gather(
            *(_redeem(services, keys["Cafe"], number, None, 3_000) for _ in range(5)), return_exceptions=True
        )
        spent = [outcome for outcome in outcomes if isinstance(outcome, int)]
        refused = [outcome for outcome in outcomes if not isinstance(outcome, int)]
        assert sorted(spent) == [1_000, 4_000, 7_000]
        assert all(isinstance(error, Conflict | CardNotActive) or "insufficient" in str(error) for error in refused)
        assert len(refused) == 2
        asked = (await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]))).json()
        assert asked["balance"] == "10.00"
        assert await _redeem(services, keys["Cafe"], number, None, 1_000) == 0
        spent_card = (await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]))).json()
        assert (spent_card["status"], spent_card["balance"]) == ("spent", "0.00")
        with pytest.raises(CardNotActive) as nothing_left:
            await _redeem(services, keys["Cafe"], number, None, 1)
        assert "spent" in nothing_left.value.detail

        ctx = await services.pos.authenticate(keys["Cafe"])  # a refund puts 5.00 back on the spent card
        async with services.store.unit_of_work() as uow:
            card = await uow.gift_card(ctx.network_id, number)
            cafe = await uow.party_prepaid_account(ctx.network_id, ctx.partner_id, "money:RUB")
            postings = (Posting(cafe, "money:RUB", -500), Posting(card.account_id, "money:RUB", 500))
            back = require_valid(Transaction(TransactionKind.REFUND, postings, memo="refunded to the gift card"))
            await uow.post(ctx.network_id, back, ctx.outlet_id, services.pos.clock.now(), services.pos.clock.now())
            assert await uow.credit_gift_card(card.id, 500) == 500
        refunded = (await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]))).json()
        assert (refunded["status"], refunded["balance"]) == ("active", "5.00")
    assert await verify(services.engine) == []
    async with services.engine.begin() as connection:  # a balance that drifted from its postings is found
        await connection.execute(sa.text("UPDATE gift_cards SET balance_minor = 5"))
    assert [v.check.name for v in await verify(services.engine)] == ["gift-card-balances-equal-postings"]


async def test_a_till_trying_numbers_is_stopped_after_ten_that_find_no_card(park):
    services, _ = park
    async with client(services) as http:
        _, keys, _ = await water_park(services)
        number = (await _sell(http, keys["Tickets"], {"amount": "20.00"})).json()["number"]
        for _ in range(5):  # lookups that find their card cost nothing
            assert (await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Cafe"]))).status_code == 200
        for guess in range(10):
            missed = await http.get(f"/v1/gift-cards/GUESS{guess:04d}", headers=auth(keys["Cafe"]))
            assert_problem(missed, 404, "not-found", "card_number")
        stopped = await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Cafe"]))
        assert "found no card" in assert_problem(stopped, 429, "rate-limited", "card_number")["detail"]
        assert int(stopped.headers["Retry-After"]) >= 1
        elsewhere = await http.get(f"/v1/gift-cards/{number}", headers=auth(keys["Arcade"]))  # per terminal
        assert elsewhere.status_code == 200


async def test_the_debit_guards_itself_whatever_the_caller_checked(park):
    """The one statement a purchase's write will carry: it refuses more than the balance, a blocked card and a card
    past its validity by itself (a caller that read the card before a concurrent change cannot overdraw it)."""
    services, clock = park
    async with client(services) as http:
        admin_key, keys, _ = await water_park(services)
        number = (await _sell(http, keys["Tickets"], {"amount": "50.00", "valid_days": 1})).json()["number"]
        ctx = await services.pos.authenticate(keys["Cafe"])
        async with services.store.unit_of_work() as uow:
            card = await uow.gift_card(ctx.network_id, number)
            assert await uow.debit_gift_card(card.id, 5_001, clock.now()) is None
            assert await uow.debit_gift_card(card.id, 1_000, clock.now() + timedelta(days=1)) is None  # expired
            assert await uow.debit_gift_card(card.id, 1_000, clock.now() - timedelta(seconds=1)) is None  # not yet
        await http.post(f"/v1/admin/gift-cards/{number}/block", headers=auth(admin_key))
        async with services.store.unit_of_work() as uow:
            assert await uow.debit_gift_card(card.id, 1_000, clock.now()) is None
        await http.post(f"/v1/admin/gift-cards/{number}/unblock", headers=auth(admin_key))
        async with services.store.unit_of_work() as uow:
            assert await uow.debit_gift_card(card.id, 5_000, clock.now()) == 0
            assert (await uow.gift_card_by_id(card.id)).status.value == "spent"
            await uow.credit_gift_card(card.id, 5_000)  # undone here: no postings were made for this debit
