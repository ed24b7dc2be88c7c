"""Key life cycle: the admin key and terminal keys rotated with a grace period, keys that expire (both engines).

Time moves on the services' clock; the terminal key cache keeps running on real time, so a check made within its
few seconds shows that the expiry is checked on the cached value itself, on every use."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.http.water_park import DAY_START, Clock
from tests.support import Network, assert_problem, auth, client, enrol, make_network

pytestmark = pytest.mark.anyio

HOUR = 3600


@pytest.fixture()
async def keyed(settings: Settings) -> Any:
    """Services on a clock the test moves, with a network of two outlets and a member at the shop."""
    clock = Clock()
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        async with client(services) as http:
            await enrol(http, net.shop_key, "7000-0001")
            yield services, clock, net, http
    finally:
        await services.close()


async def _admin_works(http, key: str) -> int:
    return int((await http.get("/v1/admin/network", headers=auth(key))).status_code)


async def _till_works(http, key: str) -> int:
    return int((await http.get("/v1/members/7000-0001", headers=auth(key))).status_code)


async def _terminal_id(http, net: Network, outlet_name: str = "Shop till") -> int:
    listing = (await http.get("/v1/admin/network", headers=auth(net.admin_key))).json()
    outlet = next(o for o in listing["outlets"] if o["name"] == outlet_name)
    return int(next(t["id"] for t in listing["terminals"] if t["outlet_id"] == outlet["id"]))


def _rotate_admin(http, net: Network, key: str, **body: Any):
    return http.post(f"/v1/admin/networks/{net.ref.code}/admin-key/rotate", json=body, headers=auth(key))


async def test_a_rotated_admin_key_keeps_the_old_one_through_the_grace_then_only_the_new(keyed):
    _services, clock, net, http = keyed
    rotated = await _rotate_admin(http, net, net.admin_key, grace_seconds=HOUR)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    new_key = body["admin_key"]
    assert new_key.startswith("adm_") and new_key != net.admin_key
    assert body["previous_key_valid_until"] == (DAY_START + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert body["expires_at"] is None
    assert [await _admin_works(http, key) for key in (net.admin_key, new_key)] == [200, 200]

    clock.moment = DAY_START + timedelta(seconds=HOUR - 1)
    assert await _admin_works(http, net.admin_key) == 200
    clock.moment = DAY_START + timedelta(seconds=HOUR)
    refused = await http.get("/v1/admin/network", headers=auth(net.admin_key))
    problem = assert_problem(refused, 401, "key-expired")
    assert "grace" in problem["detail"]
    assert await _admin_works(http, new_key) == 200


async def test_a_key_in_its_grace_period_cannot_rotate_again_and_the_operator_token_can(keyed):
    _services, _clock, net, http = keyed
    new_key = (await _rotate_admin(http, net, net.admin_key, grace_seconds=HOUR)).json()["admin_key"]
    assert_problem(await _rotate_admin(http, net, net.admin_key, grace_seconds=0), 403, "forbidden")
    by_operator = await _rotate_admin(http, net, "operator-secret", grace_seconds=0)
    assert by_operator.status_code == 200, by_operator.text
    assert await _admin_works(http, new_key) == 401  # grace 0: refused at once
    assert await _admin_works(http, net.admin_key) == 200  # its own grace is not shortened by a later rotation
    assert await _admin_works(http, by_operator.json()["admin_key"]) == 200
    assert_problem(await _rotate_admin(http, net, "operator-wrong", grace_seconds=0), 401, "unauthorized")
    assert_problem(await _rotate_admin(http, net, "", grace_seconds=0), 401, "unauthorized")


async def test_a_retried_rotation_issues_another_key_and_cuts_no_key_off_before_its_grace(keyed):
    _services, clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    first = (await _rotate_admin(http, net, net.admin_key, grace_seconds=HOUR)).json()["admin_key"]  # answer lost
    retried = await _rotate_admin(http, net, "operator-secret", grace_seconds=HOUR)
    second = retried.json()["admin_key"]
    assert len({net.admin_key, first, second}) == 3
    assert [await _admin_works(http, key) for key in (net.admin_key, first, second)] == [200, 200, 200]
    clock.moment = DAY_START + timedelta(hours=1)
    assert [await _admin_works(http, key) for key in (net.admin_key, first, second)] == [401, 401, 200]

    path = f"/v1/admin/terminals/{terminal_id}/key/rotate"
    keys = [(await http.post(path, json={"grace_seconds": 60}, headers=auth(second))).json()["key"] for _ in "ab"]
    assert [await _till_works(http, key) for key in (net.shop_key, *keys)] == [200, 200, 200]


async def test_a_rotation_retried_with_its_idempotency_key_by_the_replaced_key_issues_another_key(keyed):
    _services, clock, net, http = keyed
    path = f"/v1/admin/networks/{net.ref.code}/admin-key/rotate"
    body = {"grace_seconds": HOUR}
    lost = (await http.post(path, json=body, headers=auth(net.admin_key, "rotate-1"))).json()["admin_key"]
    # the answer never arrived: the caller still holds only the old key, now in its grace period
    assert_problem(await http.post(path, json=body, headers=auth(net.admin_key)), 403, "forbidden")
    assert_problem(await http.post(path, json=body, headers=auth(net.admin_key, "other")), 403, "forbidden")
    retried = await http.post(path, json=body, headers=auth(net.admin_key, "rotate-1"))
    assert retried.status_code == 200, retried.text
    new_key = retried.json()["admin_key"]
    assert [await _admin_works(http, key) for key in (net.admin_key, lost, new_key)] == [200, 200, 200]
    clock.moment = DAY_START + timedelta(hours=1)  # the retry did not extend the old key's grace
    assert [await _admin_works(http, key) for key in (net.admin_key, lost, new_key)] == [401, 401, 200]
    late = await http.post(path, json=body, headers=auth(net.admin_key, "rotate-1"))
    assert_problem(late, 401, "key-expired")


async def test_another_networks_admin_key_cannot_rotate_or_expire_this_networks_keys(keyed):
    services, _clock, net, http = keyed
    other = await make_network(services, "other")
    terminal_id = await _terminal_id(http, net)
    assert_problem(await _rotate_admin(http, net, other.admin_key, grace_seconds=0), 404, "not-found", "network")
    expiry = {"expires_at": "2026-07-02T00:00:00Z"}
    assert_problem(
        await http.put(
            f"/v1/admin/networks/{net.ref.code}/admin-key/expiry", json=expiry, headers=auth(other.admin_key)
        ),
        404,
        "not-found",
    )
    for method, path, body in (
        ("POST", f"/v1/admin/terminals/{terminal_id}/key/rotate", {"grace_seconds": 0}),
        ("PUT", f"/v1/admin/terminals/{terminal_id}/key/expiry", expiry),
        ("DELETE", f"/v1/admin/terminals/{terminal_id}/key/previous", None),
    ):
        answer = await http.request(method, path, json=body, headers=auth(other.admin_key))
        assert_problem(answer, 404, "not-found", "terminal_id")
    assert [await _admin_works(http, net.admin_key), await _till_works(http, net.shop_key)] == [200, 200]


async def test_a_rotated_terminal_key_serves_beside_the_old_one_until_the_grace_ends(keyed):
    _services, clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    assert await _till_works(http, net.shop_key) == 200  # the old key is now in this worker's key cache
    rotated = await http.post(
        f"/v1/admin/terminals/{terminal_id}/key/rotate", json={"grace_seconds": 60}, headers=auth(net.admin_key)
    )
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    new_key = body["key"]
    assert new_key.startswith("term_") and body["id"] == terminal_id
    assert body["previous_key_valid_until"] == "2026-07-01T06:01:00Z"
    assert [await _till_works(http, key) for key in (net.shop_key, new_key)] == [200, 200]
    # the same terminal: an idempotent write sent with the old key replays with the new one
    purchase = {"customer": "7000-0001", "amount": "100.00", "receipt": "r-1"}
    first = await http.post("/v1/purchases", json=purchase, headers=auth(net.shop_key, "k-1"))
    again = await http.post("/v1/purchases", json=purchase, headers=auth(new_key, "k-1"))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    listing = (await http.get("/v1/admin/network", headers=auth(net.admin_key))).json()
    terminal = next(t for t in listing["terminals"] if t["id"] == terminal_id)
    assert terminal["key_prefix"] == new_key[:12]
    [previous] = terminal["previous_keys"]
    assert previous["key_prefix"] == net.shop_key[:12]
    assert datetime.fromisoformat(previous["valid_until"]) == DAY_START + timedelta(minutes=1)

    clock.moment = DAY_START + timedelta(seconds=60)  # within the cache's seconds: the cached old key is refused
    problem = assert_problem(await http.get("/v1/members/7000-0001", headers=auth(net.shop_key)), 401, "key-expired")
    assert "grace" in problem["detail"]
    assert await _till_works(http, new_key) == 200
    assert await _till_works(http, net.cafe_key) == 200  # the other outlet's terminal is untouched


async def test_grace_zero_refuses_the_old_terminal_key_at_once_even_from_the_cache(keyed):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    assert await _till_works(http, net.shop_key) == 200
    rotated = await http.post(
        f"/v1/admin/terminals/{terminal_id}/key/rotate", json={"grace_seconds": 0}, headers=auth(net.admin_key)
    )
    assert rotated.json()["previous_key_valid_until"] == "2026-07-01T06:00:00Z"
    assert await _till_works(http, net.shop_key) == 401
    assert await _till_works(http, rotated.json()["key"]) == 200


async def test_the_old_terminal_key_can_be_ended_before_its_grace(keyed):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    path = f"/v1/admin/terminals/{terminal_id}/key"
    new_key = (await http.post(f"{path}/rotate", json={"grace_seconds": HOUR}, headers=auth(net.admin_key))).json()
    assert await _till_works(http, net.shop_key) == 200
    ended = await http.delete(f"{path}/previous", headers=auth(net.admin_key))
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"id": terminal_id, "previous_keys_ended": 1}
    assert await _till_works(http, net.shop_key) == 401
    assert await _till_works(http, new_key["key"]) == 200


async def test_a_terminal_key_expires_and_answers_401_saying_so(keyed):
    _services, clock, net, http = keyed
    listing = (await http.get("/v1/admin/network", headers=auth(net.admin_key))).json()
    outlet_id = listing["outlets"][0]["id"]
    created = await http.post(
        "/v1/admin/terminals",
        json={"outlet_id": outlet_id, "name": "Kiosk", "expires_at": "2026-07-01T08:00:00Z"},
        headers=auth(net.admin_key),
    )
    assert created.status_code == 201, created.text
    assert created.json()["expires_at"] == "2026-07-01T08:00:00Z"
    key = created.json()["key"]
    assert await _till_works(http, key) == 200
    clock.moment = DAY_START + timedelta(hours=2)
    problem = assert_problem(await http.get("/v1/members/7000-0001", headers=auth(key)), 401, "key-expired")
    assert "expired" in problem["detail"] and "2026-07-01 08:00" in problem["detail"]

    # set later: an expiry moved forward lets the key in again; removed, it never expires
    path = f"/v1/admin/terminals/{created.json()['id']}/key/expiry"
    moved = await http.put(path, json={"expires_at": "2026-07-02T00:00:00Z"}, headers=auth(net.admin_key))
    assert moved.status_code == 200, moved.text
    assert await _till_works(http, key) == 200
    assert (await http.put(path, json={"expires_at": None}, headers=auth(net.admin_key))).json()["expires_at"] is None
    clock.moment = DAY_START + timedelta(days=400)
    assert await _till_works(http, key) == 200


async def test_an_admin_key_expires_set_at_creation_or_later(keyed):
    _services, clock, net, http = keyed
    program = {"tiers": [{"from_lifetime_spend": "0", "accrual_bp": 300, "redeem_cap_bp": 1500}]}
    body = {
        "code": "corner",
        "name": "Corner",
        "currency": "RUB",
        "program": program,
        "admin_key_expires_at": "2026-07-01T07:00:00Z",
    }
    created = await http.post("/v1/admin/networks", json=body, headers=auth("operator-secret"))
    assert created.status_code == 201, created.text
    assert created.json()["admin_key_expires_at"] == "2026-07-01T07:00:00Z"
    corner_key = created.json()["admin_key"]
    assert await _admin_works(http, corner_key) == 200

    path = f"/v1/admin/networks/{net.ref.code}/admin-key/expiry"
    set_later = await http.put(path, json={"expires_at": "2026-07-01T06:30:00Z"}, headers=auth(net.admin_key))
    assert set_later.status_code == 200, set_later.text
    assert set_later.json() == {"network": net.ref.code, "expires_at": "2026-07-01T06:30:00Z"}
    clock.moment = DAY_START + timedelta(minutes=30)
    problem = assert_problem(await http.get("/v1/admin/network", headers=auth(net.admin_key)), 401, "key-expired")
    assert "expired" in problem["detail"]
    assert await _admin_works(http, corner_key) == 200
    clock.moment = DAY_START + timedelta(hours=1)
    assert await _admin_works(http, corner_key) == 401
    # an expired key cannot extend itself; the operator can
    extend = {"expires_at": "2026-08-01T00:00:00Z"}
    assert (await http.put(path, json=extend, headers=auth(net.admin_key))).status_code == 401
    assert (await http.put(path, json=extend, headers=auth("operator-secret"))).status_code == 200
    assert await _admin_works(http, net.admin_key) == 200


async def test_a_rotation_keeps_an_earlier_expiry_of_the_old_key_and_may_give_the_new_one_its_own(keyed):
    _services, _clock, net, http = keyed
    path = f"/v1/admin/networks/{net.ref.code}/admin-key"
    await http.put(f"{path}/expiry", json={"expires_at": "2026-07-01T06:10:00Z"}, headers=auth(net.admin_key))
    rotated = await http.post(
        f"{path}/rotate",
        json={"grace_seconds": HOUR, "expires_at": "2026-07-03T00:00:00Z"},
        headers=auth(net.admin_key),
    )
    assert rotated.json()["previous_key_valid_until"] == "2026-07-01T06:10:00Z"  # never later than it would expire
    assert rotated.json()["expires_at"] == "2026-07-03T00:00:00Z"


@pytest.mark.parametrize(
    "grace",
    [-1, 30 * 24 * HOUR + 1, 10**30, 1.5, "3600", True, None],
)
async def test_a_bad_grace_is_a_422_naming_the_field(keyed, grace):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    for path in (
        f"/v1/admin/networks/{net.ref.code}/admin-key/rotate",
        f"/v1/admin/terminals/{terminal_id}/key/rotate",
    ):
        answer = await http.post(path, json={"grace_seconds": grace}, headers=auth(net.admin_key))
        assert_problem(answer, 422, "invalid-input", "grace_seconds")
    assert [await _admin_works(http, net.admin_key), await _till_works(http, net.shop_key)] == [200, 200]


@pytest.mark.parametrize(
    "expires_at",
    ["2026-06-30T00:00:00Z", "2026-07-01T06:00:00Z", "2026-07-02T00:00:00", "9999-12-31T00:00:00Z", "tomorrow", 5],
)
async def test_a_bad_expiry_is_a_422_naming_the_field(keyed, expires_at):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    body = {"expires_at": expires_at}
    for method, path, extra in (
        ("PUT", f"/v1/admin/terminals/{terminal_id}/key/expiry", {}),
        ("PUT", f"/v1/admin/networks/{net.ref.code}/admin-key/expiry", {}),
        ("POST", f"/v1/admin/terminals/{terminal_id}/key/rotate", {"grace_seconds": 0}),
    ):
        answer = await http.request(method, path, json=body | extra, headers=auth(net.admin_key))
        assert_problem(answer, 422, "invalid-input", "expires_at")
    assert [await _admin_works(http, net.admin_key), await _till_works(http, net.shop_key)] == [200, 200]


async def test_a_revoked_terminal_has_no_key_to_rotate(keyed):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    await http.delete(f"/v1/admin/terminals/{terminal_id}", headers=auth(net.admin_key))
    answer = await http.post(
        f"/v1/admin/terminals/{terminal_id}/key/rotate", json={"grace_seconds": 0}, headers=auth(net.admin_key)
    )
    assert_problem(answer, 409, "conflict", "terminal_id")
    assert await _till_works(http, net.shop_key) == 401


async def test_parallel_rotations_each_issue_a_key_and_cut_no_key_off(keyed):
    _services, _clock, net, http = keyed
    terminal_id = await _terminal_id(http, net)
    path = f"/v1/admin/terminals/{terminal_id}/key/rotate"
    answers = await asyncio.gather(
        *(http.post(path, json={"grace_seconds": HOUR}, headers=auth(net.admin_key)) for _ in range(5))
    )
    assert [answer.status_code for answer in answers] == [200] * 5, [answer.text for answer in answers]
    keys = [answer.json()["key"] for answer in answers]
    assert len(set(keys)) == 5
    assert [await _till_works(http, key) for key in (net.shop_key, *keys)] == [200] * 6
    # one admin key rotating itself several times at once: the first wins, the others find it replaced
    admin_answers = await asyncio.gather(*(_rotate_admin(http, net, net.admin_key, grace_seconds=HOUR) for _ in "abc"))
    assert sorted(answer.status_code for answer in admin_answers) == [200, 403, 403]
    [winner] = [answer.json()["admin_key"] for answer in admin_answers if answer.status_code == 200]
    assert [await _admin_works(http, key) for key in (net.admin_key, winner)] == [200, 200]


async def test_a_non_ascii_or_control_character_bearer_is_a_401_not_a_500(keyed):
    _services, _clock, net, http = keyed
    rotate = f"/v1/admin/networks/{net.ref.code}/admin-key/rotate"
    for key in ("opérateur".encode(), b"operator-secret\xff"):
        headers = {"Authorization": b"Bearer " + key}
        answer = await http.post(rotate, json={"grace_seconds": 0}, headers=headers)
        assert_problem(answer, 401, "unauthorized")
        program = {"tiers": [{"from_lifetime_spend": "0", "accrual_bp": 300, "redeem_cap_bp": 1500}]}
        body = {"code": "corner", "name": "Corner", "currency": "RUB", "program": program}
        assert_problem(await http.post("/v1/admin/networks", json=body, headers=headers), 401, "unauthorized")
    assert await _admin_works(http, net.admin_key) == 200


async def test_a_network_code_with_a_nul_byte_is_a_422_naming_it_and_never_reaches_the_database(keyed):
    _services, _clock, net, http = keyed
    for code in ("sh%00op", "sh%01op", "x" * 64):
        answer = await _rotate_admin(
            http, Network(net.ref.__class__(0, code, "", ""), "", "", ""), "operator-secret", grace_seconds=0
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "network"
    assert await _admin_works(http, net.admin_key) == 200
