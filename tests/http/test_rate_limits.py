"""Rate limits per terminal key, admin key, session and address (429 problem+json with Retry-After), and a till's
budget of member lookups; a lookup tells a till no phone, e-mail or birth date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from coalition.adapters.http.app import create_app
from coalition.application.member_lookups import TILL_MEMBER_FIELDS
from coalition.application.rate_limits import TokenBuckets, client_address_of, parse_rate, parse_trusted_proxies
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import assert_problem, auth, buy, enrol, make_network, new_key
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio


@pytest.fixture()
async def limited(settings: Settings) -> AsyncIterator[Services]:
    """Small figures, so that a test reaches each limit in a few requests."""
    built = build_services(
        replace(
            settings,
            rate_limit_terminal_key="4/min",
            rate_limit_admin_key="3/min",
            rate_limit_session="5/min",
            rate_limit_address="30/h",  # one more every 120 s: 30 requests on a loaded host never earn one back
        )
    )
    try:
        yield built
    finally:
        await built.close()


def client_at(services: Services, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(services=services), client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_rate_limited(response: httpx.Response, detail: str, longest_wait_seconds: int) -> None:
    body = assert_problem(response, 429, "rate-limited")
    assert detail in body["detail"], body
    assert 1 <= int(response.headers["retry-after"]) <= longest_wait_seconds


async def test_a_terminal_key_past_its_limit_is_answered_429_with_retry_after(limited: Services) -> None:
    net = await make_network(limited)
    async with client_at(limited) as http:
        for _ in range(4):
            assert (await http.get("/v1/visits/1", headers=auth(net.shop_key))).status_code == 404
        refused = await http.get("/v1/visits/1", headers=auth(net.shop_key))
        assert_rate_limited(refused, "with this terminal key", 15)  # 4 a minute: one more in 15 s
        assert (await http.get("/v1/visits/1", headers=auth(net.cafe_key))).status_code == 404  # another key


async def test_an_admin_key_past_its_limit_is_answered_429_with_retry_after(limited: Services) -> None:
    net = await make_network(limited)
    async with client_at(limited) as http:
        for _ in range(3):
            assert (await http.get("/v1/admin/network", headers=auth(net.admin_key))).status_code == 200
        assert_rate_limited(await http.get("/v1/admin/network", headers=auth(net.admin_key)), "admin key", 20)
        # the POS side of the same address is counted apart
        assert (await http.get("/v1/visits/1", headers=auth(net.shop_key))).status_code == 404


async def test_a_session_past_its_limit_is_answered_429_with_retry_after(limited: Services) -> None:
    net = await make_network(limited)
    outlet_id = (await limited.admin.listing(net.ref))["outlets"][0]["id"]
    await limited.admin.create_cashier(net.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    async with client_at(limited) as http:
        assert (await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")).status_code == 303
        for _ in range(5):
            assert (await http.get("/terminal")).status_code == 200
        assert_rate_limited(await http.get("/terminal"), "in this session", 12)
        assert (await http.get("/terminal/login")).status_code == 429  # the cookie goes with every /terminal page
        assert (await http.get("/console/login")).status_code == 200  # another area, no session there


async def test_an_address_past_its_limit_is_answered_429_with_retry_after(limited: Services) -> None:
    async with client_at(limited, "203.0.113.9") as noisy, client_at(limited, "198.51.100.1") as quiet:
        for _ in range(30):
            assert (await noisy.get("/health")).status_code == 200
        assert_rate_limited(await noisy.get("/health"), "from this address", 120)
        assert (await quiet.get("/health")).status_code == 200


async def test_a_till_finding_nobody_ten_times_a_minute_is_refused(services: Services) -> None:
    net = await make_network(services)
    async with client_at(services) as http:
        await enrol(http, net.shop_key, "5700-0001")
        for number in range(10):  # someone trying card numbers
            assert (await http.get(f"/v1/members/5700-1{number:03d}", headers=auth(net.shop_key))).status_code == 404
        refused = await http.get("/v1/members/5700-1999", headers=auth(net.shop_key))
        body = assert_problem(refused, 429, "rate-limited", "identifier")
        assert body["detail"] == "too many lookups that found nobody from this till; try again in a minute"
        assert 1 <= int(refused.headers["retry-after"]) <= 6  # ten a minute: one more every 6 s
        # the till's sales go on; another till is not refused
        assert (await buy(http, net.shop_key, "5700-0001", "100.00")).status_code == 201
        assert (await http.get("/v1/members/5700-0001", headers=auth(net.cafe_key))).status_code == 200


async def test_lookups_that_find_their_member_do_not_spend_the_budget_of_misses(services: Services) -> None:
    net = await make_network(services)
    async with client_at(services) as http:
        await enrol(http, net.shop_key, "5700-0002")
        for _ in range(30):
            assert (await http.get("/v1/members/5700-0002", headers=auth(net.shop_key))).status_code == 200
        assert (await http.get("/v1/members/5700-0003", headers=auth(net.shop_key))).status_code == 404


async def test_a_till_has_an_overall_budget_of_lookups(settings: Settings) -> None:
    built = build_services(replace(settings, member_lookups="5/min"))
    try:
        net = await make_network(built)
        async with client_at(built) as http:
            await enrol(http, net.shop_key, "5700-0004")
            for _ in range(5):
                assert (await http.get("/v1/members/5700-0004", headers=auth(net.shop_key))).status_code == 200
            refused = await http.get("/v1/members/5700-0004", headers=auth(net.shop_key))
            body = assert_problem(refused, 429, "rate-limited", "identifier")
            assert body["detail"] == "too many lookups of members from this till; try again in a minute"
            assert 1 <= int(refused.headers["retry-after"]) <= 12
    finally:
        await built.close()


async def test_the_terminal_pages_lookup_spends_the_same_budget(services: Services) -> None:
    net = await make_network(services)
    outlet_id = (await services.admin.listing(net.ref))["outlets"][0]["id"]
    await services.admin.create_cashier(net.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    async with client_at(services) as http:
        assert (await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")).status_code == 303
        token = csrf_token((await http.get("/terminal")).text)
        answers = [
            await http.post("/terminal/member", data={"customer": f"5700-2{n:03d}", "csrf_token": token})
            for n in range(11)
        ]
        assert [answer.status_code for answer in answers] == [404] * 10 + [429]
        assert "too many lookups that found nobody from this till" in answers[-1].text


async def test_a_lookup_tells_a_till_no_phone_email_or_birth_date(services: Services) -> None:
    net = await make_network(services)
    async with client_at(services) as http:
        profile = {
            "name": "Anna Smirnova",
            "phone": "+7 912 123-45-67",
            "email": "anna@example.org",
            "birth_date": "1990-04-01",
            "consent_data_processing": True,
        }
        body = {"kind": "personal", "card_number": "5700-0005", "profile": profile}
        assert (await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))).status_code == 201
        for identifier in ("5700-0005", "+79121234567"):
            found = (await http.get(f"/v1/members/{identifier}", headers=auth(net.shop_key))).json()
            assert set(found["member"]) == set(TILL_MEMBER_FIELDS)
            assert found["member"]["name"] == "Anna Smirnova"
            assert "anna@example.org" not in str(found) and "1990" not in str(found) and "912" not in str(found)
            assert {"points_balance", "card", "tier", "next_expiry"} <= set(found)


def test_a_bucket_refills_evenly_and_says_how_long_to_wait() -> None:
    rate = parse_rate("10/min")
    assert rate is not None and (rate.capacity, rate.period_seconds) == (10, 60)
    buckets = TokenBuckets(rate)
    assert [buckets.take("k", 100.0) for _ in range(10)] == [0.0] * 10
    assert buckets.take("k", 100.0) == pytest.approx(6.0)
    assert buckets.take("k", 103.0) == pytest.approx(3.0)
    assert buckets.take("k", 106.0) == 0.0
    assert parse_rate("off") is None
    for bad in ("10", "10/day", "-1/s", "0/s", "1e3/s", "١٠/s"):
        with pytest.raises(ValueError, match="<count>/s"):
            parse_rate(bad)


def test_a_full_table_of_buckets_drops_the_full_ones_first() -> None:
    rate = parse_rate("2/s")
    assert rate is not None
    buckets = TokenBuckets(rate, keys_kept_max=100)
    for n in range(99):
        buckets.take(f"random-{n}", 0.0)
    buckets.take("busy", 10.0)
    buckets.take("busy", 10.0)
    assert buckets.take("busy", 10.0) > 0
    buckets.take("one-more", 10.0)  # the 101st key: the refilled ones go, the busy one stays empty
    assert buckets.take("busy", 10.0) > 0


def test_the_client_is_the_peer_unless_the_peer_is_a_named_proxy() -> None:
    proxies = parse_trusted_proxies(["10.0.0.0/8", "::1"])
    assert client_address_of("203.0.113.5", "1.2.3.4", ()) == "203.0.113.5"
    assert client_address_of("203.0.113.5", "1.2.3.4", proxies) == "203.0.113.5"  # not a proxy: not believed
    assert client_address_of("10.0.0.2", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7"
    assert client_address_of("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.9", proxies) == "198.51.100.7"
    assert client_address_of("::1", "2001:db8::5", proxies) == "2001:db8::5"
    assert client_address_of("10.0.0.2", "10.0.0.3", proxies) == "10.0.0.3"
    assert client_address_of("10.0.0.2", None, proxies) == "10.0.0.2"
    assert client_address_of(None, None, ()) == "unknown"
    with pytest.raises(ValueError, match="not an address"):
        parse_trusted_proxies(["10.0.0.0/33"])


def test_the_settings_come_from_the_environment_and_a_typo_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COALITION_TRUSTED_PROXIES", " 10.0.0.0/8, 127.0.0.1 ")
    monkeypatch.setenv("COALITION_RATE_LIMIT_TERMINAL_KEY", "20/s")
    monkeypatch.setenv("COALITION_MEMBER_LOOKUP_MISSES", "off")
    found = Settings.from_env()
    assert found.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert (found.rate_limit_terminal_key, found.member_lookup_misses) == ("20/s", "off")
    assert found.rate_limit_address == "300/s"  # the default
    monkeypatch.setenv("COALITION_RATE_LIMIT_SESSION", "fifty")
    with pytest.raises(ValueError, match="COALITION_RATE_LIMIT_SESSION"):
        Settings.from_env()
    monkeypatch.delenv("COALITION_RATE_LIMIT_SESSION")
    monkeypatch.setenv("COALITION_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ValueError, match="COALITION_TRUSTED_PROXIES"):
        Settings.from_env()
