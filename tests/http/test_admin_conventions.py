"""The admin API's conventions (issue 17, point 5; docs/api.md "Conventions"): every admin write takes an
Idempotency-Key and replays like the till's writes, and every editable resource has an ETag that If-Match checks,
so that two administrators cannot overwrite each other."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from coalition.adapters.storage import tables as t
from tests.support import assert_problem, auth, client, make_network, new_key

pytestmark = pytest.mark.anyio


async def _count(services, table) -> int:  # type: ignore[no-untyped-def]
    async with services.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_an_admin_write_with_an_idempotency_key_is_replayed_and_another_body_is_refused(services):
    net = await make_network(services)
    async with client(services) as http:
        partners = await _count(services, t.partners)
        key = new_key()
        first = await http.post("/v1/admin/partners", json={"name": "Bakery"}, headers=auth(net.admin_key, key))
        assert first.status_code == 201, first.text
        assert "Idempotent-Replayed" not in first.headers
        again = await http.post("/v1/admin/partners", json={"name": "Bakery"}, headers=auth(net.admin_key, key))
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert await _count(services, t.partners) == partners + 1  # created once
        other = await http.post("/v1/admin/partners", json={"name": "Butcher"}, headers=auth(net.admin_key, key))
        assert_problem(other, 422, "idempotency-key-reused", "Idempotency-Key")
        assert await _count(services, t.partners) == partners + 1
        # without a key, the same request is evaluated again, as before: the name is taken now
        plain = await http.post("/v1/admin/partners", json={"name": "Bakery"}, headers=auth(net.admin_key))
        assert_problem(plain, 409, "conflict")


async def test_a_refused_admin_write_keeps_nothing_so_its_retry_is_evaluated_afresh(services):
    net = await make_network(services)
    async with client(services) as http:
        key = new_key()
        refused = await http.put(
            "/v1/admin/limits", json={"max_lines_per_purchase": 0}, headers=auth(net.admin_key, key)
        )
        assert_problem(refused, 422, "invalid-input", "max_lines_per_purchase")
        assert await _count(services, t.admin_idempotency_keys) == 0
        other = await http.put("/v1/admin/limits", json={"max_lines_per_purchase": 7}, headers=auth(net.admin_key, key))
        assert other.status_code == 200, other.text


async def test_idempotency_keys_are_scoped_by_the_admin_key(services):
    ours = await make_network(services, "ours")
    theirs = await make_network(services, "theirs")
    async with client(services) as http:
        key = new_key()
        mine = await http.post("/v1/admin/partners", json={"name": "A"}, headers=auth(ours.admin_key, key))
        other = await http.post("/v1/admin/partners", json={"name": "B"}, headers=auth(theirs.admin_key, key))
        assert mine.status_code == other.status_code == 201
        assert "Idempotent-Replayed" not in other.headers
        assert other.json()["name"] == "B"


async def test_a_concurrent_duplicate_admin_write_runs_once(services):
    net = await make_network(services)
    async with client(services) as http:
        partners = await _count(services, t.partners)
        key = new_key()
        answers = await asyncio.gather(
            *(
                http.post("/v1/admin/partners", json={"name": "Twice"}, headers=auth(net.admin_key, key))
                for _ in range(4)
            )
        )
        assert [answer.status_code for answer in answers] == [201] * 4, [a.text for a in answers]
        assert len({answer.json()["id"] for answer in answers}) == 1
        assert sum(answer.headers.get("Idempotent-Replayed") == "true" for answer in answers) == 3
        assert await _count(services, t.partners) == partners + 1


async def test_an_upload_retried_with_its_idempotency_key_is_replayed_whatever_its_multipart_boundary(services):
    """A retry of a file upload sends the same form under a new multipart boundary (every client draws one per
    request): it is the same request, so it replays; another file under the same key is refused."""
    net = await make_network(services)
    members = b"card_number,points_balance\n8100-0001,5\n"
    async with client(services) as http:
        key = new_key()

        async def upload(data: bytes, boundary: str) -> httpx.Response:
            form = (
                (
                    f"--{boundary}\r\n"
                    'Content-Disposition: form-data; name="file"; filename="members.csv"\r\n'
                    "Content-Type: text/csv\r\n\r\n"
                ).encode()
                + data
                + f"\r\n--{boundary}--\r\n".encode()
            )
            headers = {**auth(net.admin_key, key), "Content-Type": f"multipart/form-data; boundary={boundary}"}
            return await http.post("/v1/admin/imports/members", content=form, headers=headers)

        first = await upload(members, "first-boundary-1")
        assert first.status_code == 200, first.text
        assert first.json()["created"] == 1
        again = await upload(members, "second-boundary-2")
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        other = await upload(b"card_number,points_balance\n8100-0002,5\n", "third-boundary-3")
        assert_problem(other, 422, "idempotency-key-reused", "Idempotency-Key")
        # httpx's own uploads draw a boundary each: the same file with the same key replays too
        drawn = await http.post(
            "/v1/admin/imports/members",
            files={"file": ("members.csv", members, "text/csv")},
            headers=auth(net.admin_key, key),
        )
        assert drawn.status_code == 200, drawn.text
        assert drawn.headers["Idempotent-Replayed"] == "true"


async def test_a_bad_idempotency_key_is_a_422_naming_it(services):
    net = await make_network(services)
    async with client(services) as http:
        response = await http.post("/v1/admin/partners", json={"name": "A"}, headers=auth(net.admin_key, "k" * 201))
        assert_problem(response, 422, "invalid-input", "Idempotency-Key")


async def test_two_administrators_editing_the_same_version_the_second_gets_412(services):
    net = await make_network(services)
    async with client(services) as http:
        read = await http.get("/v1/admin/limits", headers=auth(net.admin_key))
        base = read.headers["ETag"]
        assert base.startswith('"')
        again = await http.get("/v1/admin/limits", headers=auth(net.admin_key))
        assert again.headers["ETag"] == base  # nothing changed: the same version
        first = await http.put(
            "/v1/admin/limits",
            json={"max_lines_per_purchase": 40},
            headers={**auth(net.admin_key), "If-Match": base},
        )
        assert first.status_code == 200, first.text
        assert first.headers["ETag"] != base
        second = await http.put(
            "/v1/admin/limits",
            json={"max_lines_per_purchase": 60},
            headers={**auth(net.admin_key), "If-Match": base},
        )
        assert_problem(second, 412, "precondition-failed", "If-Match")
        now = await http.get("/v1/admin/limits", headers=auth(net.admin_key))
        assert now.json()["max_lines_per_purchase"] == 40  # the first edit stands
        assert now.headers["ETag"] == first.headers["ETag"]
        # the second administrator reads again and edits the version they have seen
        third = await http.put(
            "/v1/admin/limits",
            json={"max_lines_per_purchase": 60},
            headers={**auth(net.admin_key), "If-Match": now.headers["ETag"]},
        )
        assert third.status_code == 200, third.text
        # without If-Match the edit is made, as before (documented)
        blind = await http.put("/v1/admin/limits", json={"max_lines_per_purchase": 70}, headers=auth(net.admin_key))
        assert blind.status_code == 200


async def test_if_match_on_a_resource_without_a_version_is_a_412(services):
    net = await make_network(services)
    async with client(services) as http:
        # a cashier that does not exist has no version, not even `*`
        for if_match in ('"abc"', "*"):
            response = await http.put(
                "/v1/admin/cashiers/999999/active",
                json={"active": False},
                headers={**auth(net.admin_key), "If-Match": if_match},
            )
            assert_problem(response, 412, "precondition-failed", "If-Match")
        # an action with no GET of its own (tests/http/test_admin_edit_versions.py WITHOUT_GET)
        response = await http.delete(
            "/v1/admin/terminals/1/key/previous", headers={**auth(net.admin_key), "If-Match": "*"}
        )
        assert_problem(response, 412, "precondition-failed", "If-Match")


async def test_the_cleanup_job_deletes_idempotency_records_past_their_retention(services):
    from datetime import timedelta

    net = await make_network(services)
    async with client(services) as http:
        await http.post("/v1/admin/partners", json={"name": "A"}, headers=auth(net.admin_key, new_key()))
    assert await _count(services, t.admin_idempotency_keys) == 1
    assert await services.admin_idempotency.clean(net.ref.id) == 0  # within its 24 hours
    async with services.engine.begin() as connection:
        await connection.execute(
            t.admin_idempotency_keys.update().values(
                created_at=t.admin_idempotency_keys.c.created_at - timedelta(hours=25)
            )
        )
    assert await services.admin_idempotency.clean(net.ref.id) == 1
    assert await _count(services, t.admin_idempotency_keys) == 0


async def _pages(http, path: str, key: str, name: str, limit: int = 50) -> list[list[dict]]:  # type: ignore[type-arg]
    pages, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await http.get(path, params=params, headers=auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[name])
        cursor = body["next_cursor"]
        assert response.headers.get("X-Next-Cursor") == cursor  # absent on the last page
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        assert response.headers["Link"].endswith('>; rel="next"') and "cursor=" in response.headers["Link"]


async def test_a_list_of_120_pages_as_50_50_20_without_duplicates(services):
    net = await make_network(services)
    async with client(services) as http:
        until = "2099-01-01T00:00:00+00:00"
        made = await http.post(
            "/v1/admin/coupons",
            json={"campaign": "spring", "count": 120, "valid_until": until},
            headers=auth(net.admin_key),
        )
        assert made.status_code == 201, made.text
        pages = await _pages(http, "/v1/admin/coupons", net.admin_key, "coupons")
        assert [len(page) for page in pages] == [50, 50, 20]
        ids = [coupon["id"] for page in pages for coupon in page]
        assert len(set(ids)) == 120 and ids == sorted(ids)
        # the default page is 50 items, a page of 500 holds them all
        assert len((await http.get("/v1/admin/coupons", headers=auth(net.admin_key))).json()["coupons"]) == 50
        whole = (await http.get("/v1/admin/coupons?limit=500", headers=auth(net.admin_key))).json()
        assert len(whole["coupons"]) == 120 and whole["next_cursor"] is None


async def test_a_list_read_whole_pages_the_same_way(services):
    net = await make_network(services)
    async with client(services) as http:
        for number in range(7):
            made = await http.post(
                "/v1/admin/gift-types",
                json={"code": f"g{number}", "name": f"Gift {number}", "price": "10.00", "partners": ["Shop"]},
                headers=auth(net.admin_key),
            )
            assert made.status_code == 201, made.text
        pages = await _pages(http, "/v1/admin/gift-types", net.admin_key, "gift_types", limit=3)
        assert [len(page) for page in pages] == [3, 3, 1]
        assert len({item["id"] for page in pages for item in page}) == 7


@pytest.mark.parametrize(
    "path",
    [
        "/v1/admin/coupons",
        "/v1/admin/gift-types",
        "/v1/admin/devices",
        "/v1/admin/webhooks",
        "/v1/admin/schedules/runs",
        "/v1/admin/settlement/statements",
        "/v1/admin/rule-sets",
        "/v1/admin/message-templates",
        "/v1/admin/transactions",
    ],
)
async def test_a_bad_cursor_or_limit_is_a_422_naming_it(services, path):
    net = await make_network(services)
    async with client(services) as http:
        for limit in ("0", "501", "many"):
            response = await http.get(path, params={"limit": limit}, headers=auth(net.admin_key))
            assert_problem(response, 422, "invalid-input", "limit")
        for cursor in ("garbled", "c1.MTIzLmFiYw", "c1.!!!", "c1." + "A" * 200):
            response = await http.get(path, params={"cursor": cursor}, headers=auth(net.admin_key))
            assert_problem(response, 422, "invalid-input", "cursor")
        first = await http.get(path, params={"limit": 1}, headers=auth(net.admin_key))
        assert first.status_code == 200, first.text
        assert "next_cursor" in first.json()


async def test_the_transactions_list_pages_and_filters_by_time_outlet_member_and_kind(services):
    from datetime import UTC, datetime, timedelta

    from tests.support import buy, enrol

    net = await make_network(services)
    async with client(services) as http:
        first = await enrol(http, net.shop_key, "6000-0001")
        await enrol(http, net.shop_key, "6000-0002")
        start = datetime.now(UTC) - timedelta(seconds=1)
        for card, key in [("6000-0001", net.shop_key)] * 3 + [("6000-0002", net.cafe_key)] * 2:
            assert (await buy(http, key, card, "100.00")).status_code == 201
        admin = auth(net.admin_key)
        purchases = await _pages(http, "/v1/admin/transactions?kind=purchase", net.admin_key, "transactions", limit=2)
        assert [len(page) for page in purchases] == [2, 2, 1]
        listed = [tx for page in purchases for tx in page]
        assert len({tx["id"] for tx in listed}) == 5 and all(tx["kind"] == "purchase" for tx in listed)
        assert {"owner_kind", "purpose", "asset"} <= set(listed[0]["postings"][0])
        shop_outlet = listed[0]["outlet_id"]
        at_shop = await http.get(f"/v1/admin/transactions?kind=purchase&outlet_id={shop_outlet}", headers=admin)
        assert len(at_shop.json()["transactions"]) == 3
        member_id = first["member"]["id"] if "member" in first else first["id"]
        of_member = await http.get(f"/v1/admin/transactions?kind=purchase&member_id={member_id}", headers=admin)
        assert len(of_member.json()["transactions"]) == 3
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        none_yet = await http.get("/v1/admin/transactions", params={"since": later}, headers=admin)
        assert none_yet.json() == {"transactions": [], "next_cursor": None}
        since = await http.get(
            "/v1/admin/transactions", params={"kind": "purchase", "since": start.isoformat()}, headers=admin
        )
        assert len(since.json()["transactions"]) == 5
        before = await http.get(
            "/v1/admin/transactions", params={"until": start.isoformat(), "kind": "purchase"}, headers=admin
        )
        assert before.json()["transactions"] == []
        assert_problem(
            await http.get("/v1/admin/transactions?kind=nothing", headers=admin), 422, "invalid-input", "kind"
        )
        backwards = {"since": later, "until": start.isoformat()}
        assert_problem(
            await http.get("/v1/admin/transactions", params=backwards, headers=admin), 422, "invalid-input", "until"
        )
        naive = await http.get("/v1/admin/transactions", params={"since": "2026-01-01T00:00:00"}, headers=admin)
        assert_problem(naive, 422, "invalid-input", "since")
