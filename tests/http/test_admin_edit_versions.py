"""Every admin edit has a version (issue 17, point 5; docs/api.md "Conventions"): a PUT, PATCH or DELETE under
/v1/admin checks its If-Match against the ETag of the GET at its own path, so each edit has such a GET (or is named
below with why it needs none) and two administrators editing the same version cannot overwrite each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from coalition.adapters.http.app import create_app
from coalition.wiring import Services
from tests.support import Network, assert_problem, auth, client, enrol, make_network

pytestmark = pytest.mark.anyio

EDITS = ("put", "patch", "delete")

# edits with no GET at their own path, and why none is needed
WITHOUT_GET = {
    ("delete", "/v1/admin/terminals/{terminal_id}"): "a revoke, not an edit of a version: the terminal's state is "
    "in GET /v1/admin/terminals, and revoking twice is harmless",
    ("delete", "/v1/admin/terminals/{terminal_id}/key/previous"): "an action (end the grace of replaced keys now), "
    "like a POST: nothing to overwrite",
}


def test_every_admin_edit_has_a_get_at_its_own_path_or_a_reason() -> None:
    paths = create_app().openapi()["paths"]
    missing = {
        (method, path)
        for path, operations in paths.items()
        if path.startswith("/v1/admin") and "get" not in operations
        for method in operations
        if method in EDITS
    }
    assert missing == set(WITHOUT_GET), "give the edit a GET at its path (its If-Match needs an ETag), or a reason"


@dataclass(frozen=True)
class Edit:
    method: str
    path: Callable[[Network, dict[str, Any]], str]
    first: Callable[[dict[str, Any]], dict[str, Any]]
    second: Callable[[dict[str, Any]], dict[str, Any]]
    operator: bool = False  # sent with the operator's token, not the admin key


async def _ids(services: Services, http: httpx.AsyncClient, net: Network) -> dict[str, Any]:
    member = await enrol(http, net.shop_key, "7000111")
    listing = await services.admin.listing(net.ref)
    outlet_id = listing["outlets"][0]["id"]
    cashier = await http.post(
        "/v1/admin/cashiers",
        json={"outlet_id": outlet_id, "login": "anna", "name": "Anna", "password": "secret-1"},
        headers=auth(net.admin_key),
    )
    assert cashier.status_code == 201, cashier.text
    terminal = next(t for t in listing["terminals"] if t["outlet_id"] == outlet_id and t["name"] == "POS")
    return {
        "member_id": member["member"]["id"],
        "card": "7000111",
        "cashier_id": cashier.json()["id"],
        "partner_id": listing["partners"][0]["id"],
        "terminal_id": terminal["id"],
    }


def _same(body: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda _fields: body


def _program(change: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def body(fields: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "min_check": change}

    return body


EDITS_WITH_A_NEW_GET = {
    "member labels": Edit("patch", lambda n, i: f"/v1/admin/members/{i['card']}", _same({"tier": "gold"}),
                          _same({"tier": "silver"})),
    "wallet limits": Edit("put", lambda n, i: f"/v1/admin/members/{i['member_id']}/wallet",
                          _same({"credit_limit": "100.00"}), _same({"credit_limit": "200.00"})),
    "cashier active": Edit("put", lambda n, i: f"/v1/admin/cashiers/{i['cashier_id']}/active",
                           _same({"active": False}), _same({"active": True})),
    "cashier password": Edit("put", lambda n, i: f"/v1/admin/cashiers/{i['cashier_id']}/password",
                             _same({"password": "secret-2"}), _same({"password": "secret-3"})),
    "partner e-mail": Edit("put", lambda n, i: f"/v1/admin/partners/{i['partner_id']}/email",
                           _same({"email": "a@example.org"}), _same({"email": "b@example.org"})),
    "schedule": Edit("put", lambda n, i: "/v1/admin/schedules/expire", _same({"every_minutes": 30}),
                     _same({"every_minutes": 45})),
    "admin key expiry": Edit("put", lambda n, i: f"/v1/admin/networks/{n.ref.code}/admin-key/expiry",
                             _same({"expires_at": "2030-01-01T00:00:00+00:00"}),
                             _same({"expires_at": "2031-01-01T00:00:00+00:00"})),
    "terminal key expiry": Edit("put", lambda n, i: f"/v1/admin/terminals/{i['terminal_id']}/key/expiry",
                                _same({"expires_at": "2030-01-01T00:00:00+00:00"}),
                                _same({"expires_at": "2031-01-01T00:00:00+00:00"})),
    "program": Edit("put", lambda n, i: "/v1/admin/rule-sets/draft/program", _program("100.00"), _program("200.00")),
    "plan": Edit("put", lambda n, i: f"/v1/admin/networks/{n.ref.id}/plan", _same({"plan": "business"}),
                 _same({"plan": "large"}), operator=True),
}  # fmt: skip


@pytest.mark.parametrize("name", list(EDITS_WITH_A_NEW_GET))
async def test_an_edit_checks_if_match_against_the_get_at_its_path(services: Services, name: str) -> None:
    edit = EDITS_WITH_A_NEW_GET[name]
    net = await make_network(services)
    async with client(services) as http:
        ids = await _ids(services, http, net)
        headers = auth(services.settings.operator_token or "" if edit.operator else net.admin_key)
        path = edit.path(net, ids)
        read = await http.get(path, headers=headers)
        assert read.status_code == 200, read.text
        base = read.headers["ETag"]
        fields = read.json().get("fields", {})

        async def send(body: dict[str, Any], if_match: str) -> httpx.Response:
            return await http.request(edit.method.upper(), path, json=body, headers={**headers, "If-Match": if_match})

        first = await send(edit.first(fields), base)
        assert first.status_code == 200, first.text
        assert first.headers["ETag"] != base
        now = await http.get(path, headers=headers)
        assert now.headers["ETag"] == first.headers["ETag"]
        second = await send(edit.second(fields), base)  # the other administrator's edit of the old version
        assert_problem(second, 412, "precondition-failed", "If-Match")
        assert (await http.get(path, headers=headers)).headers["ETag"] == first.headers["ETag"]  # the first stands
        anyway = await send(edit.second(fields), "*")
        assert anyway.status_code == 200, anyway.text
        again = await send(edit.first(fields), anyway.headers["ETag"])
        assert again.status_code == 200, again.text


async def test_the_new_reads_keep_to_the_edits_access_and_show_no_secret(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, "other")
    async with client(services) as http:
        ids = await _ids(services, http, net)
        state = await http.get(f"/v1/admin/cashiers/{ids['cashier_id']}/password", headers=auth(net.admin_key))
        assert state.status_code == 200, state.text
        assert state.json() == {"id": ids["cashier_id"], "login": "anna", "active": True, "password_changed_at": None}
        for path, field in (
            (f"/v1/admin/cashiers/{ids['cashier_id']}/password", "cashier_id"),
            (f"/v1/admin/cashiers/{ids['cashier_id']}/active", "cashier_id"),
            (f"/v1/admin/partners/{ids['partner_id']}/email", "partner_id"),
            (f"/v1/admin/members/{ids['member_id']}/wallet", "member_id"),
            (f"/v1/admin/terminals/{ids['terminal_id']}/key/expiry", "terminal_id"),
            ("/v1/admin/members/7000111", "identifier"),
            ("/v1/admin/networks/shop/admin-key/expiry", "network"),
        ):
            foreign = await http.get(path, headers=auth(other.admin_key))
            assert foreign.status_code == 404, (path, foreign.text)
            assert foreign.json().get("field") == field, (path, foreign.text)
            assert (await http.get(path)).status_code == 401
        unknown = await http.get("/v1/admin/schedules/nothing", headers=auth(net.admin_key))
        assert_problem(unknown, 404, "not-found", "job")
        plan = f"/v1/admin/networks/{net.ref.id}/plan"
        assert (await http.get(plan, headers=auth(net.admin_key))).status_code in (401, 403)
