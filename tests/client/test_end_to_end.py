"""A cashier's and a device's day through the client against a real `coalition serve`, on both engines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coalition_client import AsyncClient, Client, Conflict, InvalidInput, NotFound, Unauthorized, minor_units
from coalition_client.admin_models import Outlet, Partner, Terminal, Webhook
from coalition_client.models import (
    DeviceUse,
    Enrol,
    Heartbeat,
    Identifier,
    Profile,
    Purchase,
    Quote,
    Refund,
    TopUp,
)

from .conftest import Demo

PHONE = "+7 912 555 01 02"


def _enrol(till: Client) -> str:
    enrolled = till.enrol(
        Enrol(
            card_number="3000-0001",
            identifiers=[Identifier(kind="phone", value=PHONE)],
            profile=Profile(name="Lena Orlova", consent_data_processing=True),
        )
    )
    assert enrolled.card is not None and enrolled.points_balance == 0
    assert enrolled.card.number == "30000001"  # as docs/client.md shows it
    return enrolled.card.number


def test_a_cashier_enrols_quotes_sells_and_refunds_through_the_client(demo: Demo) -> None:
    with Client(demo.url, demo.till_key) as till:
        card = _enrol(till)
        # The demo program's first tier earns 3 % of the amount in points (1 point = 1.00 RUB).
        quote = till.quote(Quote(customer=PHONE, amount=Decimal("1000.00")))
        assert (quote.points_to_earn, quote.amount_due, quote.currency) == (30, Decimal("1000.00"), "RUB")

        sale = till.purchase(Purchase(customer=card, amount=Decimal("1000.00"), receipt="R-1"))
        assert (sale.points_earned, sale.points_balance, minor_units(sale.amount_due)) == (30, 30, 100_000)

        refund = till.refund(sale.id, Refund(amount=Decimal("400.00")))
        assert (refund.points_clawed_back, refund.points_balance, refund.refundable_left) == (12, 18, Decimal("600.00"))

        member = till.member(PHONE)
        assert (member.points_balance, member.lifetime_spend, [c.number for c in member.cards]) == (
            18,
            Decimal("600.00"),
            [card],
        )
    with Client(demo.url, demo.admin_key) as admin:
        statement = admin.member_statement(card)
        assert [t["kind"] for t in statement["transactions"]][:2] in (["purchase", "refund"], ["refund", "purchase"])


def test_a_device_authorizes_and_charges_a_members_wallet_through_the_client(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        admin.change_device(demo.arcade_id, {"opening_hours": None})  # always open, whatever the hour of the test
    with Client(demo.url, demo.till_key) as till:
        card = _enrol(till)
        topped = till.top_up(TopUp(customer=card, amount=Decimal("300.00")))
        assert topped.balance == Decimal("300.00")
    with Client(demo.url, demo.arcade_key) as arcade:
        allowed = arcade.authorize(DeviceUse(customer=card))
        assert (allowed.allowed, allowed.price, allowed.uses) == (True, Decimal("50.00"), 6)
        charge = arcade.charge(DeviceUse(customer=card))
        assert (charge.amount, charge.wallet.balance) == (Decimal("50.00"), Decimal("250.00"))
        assert arcade.heartbeat(Heartbeat(status={"coins": "ok"})).device_id == demo.arcade_id


def test_refusals_come_back_as_typed_exceptions_naming_the_field(demo: Demo) -> None:
    with Client(demo.url, demo.till_key) as till:
        with pytest.raises(InvalidInput) as invalid:
            till.purchase(Purchase(customer="1000-0001", amount=Decimal("-5"), receipt="R-bad"))
        assert (invalid.value.status, invalid.value.field, invalid.value.code) == (422, "amount", "invalid-input")
        assert "non-negative decimal amount" in invalid.value.detail

        with pytest.raises(NotFound) as missing:
            till.member("9999-9999")
        assert (missing.value.status, missing.value.field) == (404, "identifier")

        sale = till.purchase(Purchase(customer="1000-0001", amount=Decimal("100.00"), receipt="R-small"))
        with pytest.raises((Conflict, InvalidInput)) as too_much:
            till.refund(sale.id, Refund(amount=Decimal("100.01")))
        assert too_much.value.status in (409, 422) and too_much.value.title

    with Client(demo.url, "term_not_a_key") as stranger, pytest.raises(Unauthorized) as refused:
        stranger.member("1000-0001")
    assert refused.value.status == 401
    with pytest.raises(TypeError, match="never float"), Client(demo.url, demo.till_key) as till:
        till.quote(Quote(customer="1000-0001", amount=1000.0))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_the_async_client_sells_and_replays_a_purchase_by_its_key(demo: Demo) -> None:
    async with AsyncClient(demo.url, demo.till_key) as till:
        first = await till.purchase(
            Purchase(customer="1000-0004", amount=Decimal("1000.00"), receipt="R-async"), idempotency_key="till-7-42"
        )
        again = await till.purchase(
            Purchase(customer="1000-0004", amount=Decimal("1000.00"), receipt="R-async"), idempotency_key="till-7-42"
        )
        assert again.id == first.id and again.points_balance == first.points_balance
        assert (await till.member("1000-0004")).points_balance == first.points_balance


def test_an_administrator_adds_a_shop_a_till_and_a_webhook_through_the_client(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        assert admin.network()["network"]["code"] == "demo"
        partner = admin.create_partner(Partner(name="Bakery"))
        outlet = admin.create_outlet(Outlet(partner_id=partner["id"], name="Bakery counter"))
        terminal = admin.create_terminal(Terminal(outlet_id=outlet["id"], name="Bakery till"))
        hook = admin.create_webhook(Webhook(url="http://127.0.0.1:9/hook", event_kinds=["purchase.recorded"]))
        assert hook.secret and hook.status == "active" and hook.event_kinds == ["purchase.recorded"]
        assert [w.id for w in admin.webhooks().webhooks] == [hook.id]
        assert admin.pause_webhook(hook.id).status == "paused"
    with Client(demo.url, terminal["key"]) as bakery:
        sale = bakery.purchase(Purchase(customer="1000-0001", amount=Decimal("200.00"), receipt="B-1"))
        assert sale.points_earned == 6
