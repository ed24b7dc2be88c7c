"""The network's partners, outlets, terminals and cashiers in pages (issue 17, point 5; docs/api.md "Conventions"),
on both engines: page 1 + page 2 + … hold every record exactly once in id order, the filters narrow them, another
network's partner or outlet in a filter is an empty page like an unknown one, terminals never show a key; and
GET /v1/admin/network is bounded: the first 100 of each list and `<list>_next`, the link to the rest."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from coalition.adapters.http.pagination import encode_cursor
from tests.support import assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio


async def _walk(http: httpx.AsyncClient, path: str, key: str, name: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await http.get(path, params=query, headers=auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[name])
        cursor = body["next_cursor"]
        assert response.headers.get("X-Next-Cursor") == cursor
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        assert response.headers["Link"].endswith('>; rel="next"') and f"cursor={cursor}" in response.headers["Link"]


async def _post(http: httpx.AsyncClient, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_partners_outlets_terminals_and_cashiers_page_in_id_order_and_filter(services):
    net = await make_network(services)  # partners Shop and Cafe, an outlet and a POS terminal each
    other = await make_network(services, "other")
    key = net.admin_key
    async with client(services) as http:
        before = (await http.get("/v1/admin/network", headers=auth(key))).json()
        shop_partner, cafe_partner = (p["id"] for p in before["partners"])
        shop_outlet = before["outlets"][0]["id"]
        extra = [await _post(http, key, "/v1/admin/partners", {"name": f"Partner {n}"}) for n in range(3)]
        second = await _post(http, key, "/v1/admin/outlets", {"partner_id": shop_partner, "name": "Shop kiosk"})
        kiosk = await _post(http, key, "/v1/admin/terminals", {"outlet_id": second["id"], "name": "Kiosk"})
        cashiers = [
            await _post(
                http,
                key,
                "/v1/admin/cashiers",
                {"outlet_id": outlet, "login": f"c{n}", "name": f"Cashier {n}", "password": "secret-123"},
            )
            for n, outlet in enumerate([shop_outlet, second["id"], shop_outlet])
        ]

        partners = await _walk(http, "/v1/admin/partners", key, "partners", limit=2)
        assert [len(page) for page in partners] == [2, 2, 1]
        ids = [p["id"] for page in partners for p in page]
        assert ids == sorted(ids) and ids == [shop_partner, cafe_partner, *(p["id"] for p in extra)]
        assert partners[0][0] == {"id": shop_partner, "name": "Shop"}

        outlets = await _walk(http, "/v1/admin/outlets", key, "outlets", limit=1)
        assert [o["name"] for page in outlets for o in page] == ["Shop till", "Cafe till", "Shop kiosk"]
        assert outlets[0][0] == {
            "id": shop_outlet,
            "partner_id": shop_partner,
            "name": "Shop till",
            "timezone": "Europe/Moscow",
        }
        shops = await _walk(http, "/v1/admin/outlets", key, "outlets", partner_id=shop_partner, limit=1)
        assert [[o["name"] for o in page] for page in shops] == [["Shop till"], ["Shop kiosk"]]

        terminals = await _walk(http, "/v1/admin/terminals", key, "terminals", limit=2)
        listed = [t for page in terminals for t in page]
        assert [t["name"] for t in listed] == ["POS", "POS", "Kiosk"]
        assert listed[2] == {
            "id": kiosk["id"],
            "outlet_id": second["id"],
            "name": "Kiosk",
            "key_prefix": kiosk["key"][:12],
            "active": True,
            "key_expires_at": None,
            "previous_keys": [],
        }
        assert all("key" not in t and kiosk["key"] not in str(t) for t in listed)  # never a key, only its prefix
        at_kiosk = await _walk(http, "/v1/admin/terminals", key, "terminals", outlet_id=second["id"])
        assert [[t["id"] for t in page] for page in at_kiosk] == [[kiosk["id"]]]

        staff = await _walk(http, "/v1/admin/cashiers", key, "cashiers", limit=2)
        assert [c["id"] for page in staff for c in page] == [c["id"] for c in cashiers]
        assert staff[0][0] == {
            "id": cashiers[0]["id"],
            "outlet_id": shop_outlet,
            "login": "c0",
            "name": "Cashier 0",
            "active": True,
        }
        at_till = await _walk(http, "/v1/admin/cashiers", key, "cashiers", outlet_id=shop_outlet)
        assert [c["login"] for page in at_till for c in page] == ["c0", "c2"]

        # another network's records are never listed, and its ids in a filter answer as unknown ones: an empty page
        theirs = (await http.get("/v1/admin/network", headers=auth(other.admin_key))).json()
        for path, name, params in [
            ("/v1/admin/outlets", "outlets", {"partner_id": theirs["partners"][0]["id"]}),
            ("/v1/admin/outlets", "outlets", {"partner_id": 999_999_999}),
            ("/v1/admin/terminals", "terminals", {"outlet_id": theirs["outlets"][0]["id"]}),
            ("/v1/admin/cashiers", "cashiers", {"outlet_id": theirs["outlets"][0]["id"]}),
            ("/v1/admin/cashiers", "cashiers", {"outlet_id": 999_999_999}),
        ]:
            response = await http.get(path, params=params, headers=auth(key))
            assert response.json() == {name: [], "next_cursor": None}, (path, params)
        mine = {p["id"] for page in partners for p in page}
        assert not mine & {p["id"] for p in theirs["partners"]}


@pytest.mark.parametrize(
    "path", ["/v1/admin/partners", "/v1/admin/outlets", "/v1/admin/terminals", "/v1/admin/cashiers"]
)
async def test_a_bad_limit_cursor_or_filter_is_a_422_naming_it_and_no_key_a_401(services, path):
    net = await make_network(services)
    async with client(services) as http:
        for limit in ("0", "501", "many"):
            assert_problem(
                await http.get(path, params={"limit": limit}, headers=auth(net.admin_key)),
                422,
                "invalid-input",
                "limit",
            )
        for cursor in ("garbled", "c1.MTIzLmFiYw", "c1." + "A" * 200):
            refused = await http.get(path, params={"cursor": cursor}, headers=auth(net.admin_key))
            assert_problem(refused, 422, "invalid-input", "cursor")
        for name in ("partner_id", "outlet_id"):
            for value in ("0", "x", str(2**63)):
                response = await http.get(path, params={name: value}, headers=auth(net.admin_key))
                if name in (
                    ("partner_id",)
                    if path.endswith("outlets")
                    else ("outlet_id",)
                    if not path.endswith("partners")
                    else ()
                ):
                    assert_problem(response, 422, "invalid-input", name)
        assert (await http.get(path)).status_code == 401
        assert (await http.get(path, headers=auth(net.shop_key))).status_code in (401, 403)


async def test_the_network_is_one_bounded_resource_with_links_to_the_rest(services):
    net = await make_network(services)
    key = net.admin_key
    async with client(services) as http:
        shop_partner = (await http.get("/v1/admin/network", headers=auth(key))).json()["partners"][0]["id"]
        for n in range(99):  # 101 partners in all (made without HTTP: the admin key's rate limit)
            await services.admin.create_partner(net.ref, f"Partner {n:03}")
        whole = await http.get("/v1/admin/network", headers=auth(key))
        assert whole.status_code == 200, whole.text
        assert whole.headers["ETag"].startswith('"')
        body = whole.json()
        assert body["network"] == {"id": net.ref.id, "code": "shop", "name": "Test network", "currency": "RUB"}
        assert len(body["partners"]) == 100 and body["partners"][0]["id"] == shop_partner
        assert body["partners_next"] == f"/v1/admin/partners?cursor={encode_cursor(body['partners'][-1]['id'])}"
        assert (body["outlets_next"], body["terminals_next"], body["cashiers_next"]) == (None, None, None)
        assert len(body["outlets"]) == len(body["terminals"]) == 2 and body["cashiers"] == []
        rest = (await http.get(body["partners_next"], headers=auth(key))).json()
        assert [p["name"] for p in rest["partners"]] == ["Partner 098"] and rest["next_cursor"] is None
        listed = [p["id"] for p in body["partners"]] + [p["id"] for p in rest["partners"]]
        assert len(set(listed)) == 101

        await services.admin.create_partner(net.ref, "One more")  # still bounded
        assert len((await http.get("/v1/admin/network", headers=auth(key))).json()["partners"]) == 100
