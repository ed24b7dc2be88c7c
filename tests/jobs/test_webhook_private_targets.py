"""A hosted server's tenants must not reach its own network through webhooks (issue 16, attacked after the merge):
from the environment, a URL naming a loopback, private or link-local host is refused at subscription (422 naming
`url`), and a delivery whose host resolves to such an address is refused for good, never sent — on both engines.
COALITION_WEBHOOKS_ALLOW_PRIVATE=1 lets a server whose administrators own its network post to it."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client, private_address_of
from coalition.application.webhooks import NewSubscription
from coalition.domain.errors import InvalidInput
from coalition.domain.webhooks import checked_url, is_public_address, names_a_private_host
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import assert_problem, auth, buy, client, enrol, make_network
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "100.64.0.1",
        "not an address",
    ],
)
def test_addresses_webhooks_may_not_reach(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/x",
        "http://LOCALHOST./x",
        "http://api.localhost/x",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
    ],
)
def test_a_private_host_is_refused_naming_the_url(url: str) -> None:
    assert names_a_private_host(url.split("/")[2].rsplit(":", 1)[0] if "[" not in url else "[::1]")
    with pytest.raises(InvalidInput) as refused:
        checked_url(url)
    assert refused.value.field == "url"
    assert checked_url(url, allow_private=True) == url


def test_a_dns_name_is_checked_at_delivery_not_by_its_name() -> None:
    assert not names_a_private_host("hooks.example")
    assert checked_url("https://hooks.example/x") == "https://hooks.example/x"


async def test_resolution_finds_the_private_address_behind_a_name() -> None:
    assert await private_address_of("http://localhost:9/x") == "localhost"
    assert await private_address_of("http://127.0.0.1:9/x") == "127.0.0.1"
    assert await private_address_of("http://name.invalid/x") is None  # does not resolve: retried like any outage


async def test_the_api_refuses_a_private_target_when_the_server_does_not_allow_them(settings: Settings) -> None:
    services = build_services(dataclasses.replace(settings, webhooks_allow_private=False))
    try:
        network = await make_network(services)
        async with client(services) as http:
            for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432/", "http://[::1]/"):
                body = {"url": url, "event_kinds": ["purchase.recorded"]}
                refused = await http.post("/v1/admin/webhooks", json=body, headers=auth(network.admin_key))
                assert_problem(refused, 422, "invalid-input", field="url")
        async with services.engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM webhook_subscriptions"))).scalar_one() == 0
    finally:
        await services.close()


async def test_a_delivery_to_a_private_address_is_refused_for_good_and_never_sent(services) -> None:
    with receiver() as endpoint:  # on 127.0.0.1: allowed when subscribing here (tests allow), refused at delivery
        network = await make_network(services)
        await services.webhooks.create(network.ref, NewSubscription(endpoint.url, ("purchase.recorded",)))
        async with client(services) as http:
            await enrol(http, network.shop_key, "7100-0001")
            assert (await buy(http, network.shop_key, "7100-0001", "100.00")).status_code == 201
        async with http_client(5.0) as poster:
            await services.outbox(HttpxPoster(poster, allow_private=False)).run_once("w1")
        assert endpoint.requests == []
    async with services.engine.connect() as connection:
        message = (await connection.execute(text("SELECT status, attempts FROM outbox_messages"))).one()
        attempt = (await connection.execute(text("SELECT outcome, error FROM outbox_attempts"))).one()
    assert (message.status, message.attempts) == ("failed", 1)
    assert attempt.outcome == "refused" and "127.0.0.1" in attempt.error
