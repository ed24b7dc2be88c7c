"""The OpenAPI document tells the truth (issue 12): `Idempotency-Key` is required on every till write, and a write
without one is a 422 problem+json naming it; every error status an operation can answer is declared with the
problem+json `Problem` body; a 405 names the methods the path answers in `Allow`."""

from __future__ import annotations

from typing import Any

import pytest

from coalition.wiring import Services
from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio

TILL_WRITES = {
    ("post", "/v1/members"),
    ("post", "/v1/purchases"),
    ("post", "/v1/purchases/{purchase_id}/refunds"),
    ("post", "/v1/cards"),
    ("post", "/v1/cards/{number}/replace"),
    ("post", "/v1/cards/{number}/{action}"),
    ("post", "/v1/gifts/{gift_id}/honour"),
    ("post", "/v1/gift-cards"),
    ("post", "/v1/visits"),
    ("post", "/v1/visits/{visit_id}/end"),
    ("post", "/v1/device-uses"),
    ("post", "/v1/wallets/top-ups"),
    ("post", "/v1/devices/charges"),
    ("post", "/v1/devices/holds"),
    ("post", "/v1/devices/holds/{hold_id}/capture"),
    ("post", "/v1/devices/holds/{hold_id}/void"),
    ("post", "/v1/devices/sessions"),
    ("post", "/v1/devices/sessions/{session_id}/stop"),
    ("post", "/v1/devices/top-ups"),
}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


async def test_the_document_declares_required_keys_and_every_error_with_its_problem_body(services: Services) -> None:
    async with client(services) as http:
        document = (await http.get("/openapi.json")).json()
    operations = _operations(document)
    with_key = {
        name
        for name, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    }
    # every admin write takes one too, optionally (docs/api.md "Conventions"); the admin key's rotation has its own
    # meaning of it: a retry of a rotation whose answer was lost names it
    rotate = ("post", "/v1/admin/networks/{network}/admin-key/rotate")
    admin_writes = {(method, path) for method, path in operations if path.startswith("/v1/admin/") and method != "get"}
    assert with_key == TILL_WRITES | admin_writes
    for name in admin_writes:
        assert [p["required"] for p in operations[name]["parameters"] if p["name"] == "Idempotency-Key"] == [False]
        if name[0] in ("put", "patch", "delete"):
            assert [p["required"] for p in operations[name]["parameters"] if p["name"] == "If-Match"] == [False]
    assert rotate in admin_writes
    for name in TILL_WRITES:
        [key] = [p for p in operations[name]["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["required"] is True, name
        assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 200}, name

    for (method, path), operation in operations.items():
        responses = operation["responses"]
        declared = {int(status) for status in responses if int(status) >= 400}
        expected = {503} if not path.startswith("/v1/") else {401, 403, 404, 409, 422, 429, 503}
        if "requestBody" in operation:
            expected |= {400, 413}
        if path.startswith("/v1/admin/") and method in ("put", "patch", "delete"):
            expected |= {412}  # If-Match on a changed resource
        assert declared == expected, (method, path)
        for status in declared:
            assert responses[str(status)]["content"] == PROBLEM, (method, path, status)
        assert set(responses["503"]["headers"]) == {"Retry-After"}, (method, path)
        if path.startswith("/v1/"):
            assert set(responses["429"]["headers"]) == {"Retry-After"}, (method, path)
            assert set(responses["401"]["headers"]) == {"WWW-Authenticate"}, (method, path)
    # the answers that are not JSON are declared as what they are
    yaml = operations[("get", "/v1/admin/rule-sets/{version}")]["responses"]["200"]["content"]
    assert set(yaml) == {"application/json", "application/yaml"}
    statement = operations[("get", "/v1/admin/settlement/statements/{number}")]["responses"]["200"]["content"]
    assert set(statement) == {"application/json", "text/csv", "application/pdf"}
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 body, which the server never sends


async def test_a_till_write_without_its_key_is_a_422_naming_it(services: Services) -> None:
    net = await make_network(services)
    concrete = {
        "/v1/purchases/{purchase_id}/refunds": "/v1/purchases/p-1/refunds",
        "/v1/cards/{number}/replace": "/v1/cards/1001/replace",
        "/v1/cards/{number}/{action}": "/v1/cards/1001/block",
        "/v1/gifts/{gift_id}/honour": "/v1/gifts/g-1/honour",
        "/v1/visits/{visit_id}/end": "/v1/visits/v-1/end",
    }
    async with client(services) as http:
        for _method, path in sorted(TILL_WRITES):
            # whatever the body, the missing key is what the answer names
            refused = await http.post(concrete.get(path, path), json={}, headers=auth(net.shop_key))
            problem = assert_problem(refused, 422, "invalid-input", "Idempotency-Key")
            assert problem["detail"] == "Idempotency-Key is required", path
        anonymous = await http.post("/v1/purchases", json={})  # no terminal key: that comes first
        assert_problem(anonymous, 401, "unauthorized")


async def test_a_body_that_is_not_text_is_a_400_problem_as_declared(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        headers = {**auth(net.shop_key, "k-1"), "Content-Type": "application/json"}
        refused = await http.post("/v1/purchases", content=b"\xff\xfe{", headers=headers)
        assert_problem(refused, 400, "http-error")


async def test_a_405_names_the_methods_the_path_answers(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        # with its key: a /v1 write without one is refused (401) before anything else is looked at
        api = await http.delete("/v1/purchases", headers=auth(net.shop_key))
        assert_problem(api, 405, "method-not-allowed")
        assert api.headers["allow"] == "POST"
        page = await http.get("/console/logout")
        assert page.status_code == 405 and page.headers["allow"] == "POST"


async def test_every_answer_of_the_till_api_is_described_by_a_schema(services: Services) -> None:
    """Issue 13: every POS operation's success answer has a named schema (a pydantic model), not `{}`."""
    async with client(services) as http:
        document = (await http.get("/openapi.json")).json()
    till_operations = {
        name
        for name in _operations(document)
        if name[1].startswith("/v1/") and not name[1].startswith(("/v1/admin", "/v1/operator"))
    }
    assert till_operations >= TILL_WRITES
    undescribed = []
    for method, path in sorted(till_operations):
        responses = _operations(document)[(method, path)]["responses"]
        [success] = [code for code in responses if code.startswith("2")]
        schema = responses[success].get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" not in schema:
            undescribed.append((method, path, schema))
    assert undescribed == []
