"""Control characters at the API's edge (issue 12, hole 3): NUL or any C0/DEL character in a string is a 422 naming
the field, on both engines (PostgreSQL cannot store NUL at all, and answered a bare 500), and writes nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from coalition.adapters.storage.verify import verify
from tests.support import assert_problem, auth, buy, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio

CARD = "5000-0001"
ITEM = {"sku": "tea", "category": "drinks", "quantity": "2", "unit_price": "100.00", "tags": ["sale"]}
PURCHASE = {"customer": CARD, "items": [ITEM], "coupons": ["SPRING"], "receipt": "R-1", "cashier": None}
ENROL = {
    "kind": "personal",
    "card_number": "5000-0002",
    "profile": {
        "name": "Ann",
        "phone": "+7 900 000 00 09",
        "email": "ann@example.com",
        "notes": "likes tea",
        "consent_data_processing": True,
    },
    "identifiers": [{"kind": "nfc", "value": "04AABBCC"}],
    "segments": ["vip"],
    "card_type": "standard",
}


def _with(document: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


def _bodies(base: dict[str, Any], paths: list[tuple[str | int, ...]]) -> list[tuple[str, dict[str, Any]]]:
    def name(path: tuple[str | int, ...]) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))

    return [(name(path), _with(base, path, "bad\x00value")) for path in paths]


ITEM_PATHS: list[tuple[str | int, ...]] = [
    ("items", 0, "sku"),
    ("items", 0, "category"),
    ("items", 0, "quantity"),
    ("items", 0, "unit_price"),
    ("items", 0, "tags", 0),
]
QUOTE_CASES = _bodies(PURCHASE | {"receipt": None}, [("customer",), *ITEM_PATHS, ("coupons", 0)])
PURCHASE_CASES = _bodies(PURCHASE, [("customer",), *ITEM_PATHS, ("coupons", 0), ("receipt",), ("cashier",)])
ENROL_CASES = _bodies(
    ENROL,
    [
        ("card_number",),
        ("profile", "name"),
        ("profile", "phone"),
        ("profile", "notes"),
        ("identifiers", 0, "value"),
        ("segments", 0),
        ("card_type",),
    ],
)


async def _purchase(http, key: str) -> str:
    response = await buy(http, key, CARD, "1000.00")
    assert response.status_code == 201, response.text
    purchase_id: str = response.json()["id"]
    return purchase_id


def _without_nones(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not None}


@pytest.mark.parametrize(("field", "body"), PURCHASE_CASES, ids=[case[0] for case in PURCHASE_CASES])
async def test_a_purchase_with_a_nul_in_any_string_is_422_naming_it(services, field, body):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        before = await table_counts(services)
        response = await http.post("/v1/purchases", json=_without_nones(body), headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", field)
        assert await table_counts(services) == before


@pytest.mark.parametrize(("field", "body"), QUOTE_CASES, ids=[case[0] for case in QUOTE_CASES])
async def test_a_quote_with_a_nul_in_any_string_is_422_naming_it(services, field, body):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        response = await http.post("/v1/purchases/quote", json=_without_nones(body), headers=auth(net.shop_key))
        assert_problem(response, 422, "invalid-input", field)


@pytest.mark.parametrize(("field", "body"), ENROL_CASES, ids=[case[0] for case in ENROL_CASES])
async def test_an_enrolment_with_a_nul_in_any_string_is_422_naming_it(services, field, body):
    net = await make_network(services)
    async with client(services) as http:
        before = await table_counts(services)
        response = await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))
        assert_problem(response, 422, "invalid-input", field)
        assert await table_counts(services) == before


async def test_every_other_pos_call_with_a_nul_is_422_naming_the_field(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        purchase_id = await _purchase(http, net.shop_key)
        before = await table_counts(services)
        bad = "bad\x00value"
        calls: list[tuple[str, str, dict[str, Any] | None, str]] = [
            ("GET", "/v1/members/5000%000001", None, "identifier"),
            ("POST", "/v1/purchases/%00/refunds", {"amount": "1.00"}, "purchase_id"),
            ("POST", f"/v1/purchases/{purchase_id}/refunds", {"amount": bad}, "amount"),
            ("POST", f"/v1/purchases/{purchase_id}/refunds", {"items": [{"sku": bad}]}, "items[0].sku"),
            ("POST", f"/v1/purchases/{purchase_id}/refunds", {"amount": "1.00", "cashier": bad}, "cashier"),
            ("POST", "/v1/cards", {"number": bad}, "number"),
            ("POST", "/v1/cards", {"number": "5000-0009", "member": bad}, "member"),
            ("POST", "/v1/cards", {"number": "5000-0009", "card_type": bad}, "card_type"),
            ("POST", "/v1/cards/5000%000001/replace", {"new_number": "5000-0010"}, "number"),
            ("POST", f"/v1/cards/{CARD}/replace", {"new_number": bad}, "new_number"),
            ("POST", "/v1/cards/5000%000001/block", None, "number"),
            ("POST", "/v1/gifts/%00/honour", None, "gift_id"),
            ("POST", "/v1/visits", {"customer": bad}, "customer"),
            ("POST", "/v1/visits/%00/end", None, "visit_id"),
            ("GET", "/v1/visits/%00", None, "visit_id"),
            ("POST", "/v1/device-uses", {"customer": bad}, "customer"),
            ("POST", "/v1/purchases/quote", {"customer": CARD, "amount": "1.00", bad: 1}, bad.replace("\x00", "\x00")),
        ]
        for method, path, body, field in calls:
            response = await http.request(method, path, json=body, headers=auth(net.shop_key, new_key()))
            assert_problem(response, 422, "invalid-input", field)
        # the Idempotency-Key header, and control characters other than NUL
        for character in ("\x01", "\x1b", "\x7f"):
            response = await buy(http, net.shop_key, CARD, "10.00", receipt=f"R{character}2")
            assert_problem(response, 422, "invalid-input", "receipt")
        vendor_json = await http.post(  # FastAPI parses any application/*+json as JSON: checked the same
            "/v1/purchases",
            content=b'{"customer": "5000-0001", "amount": "10.00", "receipt": "R\\u00004"}',
            headers=auth(net.shop_key, new_key()) | {"Content-Type": "application/vnd.till+json; charset=utf-8"},
        )
        assert_problem(vendor_json, 422, "invalid-input", "receipt")
        keyed = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "10.00", "receipt": "R-3"},
            headers=auth(net.shop_key, "key\x01"),
        )
        assert_problem(keyed, 422, "invalid-input", "Idempotency-Key")
        assert await table_counts(services) == before


async def test_notes_may_hold_tabs_and_new_lines_but_nothing_else_may(services):
    net = await make_network(services)
    async with client(services) as http:
        body = _with(ENROL, ("profile", "notes"), "first line\r\n\tsecond line")
        response = await http.post("/v1/members", json=body, headers=auth(net.shop_key, new_key()))
        assert response.status_code == 201, response.text
        newline = await buy(http, net.shop_key, "5000-0002", "10.00", receipt="R\n1")
        assert_problem(newline, 422, "invalid-input", "receipt")
        tab = await http.post(
            "/v1/members", json=_with(ENROL, ("profile", "name"), "A\tB"), headers=auth(net.shop_key, new_key())
        )
        assert_problem(tab, 422, "invalid-input", "profile.name")


async def test_one_bad_item_in_a_batch_is_refused_alone(services):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        purchases: list[Any] = [
            {"idempotency_key": "b1", "customer": CARD, "amount": "100.00", "receipt": "B-1"},
            {"idempotency_key": "b2", "customer": CARD, "amount": "100.00", "receipt": "B-\x002"},
            {"idempotency_key": "b\x003", "customer": CARD, "amount": "100.00", "receipt": "B-3"},
            {"idempotency_key": "b4", "customer": CARD, "amount": "100.00", "receipt": "B-4", "unknown": 1},
            {"idempotency_key": "b5", "customer": CARD, "amount": "100.00", "receipt": "B-5", "redeem_points": 10**30},
            "not an object",
            {"idempotency_key": "b7", "customer": CARD, "items": [dict(ITEM, sku="t\x00")], "receipt": "B-7"},
            {"idempotency_key": "b8", "customer": CARD, "amount": "100.00", "receipt": "B-8"},
        ]
        response = await http.post("/v1/purchases/batch", json={"purchases": purchases}, headers=auth(net.shop_key))
        assert response.status_code == 200, response.text
        answer = response.json()
        assert [r["status"] for r in answer["results"]] == [201, 422, 422, 422, 422, 422, 422, 201]
        fields = [r["problem"].get("field") for r in answer["results"][1:7]]
        assert fields == ["receipt", "idempotency_key", "unknown", "redeem_points", "body", "items[0].sku"]
        assert (answer["committed"], answer["refused"]) == (2, 6)
        assert [r["index"] for r in answer["results"]] == list(range(8))
    assert await verify(services.engine) == []


@pytest.mark.parametrize("override", ["\u202e", "\u202a", "\u2066", "\u2069"])
@pytest.mark.parametrize("escaped", [False, True])
async def test_a_bidirectional_override_in_a_name_is_422_naming_it_written_raw_or_escaped(services, override, escaped):
    """Issue 18 review (b): U+202A–U+202E and U+2066–U+2069 show text in another order than it is stored; refused like
    the C0 controls, whether the JSON holds them as UTF-8 or as a \\u escape."""
    net = await make_network(services)
    body = _with(ENROL, ("profile", "name"), f"Ann{override}nnA")
    raw = json.dumps(body, ensure_ascii=escaped).encode()
    async with client(services) as http:
        before = await table_counts(services)
        headers = auth(net.shop_key, new_key()) | {"Content-Type": "application/json"}
        response = await http.post("/v1/members", content=raw, headers=headers)
        assert_problem(response, 422, "invalid-input", "profile.name")
        assert await table_counts(services) == before
