"""The client's parts without a server: money, backoff, Retry-After, and a server out of reach."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from coalition_client import Client, Retries, TransportError, from_minor_units, minor_units
from coalition_client._core import prepare, retry_after_seconds
from coalition_client.admin_models import Partner
from coalition_client.models import Item, Purchase
from coalition_client.routes import MEMBER_STATEMENT, PURCHASE, Route
from coalition_client.wire import to_json

from .conftest import free_port


def test_money_is_decimal_both_ways_and_never_float() -> None:
    assert minor_units(Decimal("1000.00")) == 100_000 and from_minor_units(100_000) == Decimal("1000.00")
    with pytest.raises(ValueError):
        minor_units(Decimal("0.005"))
    body = to_json(Purchase(customer="1000-0001", receipt="R", items=[Item(sku="A", unit_price=Decimal("1.20"))]))
    item = {"sku": "A", "unit_price": "1.20", "quantity": 1}
    assert body == {"customer": "1000-0001", "receipt": "R", "items": [item]}
    with pytest.raises(TypeError, match="never float"):
        to_json(Purchase(customer="1000-0001", receipt="R", amount=0.1))  # type: ignore[arg-type]


def test_a_write_gets_a_fresh_key_unless_given_and_queries_drop_what_is_unset() -> None:
    first, second = prepare(PURCHASE, None), prepare(PURCHASE, None)
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert prepare(PURCHASE, None, idempotency_key="till-1-42").headers["Idempotency-Key"] == "till-1-42"
    call = prepare(MEMBER_STATEMENT, path={"identifier": "+7 912/0"}, query={"limit": 5, "before": None})
    assert (call.url, call.params, call.headers) == ("/v1/admin/members/%2B7%20912%2F0/statement", {"limit": "5"}, {})


def test_backoff_grows_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    retries = Retries(base_seconds=0.5, cap_seconds=3)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (5, 3.0)]:
        waits = [retries.delay(attempt, None) for _ in range(200)]
        assert min(waits) >= 0 and max(waits) <= ceiling and len(set(waits)) > 1
    assert retries.delay(0, 2.5) == 2.5 and retries.delay(0, 60) == 3  # the server's word, within our cap
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (retry_after_seconds(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 30
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "7"})) == 7
    assert retry_after_seconds(httpx.Response(503)) is None


def test_a_server_out_of_reach_is_retried_for_safe_calls_only_then_raised() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    fast = Retries(attempts=3, base_seconds=0.01)
    with Client(nobody, "k", retries=fast) as client:
        with pytest.raises(TransportError):
            client.member("1000-0001")
        with pytest.raises(TransportError):
            client.create_partner(Partner(name="Bakery"))


def test_a_server_hanging_up_is_retried_for_keyed_writes_but_not_for_writes_it_cannot_replay() -> None:
    accepted: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def hang_up() -> None:  # reads the request, then closes without a word
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            connection.recv(65536)
            connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Client(url, "k", retries=Retries(attempts=3, base_seconds=0.01)) as client:
            with pytest.raises(TransportError):
                client.purchase(Purchase(customer="1000-0001", amount=Decimal("1.00"), receipt="R"))
            assert len(accepted) == 3
            with pytest.raises(TransportError):  # an admin creation carries a key now: retried as well
                client.create_partner(Partner(name="Bakery"))
            assert len(accepted) == 6
            with pytest.raises(TransportError):  # a write sent without a key is never retried
                client.call(Route("POST", "/v1/admin/jobs/expire", dict))
            assert len(accepted) == 7
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_pages_follows_next_cursor_until_the_last_page() -> None:
    from coalition_client.routes import COUPONS, CREATE_PARTNER

    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        start = int(params.get("cursor", "0"))
        ids = list(range(start + 1, min(start + int(params["limit"]), 120) + 1))
        next_cursor = str(ids[-1]) if ids[-1] < 120 else None
        return httpx.Response(200, json={"coupons": [{"id": i} for i in ids], "next_cursor": next_cursor})

    with Client("http://test", "key", transport=httpx.MockTransport(answer)) as admin:
        pages = list(admin.pages(COUPONS, "coupons", query={"campaign": "spring"}, limit=50))
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [p.get("cursor") for p in seen] == [None, "50", "100"]
    assert all(p["campaign"] == "spring" for p in seen)
    assert CREATE_PARTNER.idempotency_key  # an admin creation carries a key, so its retries create one partner
