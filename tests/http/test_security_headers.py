"""Security headers on every answer — API, page, static file, error (even an unhandled one) — and HSTS only over TLS
(the scheme, or X-Forwarded-Proto from a proxy the operator trusts). Issue 12, protection "security headers"."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from coalition.adapters.http.app import create_app
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import auth, make_network

pytestmark = pytest.mark.anyio


@pytest.fixture()
async def services(sqlite_database_url: str) -> AsyncIterator[Services]:
    """Headers do not depend on the engine: SQLite only."""
    built = build_services(Settings(sqlite_database_url, "operator-secret", "http://testserver"))
    try:
        yield built
    finally:
        await built.close()


def _client(services: Services, base_url: str = "http://test", trusted: str | None = None) -> httpx.AsyncClient:
    if trusted is not None:  # the operator names the proxy in COALITION_TRUSTED_PROXIES
        proxy_named = dataclasses.replace(services.settings, trusted_proxies=(trusted,))
        services = dataclasses.replace(services, settings=proxy_named)
    app = create_app(services=services)

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("an unforeseen fault")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def _assert_headers(response: httpx.Response, page: bool = False) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", (response.url, headers)
    assert headers["referrer-policy"] == "same-origin", (response.url, headers)
    assert "frame-ancestors 'none'" in headers["content-security-policy"], (response.url, headers)
    if page:  # the pages keep their own policy, merged
        assert "script-src 'self'" in headers["content-security-policy"], headers
    assert "strict-transport-security" not in headers, (response.url, headers)


async def test_every_kind_of_answer_carries_the_security_headers(services: Services) -> None:
    net = await make_network(services)
    async with _client(services) as http:
        answers = {
            "api": await http.get("/v1/admin/network", headers=auth(net.admin_key)),
            "api 401": await http.get("/v1/admin/network"),
            "api 404": await http.get("/v1/nowhere"),
            "api 405": await http.delete("/v1/purchases", headers=auth(net.shop_key)),
            "api 422": await http.post("/v1/purchases", json={}, headers=auth(net.shop_key, "k-1")),
            "api 500": await http.get("/v1/boom"),
            "health": await http.get("/health"),
            "openapi": await http.get("/openapi.json"),
        }
        pages = {
            "page": await http.get("/console/login"),
            "page 404": await http.get("/console/nowhere"),
            "static": await http.get("/static/app.css"),
            "static 404": await http.get("/static/nothing.css"),
        }
    expected = {"api": 200, "api 401": 401, "api 404": 404, "api 405": 405, "api 422": 422, "api 500": 500}
    expected |= {"health": 200, "openapi": 200, "page": 200, "page 404": 404, "static": 200, "static 404": 404}
    assert {name: r.status_code for name, r in (answers | pages).items()} == expected
    for response in answers.values():
        _assert_headers(response)
    for response in pages.values():
        _assert_headers(response, page=True)
    # an unhandled fault is a problem+json too, never a bare text
    assert answers["api 500"].headers["content-type"] == "application/problem+json"
    assert answers["api 500"].json()["status"] == 500


async def test_hsts_only_over_tls_or_from_a_trusted_proxy(services: Services) -> None:
    async with _client(services, "https://test") as http:
        for path in ("/health", "/console/login", "/v1/nowhere"):
            assert (await http.get(path)).headers["strict-transport-security"] == "max-age=31536000", path
    forwarded = {"X-Forwarded-Proto": "https"}
    async with _client(services) as http:  # anyone may send the header: not believed
        assert "strict-transport-security" not in (await http.get("/health", headers=forwarded)).headers
    async with _client(services, trusted="127.0.0.1") as http:  # the transport's client is 127.0.0.1
        assert "strict-transport-security" not in (await http.get("/health")).headers
        trusted = await http.get("/health", headers=forwarded)
        assert trusted.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize(
    "path",
    ["/terminal", "/terminal/", "/terminal/sale", "/terminals", "/me", "/meow", "/me/x", "/static/a.js", "/v1/me", "/"],
)
def test_a_page_is_a_page_prefix_or_under_one(path):
    from coalition.adapters.http.security_headers import _is_page
    from coalition.adapters.web.setup import PAGE_PREFIXES

    assert _is_page(path) == any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def test_each_body_cap_applies_to_its_method_and_prefix_only():
    from coalition.adapters.http.body_limits import BODY_CAPS, DEFAULT_MAX_BODY_BYTES, max_body_bytes

    for method, prefix, cap in BODY_CAPS:
        assert max_body_bytes(method, prefix + "x") == cap
        assert max_body_bytes("PATCH", prefix) == DEFAULT_MAX_BODY_BYTES
    assert max_body_bytes("POST", "/v1/purchases") == DEFAULT_MAX_BODY_BYTES
