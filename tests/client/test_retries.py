"""Retries: a lost answer, a 503 and a dropped connection are retried with the same Idempotency-Key and the
purchase is recorded once, and so is an admin creation; a write sent without a key is never retried; a 429's
Retry-After is honoured."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from coalition_client import Client, Retries, ServiceUnavailable, routes
from coalition_client.admin_models import Partner
from coalition_client.models import Purchase, Quote, TopUp
from coalition_client.routes import Route

from .conftest import Demo, Proxy

FAST = Retries(attempts=4, base_seconds=0.01, cap_seconds=2)


def _purchases(demo: Demo, card: str) -> int:
    with Client(demo.url, demo.admin_key) as admin:
        statement = admin.member_statement(card)
    return sum(1 for transaction in statement["transactions"] if transaction["kind"] == "purchase")


@pytest.mark.parametrize("failure", ["lose", "503", "drop"])
def test_a_purchase_whose_answer_is_lost_is_retried_with_its_key_and_recorded_once(
    demo: Demo, proxy: Proxy, failure: str
) -> None:
    proxy.plan[("POST", "/v1/purchases")] = [failure, failure]
    with Client(demo.url, demo.till_key) as direct:
        before = direct.member("1000-0001").points_balance
    purchases_before = _purchases(demo, "1000-0001")
    with Client(proxy.url, demo.till_key, retries=FAST) as till:
        sale = till.purchase(Purchase(customer="1000-0001", amount=Decimal("1000.00"), receipt="R-retry"))
    keys = [key for method, path, key in proxy.seen if (method, path) == ("POST", "/v1/purchases")]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]  # two failures, one success, one key
    with Client(demo.url, demo.till_key) as direct:
        after = direct.member("1000-0001").points_balance
    assert after - before == sale.points_earned > 0  # earned once, though the server saw it up to three times
    assert _purchases(demo, "1000-0001") == purchases_before + 1


@pytest.mark.parametrize("failure", ["lose", "drop"])
def test_an_admin_creation_whose_answer_is_lost_is_retried_with_its_key_and_made_once(
    demo: Demo, proxy: Proxy, failure: str
) -> None:
    proxy.plan[("POST", "/v1/admin/partners")] = [failure, failure]
    with Client(proxy.url, demo.admin_key, retries=FAST) as admin:
        made = admin.create_partner(Partner(name="Bakery"))
        partners = [
            p for page in admin.pages(routes.PARTNERS, "partners", limit=500) for p in page if p.name == "Bakery"
        ]
    keys = [key for method, path, key in proxy.seen if (method, path) == ("POST", "/v1/admin/partners")]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]  # the server ran it once and replayed it
    assert [p.id for p in partners] == [made["id"]]


def test_a_write_sent_without_a_key_is_not_retried(demo: Demo, proxy: Proxy) -> None:
    proxy.plan[("POST", "/v1/admin/jobs/expire")] = ["503"]
    with Client(proxy.url, demo.admin_key, retries=FAST) as admin, pytest.raises(ServiceUnavailable) as refused:
        admin.call(Route("POST", "/v1/admin/jobs/expire", dict))
    assert refused.value.status == 503
    assert [seen for seen in proxy.seen if seen[1] == "/v1/admin/jobs/expire"] == [
        ("POST", "/v1/admin/jobs/expire", None)
    ]


def test_a_429_is_retried_after_the_servers_retry_after(demo: Demo, proxy: Proxy) -> None:
    proxy.plan[("POST", "/v1/purchases/quote")] = ["429"]
    started = time.monotonic()
    with Client(proxy.url, demo.till_key, retries=FAST) as till:
        quote = till.quote(Quote(customer="1000-0001", amount=Decimal("1000.00")))
    assert time.monotonic() - started >= 0.9  # Retry-After: 1, not the 0.01 s backoff
    assert quote.amount == Decimal("1000.00")
    assert len([seen for seen in proxy.seen if seen[1] == "/v1/purchases/quote"]) == 2


def test_retries_give_up_after_the_attempts_allowed(demo: Demo, proxy: Proxy) -> None:
    proxy.plan[("GET", "/v1/members/1000-0001")] = ["503"] * 5
    with Client(proxy.url, demo.till_key, retries=FAST) as till, pytest.raises(ServiceUnavailable):
        till.member("1000-0001")
    assert len([seen for seen in proxy.seen if seen[1] == "/v1/members/1000-0001"]) == FAST.attempts


@pytest.mark.anyio
async def test_the_device_simulator_over_http_retries_a_lost_charge_with_its_key_and_charges_once(
    demo: Demo, proxy: Proxy
) -> None:
    from coalition.adapters.mqtt.device_client import HttpDeviceClient, Reply
    from coalition.adapters.mqtt.simulator import Machine, Simulator

    with Client(demo.url, demo.admin_key) as admin:
        admin.change_device(demo.arcade_id, {"opening_hours": None})
    with Client(demo.url, demo.till_key) as till:
        till.top_up(TopUp(customer="1000-0002", amount=Decimal("300.00")))
    proxy.plan[("POST", "/v1/devices/charges")] = ["lose"]
    seen: list[tuple[str, Reply]] = []
    async with HttpDeviceClient.to_server(proxy.url, demo.arcade_key) as arcade:
        machine = Machine("arcade", "1000-0002", wait_seconds=0)
        assert await Simulator(arcade, machine, lambda operation, reply: seen.append((operation, reply))).run(1) == 1
    charges = [key for method, path, key in proxy.seen if path == "/v1/devices/charges"]
    assert len(charges) == 2 and charges[0] == charges[1]
    assert [(operation, reply.status) for operation, reply in seen][-1] == ("charge", 201)
    assert seen[-1][1].replayed  # the server answered the repeat with the first charge
    with Client(demo.url, demo.till_key) as till:
        assert till.wallet("1000-0002").balance == Decimal("250.00")  # 50.00 charged once
