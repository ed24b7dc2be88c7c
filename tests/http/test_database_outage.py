"""Hole 9 of issue 12: while the database is unreachable every route answers 503 — problem+json on the API, an HTML
page on the pages — with Retry-After, never a bare 500; /health says so; and when the database is back, requests
succeed again without a restart. PostgreSQL's outage is a proxy the test cuts (the shared server is never
stopped); SQLite's is the write lock held by another connection past the busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from functools import partial
from typing import Any

import httpx
import pytest

from coalition import wiring
from coalition.adapters.storage.engine import create_engine
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.outage_support import CuttableProxy
from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key
from tests.web.support import csrf_token

pytestmark = pytest.mark.anyio


def _settings(url: str) -> Settings:
    return Settings(database_url=url, operator_token="operator-secret", public_url="http://testserver")


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503, "database-unavailable")
    assert int(response.headers["retry-after"]) > 0, response.headers
    assert "database" in body["detail"]


def assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert int(response.headers["retry-after"]) > 0, response.headers
    assert "<html" in response.text and "Internal Server Error" not in response.text


async def _console_form(http: httpx.AsyncClient) -> dict[str, str]:
    page = await http.get("/console/login")
    assert page.status_code == 200, page.text
    return {"network": "shop", "login": "nobody", "password": "not-a-password", "csrf_token": csrf_token(page.text)}


@pytest.mark.postgres
async def test_postgresql_outage_answers_503_and_recovers_by_itself(pg_database_url: str) -> None:
    async with CuttableProxy(pg_database_url) as proxy:
        services = build_services(_settings(proxy.url))
        try:
            net = await make_network(services)
            async with client(services) as http:
                await enrol(http, net.shop_key, "7001")
                assert (await buy(http, net.shop_key, "7001", "100.00")).status_code == 201
                listing = await http.get("/v1/admin/network", headers=auth(net.admin_key))
                assert listing.status_code == 200, listing.text
                form = await _console_form(http)

                proxy.cut()  # every pooled connection, on both sides, is lost mid-outage
                for _ in range(2):
                    assert_unavailable(await buy(http, net.shop_key, "7001", "100.00"))
                    assert_unavailable(await http.get("/v1/members/7001", headers=auth(net.shop_key)))
                    assert_unavailable(await http.get("/v1/admin/network", headers=auth(net.admin_key)))
                    assert_unavailable(await http.get("/health"))
                    assert_unavailable_page(await http.post("/console/login", data=form))

                # more at once than the pool holds: each is answered, and none keeps a connection
                burst = await asyncio.gather(*(buy(http, net.shop_key, "7001", "1.00") for _ in range(30)))
                assert {answer.status_code for answer in burst} == {503}

                proxy.restore()
                assert (await buy(http, net.shop_key, "7001", "100.00")).status_code == 201
                burst = await asyncio.gather(*(buy(http, net.shop_key, "7001", "1.00") for _ in range(30)))
                assert {answer.status_code for answer in burst} == {201}
                assert (await http.get("/v1/members/7001", headers=auth(net.shop_key))).status_code == 200
                assert (await http.get("/v1/admin/network", headers=auth(net.admin_key))).status_code == 200
                health = await http.get("/health")
                assert health.status_code == 200 and health.json()["status"] == "ok"
                refused = await http.post("/console/login", data=form)
                assert refused.status_code == 401 and "wrong" in refused.text

                # PostgreSQL restarted while the pools slept: the first purchase meets a dead connection before it
                # wrote anything, and is answered from a fresh one instead of a 503
                proxy.break_silently()
                assert (await buy(http, net.shop_key, "7001", "100.00")).status_code == 201
                assert (await http.get("/v1/admin/network", headers=auth(net.admin_key))).status_code == 200

                # a database that does not answer at all: /health says so within seconds instead of hanging
                proxy.cut()
                proxy.silent = True
                started = time.monotonic()
                assert_unavailable(await http.get("/health"))
                assert time.monotonic() - started < 6
                proxy.restore()
                assert (await http.get("/health")).status_code == 200
        finally:
            await services.close()


async def test_sqlite_locked_past_the_busy_timeout_answers_503_then_recovers(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "create_engine", partial(create_engine, sqlite_busy_timeout_ms=200))
    services = build_services(_settings(sqlite_database_url))
    try:
        net = await make_network(services)
        async with client(services) as http:
            await enrol(http, net.shop_key, "7001")
            form = await _console_form(http)
            holder = sqlite3.connect(sqlite_database_url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock (a stuck job, a copy)
                assert_unavailable(await buy(http, net.shop_key, "7001", "100.00"))
                enrol_key = new_key()
                body: dict[str, Any] = {"kind": "personal", "card_number": "7002", "profile": {"name": "B"}}
                body["profile"]["consent_data_processing"] = True
                assert_unavailable(await http.post("/v1/members", json=body, headers=auth(net.shop_key, enrol_key)))
                assert_unavailable(
                    await http.post("/v1/admin/partners", json={"name": "Bakery"}, headers=auth(net.admin_key))
                )
                assert_unavailable_page(await http.post("/console/login", data=form))
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert (await buy(http, net.shop_key, "7001", "100.00")).status_code == 201
            enrolled = await http.post("/v1/members", json=body, headers=auth(net.shop_key, enrol_key))
            assert enrolled.status_code == 201, enrolled.text  # the refused attempt stored nothing: a retry works
            created = await http.post("/v1/admin/partners", json={"name": "Bakery"}, headers=auth(net.admin_key))
            assert created.status_code == 201, created.text
    finally:
        await services.close()
