"""Request bodies are capped per route, while they stream in, and a key-protected route checks the key before it
reads a byte of the body (issue 12, hole 12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

MEBIBYTE = 1024 * 1024
HUNDRED_MB = 100 * MEBIBYTE
JSON = {"Content-Type": "application/json"}


class Streamed:
    """A request body sent in 64 KiB chunks, counting what the server pulled."""

    def __init__(self, total_bytes: int, prefix: bytes = b'{"customer": "') -> None:
        self.total_bytes, self.prefix, self.sent_bytes = total_bytes, prefix, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"x" * (64 * 1024)
        yield self.prefix
        self.sent_bytes += len(self.prefix)
        while self.sent_bytes < self.total_bytes:
            yield chunk
            self.sent_bytes += len(chunk)


async def test_a_huge_body_without_a_key_is_refused_before_it_is_read(services):
    await make_network(services)
    async with client(services) as http:
        for path in ("/v1/purchases", "/v1/admin/partners", "/v1/admin/rule-sets/draft", "/v1/purchases/batch"):
            body = Streamed(HUNDRED_MB)
            response = await http.post(path, content=body, headers={"Content-Type": "application/json"})
            assert_problem(response, 401, "unauthorized")
            assert body.sent_bytes < MEBIBYTE, (path, body.sent_bytes)
            wrong = Streamed(HUNDRED_MB)
            response = await http.post(path, content=wrong, headers=auth("term_not-a-key", new_key()))
            assert_problem(response, 401, "unauthorized")
            assert wrong.sent_bytes < MEBIBYTE, (path, wrong.sent_bytes)


async def test_an_over_cap_body_with_a_valid_key_is_413_while_it_streams(services):
    net = await make_network(services)
    async with client(services) as http:
        # no Content-Length (chunked): counted as it arrives
        body = Streamed(HUNDRED_MB)
        response = await http.post("/v1/purchases", content=body, headers=auth(net.shop_key, new_key()))
        problem = assert_problem(response, 413, "body-too-large", "body")
        assert "65536" in problem["detail"]
        assert body.sent_bytes < MEBIBYTE
        # a Content-Length that lies (says small, sends more) does not get around it
        lying = Streamed(HUNDRED_MB)
        headers = auth(net.shop_key, new_key()) | {"Content-Length": "100"}
        response = await http.post("/v1/purchases", content=lying, headers=headers)
        assert_problem(response, 413, "body-too-large", "body")
        assert lying.sent_bytes < MEBIBYTE
        # an honest Content-Length over the cap is refused before a byte is read
        honest = Streamed(HUNDRED_MB)
        headers = auth(net.admin_key) | {"Content-Length": str(HUNDRED_MB)}
        response = await http.post("/v1/admin/partners", content=honest, headers=headers)
        assert_problem(response, 413, "body-too-large", "body")
        assert honest.sent_bytes == 0


async def test_batches_and_rule_sets_have_larger_caps_and_pages_a_form_sized_one(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7001")
        purchases = [
            {"idempotency_key": f"k{i}", "customer": "7001", "amount": "1.00", "receipt": f"R-{i}", "cashier": None}
            for i in range(1000)
        ]
        batch = json.dumps({"purchases": purchases}).encode()
        assert len(batch) > 64 * 1024
        response = await http.post("/v1/purchases/batch", content=batch, headers=auth(net.shop_key) | JSON)
        assert response.status_code == 200, response.text[:300]
        assert response.json()["committed"] == 1000
        draft = json.dumps({"rules": [], "notes": "x" * 500_000})
        response = await http.put("/v1/admin/rule-sets/draft", content=draft, headers=auth(net.admin_key) | JSON)
        assert response.status_code != 413, response.text[:300]
        form = await http.post("/console/login", content=b"login=" + b"x" * (2 * MEBIBYTE))
        assert_problem(form, 413, "body-too-large", "body")


async def test_ordinary_requests_are_unaffected(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "7002")
        body = {"customer": "7002", "amount": "100.00", "receipt": "R-1"}
        response = await http.post("/v1/purchases", json=body, headers=auth(net.shop_key, new_key()))
        assert response.status_code == 201, response.text
        assert (await http.get("/v1/members/7002", headers=auth(net.shop_key))).status_code == 200
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/console/login")).status_code == 200
