"""POST /v1/purchases has two ways through the server (adapters/http/usual_purchase.py): a request of the usual
shape goes straight to the service, any other through FastAPI's checked route. A client cannot tell which."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fastapi.routing
import pytest

from coalition.adapters.http.usual_purchase import PurchaseRoute
from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

CARD = "6000-0009"
USUAL = "application/json"
CHECKED = "application/json; charset=utf-8"  # a parameter: the checked way


def _count_resolutions(monkeypatch) -> list[int]:
    """How often FastAPI resolves a route's dependencies and body (once per request the checked way)."""
    calls: list[int] = []
    resolve = fastapi.routing.solve_dependencies

    async def counted(*args, **kwargs):
        calls.append(1)
        return await resolve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    return calls


def _count_routed(monkeypatch) -> list[int]:
    """How often the router hands a request to the purchase route (the lane takes the usual one before it)."""
    calls: list[int] = []
    handle = PurchaseRoute.handle

    async def counted(self, scope, receive, send):
        calls.append(1)
        return await handle(self, scope, receive, send)

    monkeypatch.setattr(PurchaseRoute, "handle", counted)
    return calls


async def test_the_usual_and_the_checked_way_answer_alike_and_share_the_fingerprint(services, monkeypatch):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        resolutions, routed = _count_resolutions(monkeypatch), _count_routed(monkeypatch)
        answers = {}
        for way, content_type in (("usual", USUAL), ("checked", CHECKED)):
            body = f'{{"customer": "{CARD}", "amount": "5000.00", "receipt": "R-{way}"}}'.encode()
            headers = {**auth(net.shop_key, new_key()), "Content-Type": content_type}
            before, routed_before = len(resolutions), len(routed)
            answers[way] = await http.post("/v1/purchases", content=body, headers=headers)
            assert answers[way].status_code == 201, answers[way].text
            assert len(resolutions) - before == (0 if way == "usual" else 1)
            assert len(routed) - routed_before == (0 if way == "usual" else 1)  # the usual one: not routed
            # the retry goes the other way, and replays: both ways fingerprint the request alike
            other = CHECKED if content_type == USUAL else USUAL
            retry = await http.post("/v1/purchases", content=body, headers={**headers, "Content-Type": other})
            assert retry.status_code == 201, retry.text
            assert retry.headers["Idempotent-Replayed"] == "true"
            assert retry.json() == answers[way].json()
        usual, checked = answers["usual"].json(), answers["checked"].json()
        assert usual.keys() == checked.keys()
        assert usual["points_earned"] == checked["points_earned"] == 150
        assert checked["points_balance"] - usual["points_balance"] == 150
        assert answers["usual"].headers["content-type"] == answers["checked"].headers["content-type"]
        # the same headers (security headers, length, type), whichever way
        assert answers["usual"].headers.keys() == answers["checked"].headers.keys()
        assert answers["usual"].headers["x-frame-options"] == answers["checked"].headers["x-frame-options"]


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        ((b'{"customer": "6000-0009", ', b'"amount": "10.00", "receipt": "R-1"}'), 201),
        ((b'{"customer": "6000-0009", ', b'"amount": "10.001", "receipt": "R-1"}'), 422),
    ],
    ids=["usual", "refused"],
)
async def test_a_body_in_several_parts_is_read_whole_either_way(services, parts, status):
    """The lane reads the body before it judges it; one it leaves to the checked way is given to it again whole."""
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        headers = {**auth(net.shop_key, new_key()), "Content-Type": USUAL}
        answer = await http.post("/v1/purchases", content=_chunks(*parts), headers=headers)
        assert answer.status_code == status, answer.text
        if status == 422:
            assert_problem(answer, 422, "invalid-input", "amount")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"customer": "6000-0009", "amount": "12.345", "receipt": "R-1"}', "amount"),
        (b'{"customer": "6000-0009", "amount": "1.00", "receipt": "R-\\u0001"}', "receipt"),
        (b'{"customer": "6000-0009", "amount": "1.00"}', "receipt"),
        (b'["6000-0009"]', "body"),
        (b'{"customer": ', "body"),
        # JSON the standard library takes and orjson (the usual way's parser) does not: judged the checked way
        (b'{"customer": "6000-0009", "amount": "1.00", "receipt": "R-1", "redeem_points": NaN}', "redeem_points"),
        (
            b'{"customer": "6000-0009", "amount": "1.00", "receipt": "R-1", "redeem_points": 1' + b"0" * 25 + b"}",
            "redeem_points",
        ),
    ],
    ids=["amount", "control-character", "missing", "not-an-object", "not-json", "nan", "huge-integer"],
)
async def test_a_request_the_usual_way_cannot_judge_is_refused_as_the_checked_way_refuses_it(services, body, field):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        refusals = []
        for content_type in (USUAL, CHECKED):
            headers = {**auth(net.shop_key, new_key()), "Content-Type": content_type}
            refused = await http.post("/v1/purchases", content=body, headers=headers)
            refusals.append(refused.json())
            problem = assert_problem(refused, 422, "invalid-input")
            assert problem.get("field", "body").startswith(field), problem
        assert refusals[0] == refusals[1]


async def test_a_missing_key_is_refused_before_the_body_either_way(services):
    net = await make_network(services)
    async with client(services) as http:
        for content_type in (USUAL, CHECKED):
            refused = await http.post(
                "/v1/purchases",
                content=b'{"customer": "nobody", "amount": "1.00", "receipt": "R-1"}',
                headers={**auth(net.shop_key), "Content-Type": content_type},
            )
            assert_problem(refused, 422, "invalid-input", "Idempotency-Key")
