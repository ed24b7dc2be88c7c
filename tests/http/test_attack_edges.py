"""Issue 13, second wave: attacks from outside on the merged pipeline (a dishonest till, a careless administrator, an
outsider). Each test here was a hole: it failed before its fix. Bad input is a 4xx problem+json naming the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from coalition.application.admin import NetworkRef
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.wiring import build_services
from tests.support import (
    SettableClock,
    assert_problem,
    auth,
    balance_of,
    buy,
    client,
    enrol,
    ledger_balance,
    make_network,
    new_key,
)

pytestmark = pytest.mark.anyio

MOSCOW = ZoneInfo("Europe/Moscow")
HALF_OFF = {"rules": [{"code": "half-off", "effects": [{"discount": {"percent": "50"}}]}]}
# a moment past the last day Python can convert to UTC, and one before the first
AFTER_THE_CALENDAR = "9999-12-31T23:59:59-14:00"
BEFORE_THE_CALENDAR = "0001-01-01T00:00:00+14:00"


def _windowed(window: dict[str, str]) -> dict[str, object]:
    return {"rules": [{"code": "edge", "window": window, "effects": [{"discount": {"percent": "1"}}]}]}


async def test_a_rule_window_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """The conflict check shifted such a window's bounds by days and hours (an OverflowError: a 500)."""
    net = await make_network(services)
    async with client(services) as http:
        for window, field in (
            ({"starts_at": AFTER_THE_CALENDAR}, "rules[0].window.starts_at"),
            ({"ends_at": BEFORE_THE_CALENDAR}, "rules[0].window.ends_at"),
            ({"starts_at": "9999-12-31T00:00:00Z"}, "rules[0].window.starts_at"),
        ):
            refused = await http.put("/v1/admin/rule-sets/draft", json=_windowed(window), headers=auth(net.admin_key))
            assert "between" in assert_problem(refused, 422, "invalid-input", field)["detail"]
        usual = await http.put(
            "/v1/admin/rule-sets/draft",
            json=_windowed({"starts_at": "2026-12-01T00:00:00+03:00", "ends_at": "2100-01-01T00:00:00Z"}),
            headers=auth(net.admin_key),
        )
        assert usual.status_code == 200, usual.text


async def test_a_publication_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """PostgreSQL's driver could not store the moment (a 500); SQLite stored it as another moment."""
    net = await make_network(services)
    async with client(services) as http:
        saved = await http.put("/v1/admin/rule-sets/draft", json=HALF_OFF, headers=auth(net.admin_key))
        assert saved.status_code == 200, saved.text
        for moment in (AFTER_THE_CALENDAR, "9999-12-31T23:59:59Z"):
            refused = await http.post(
                "/v1/admin/rule-sets/draft/publish", json={"effective_from": moment}, headers=auth(net.admin_key)
            )
            assert "between" in assert_problem(refused, 422, "invalid-input", "effective_from")["detail"]
        history = await http.get("/v1/admin/rule-sets", headers=auth(net.admin_key))
        assert [v["status"] for v in history.json()["versions"]] == ["draft"]
        # a moment long past is now, as before
        long_past = {"effective_from": BEFORE_THE_CALENDAR}
        published = await http.post("/v1/admin/rule-sets/draft/publish", json=long_past, headers=auth(net.admin_key))
        assert published.status_code == 200, published.text


async def test_explain_at_the_calendar_s_edge_is_refused_naming_the_field(services):
    """Explain converted such an `at` to the outlet's time (an OverflowError: a 500); the window's fix covers it."""
    net = await make_network(services)
    async with client(services) as http:
        saved = await http.put("/v1/admin/rule-sets/draft", json=HALF_OFF, headers=auth(net.admin_key))
        assert saved.status_code == 200, saved.text
        for moment in (BEFORE_THE_CALENDAR, AFTER_THE_CALENDAR):
            asked = {"at": moment, "amount": "10.00", "outlet": "Shop till"}
            refused = await http.post("/v1/admin/rule-sets/explain", json=asked, headers=auth(net.admin_key))
            assert_problem(refused, 422, "invalid-input", "at")


EXPIRING = {
    "rules": [
        {"code": "month-bonus", "effects": [{"accrue_fixed": {"points": 50, "expiry": {"kind": "end_of_month"}}}]},
        {"code": "day-bonus", "effects": [{"accrue_fixed": {"points": 7, "expiry": {"days": 1}}}]},
    ]
}


async def test_an_offline_sale_whose_points_expired_before_the_upload_answers_the_balance_the_member_has(settings):
    """A sale of 28 February (Moscow, 20:00) uploaded on 2 March earns 57 points that expired at the end of February
    and on 1 March: its answer said the balance was 57 while the member summary said 0 and a redemption of them was
    refused. The answer shows what the member has (0), single and in a batch; the points are earned and expire."""
    clock = SettableClock(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        saved = await services.rules.save_draft(net.ref, EXPIRING)
        assert saved["errors"] == 0, saved
        await services.rules.publish(net.ref, None)
        clock.moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        sold_at = datetime(2026, 2, 28, 20, 0, tzinfo=MOSCOW).isoformat()
        async with client(services) as http:
            await enrol(http, net.shop_key, "7001")
            sale = {"customer": "7001", "amount": "10.00", "receipt": new_key(), "occurred_at": sold_at}
            single = await http.post("/v1/purchases", json=sale, headers=auth(net.shop_key, new_key()))
            assert single.status_code == 201, single.text
            batch = await http.post(
                "/v1/purchases/batch",
                json={"purchases": [sale | {"receipt": new_key(), "idempotency_key": new_key()}]},
                headers=auth(net.shop_key),
            )
            assert batch.status_code == 200, batch.text
            for answer in (single.json(), batch.json()["results"][0]["body"]):
                assert (answer["points_earned"], answer["points_balance"]) == (57, 0), answer
                assert [lot["points"] for lot in answer["points_expiring"]] == [50, 7]
            assert await balance_of(http, net.shop_key, "7001") == 0
    finally:
        await services.close()


async def test_a_schema_annotation_that_is_not_a_text_is_refused_as_the_published_schema_refuses_it(services):
    """The published schema says `$schema` is a text (or null); the parser took any value, so a document an editor
    marks wrong was saved. Both now agree."""
    net = await make_network(services)
    async with client(services) as http:
        for value in (5, ["https://coalition.dev/schemas/rule-set.json"], {"$ref": "x"}):
            document = {"$schema": value, "rules": []}
            refused = await http.put("/v1/admin/rule-sets/draft", json=document, headers=auth(net.admin_key))
            assert_problem(refused, 422, "invalid-input", "$schema")
        for value in ("https://coalition.dev/schemas/rule-set.json", None):
            document = {"$schema": value, "rules": []}
            saved = await http.put("/v1/admin/rule-sets/draft", json=document, headers=auth(net.admin_key))
            assert saved.status_code == 200, saved.text


PARTNERS = 70  # more than a transaction's 64 postings hold, with one release posting per granting partner


async def test_points_of_many_partners_expiring_together_do_not_break_the_member_s_purchases(settings):
    """A member earns points at 70 partners' outlets that expire on the same day, in a network that returns the value
    of expired points to the partners that granted them. The sweep before their next purchase wrote one expiry
    transaction with a release posting per partner, past the ledger's 64 postings: every purchase of that member
    answered 500 (ledger-invariant-violated), and a batch holding one of them failed for every till's sale in it. The
    sweep now expires them in transactions the ledger takes (61 partners' points each); the purchase and the batch go
    through."""
    clock = SettableClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        program = replace(SMALL_SHOP_PROGRAM, points_expire_days=1)
        created = await services.admin.create_network("many", "Many partners", "RUB", program)
        ref = NetworkRef(created["id"], "many", created["name"], "RUB")
        keys = []
        for number in range(PARTNERS):
            partner = await services.admin.create_partner(ref, f"Partner {number}")
            outlet = await services.admin.create_outlet(ref, partner["id"], f"Till {number}", "Europe/Moscow")
            keys.append((await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"])
        async with client(services) as http:
            policy = await http.put(
                "/v1/admin/points-breakage", json={"policy": "returned"}, headers=auth(created["admin_key"])
            )
            assert policy.status_code == 200, policy.text
            await enrol(http, keys[0], "7001")
            await enrol(http, keys[0], "7002")
            for key in keys:
                assert (await buy(http, key, "7001", "100.00")).status_code == 201  # 3 points from each partner
                assert (await buy(http, key, "7002", "100.00")).status_code == 201
            clock.moment += timedelta(days=2)
            single = await buy(http, keys[0], "7001", "100.00")
            assert single.status_code == 201, single.text
            assert single.json()["points_balance"] == 3  # the 210 expired, the 3 just earned
            batch = await http.post(
                "/v1/purchases/batch",
                json={
                    "purchases": [
                        {"customer": card, "amount": "100.00", "receipt": new_key(), "idempotency_key": new_key()}
                        for card in ("7002", "7001")
                    ]
                },
                headers=auth(keys[1]),
            )
            assert batch.status_code == 200, batch.text
            assert [item["status"] for item in batch.json()["results"]] == [201, 201]
            assert (await balance_of(http, keys[0], "7001"), await balance_of(http, keys[0], "7002")) == (6, 3)
            # the batch sweeps one transaction's worth per purchase (61 partners' points); the job sweeps the rest
            swept = await http.post("/v1/admin/jobs/expire", headers=auth(created["admin_key"]))
            assert swept.status_code == 200, swept.text
            assert swept.json()["points"]["points"] == 27
        assert (await ledger_balance(services, "7001"), await ledger_balance(services, "7002")) == (6, 3)
        assert await verify(services.engine) == []
    finally:
        await services.close()


VISIT_RULES = {
    "rules": [
        {"code": "points", "effects": [{"accrue_percent": {"percent": "3"}}]},
        {"code": "exit-reset", "trigger": "visit_end", "effects": [{"reset_balances": {"points": True}}]},
    ]
}


async def test_a_visit_that_earned_points_of_many_partners_resets_them_all_at_the_exit(settings):
    """In a closed venue of 70 partners that returns expired points' value to their grantors, a visitor earns points
    at each; the exit resets them. One reset transaction with a release posting per partner broke the ledger's
    64-posting invariant (a 500 at the exit); split at 61 partners, the first transaction alone left the rest
    usable after the visit. Every point the visit added is reset."""
    clock = SettableClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        created = await services.admin.create_network("venue", "Venue", "RUB", SMALL_SHOP_PROGRAM)
        ref = NetworkRef(created["id"], "venue", created["name"], "RUB")
        keys = []
        for number in range(PARTNERS):
            partner = await services.admin.create_partner(ref, f"Partner {number}")
            outlet = await services.admin.create_outlet(ref, partner["id"], f"Till {number}", "Europe/Moscow")
            keys.append((await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"])
        saved = await services.rules.save_draft(ref, VISIT_RULES)
        assert saved["errors"] == 0, saved
        await services.rules.publish(ref, None)
        async with client(services) as http:
            policy = await http.put(
                "/v1/admin/points-breakage", json={"policy": "returned"}, headers=auth(created["admin_key"])
            )
            assert policy.status_code == 200, policy.text
            await enrol(http, keys[0], "7001")
            started = await http.post("/v1/visits", json={"customer": "7001"}, headers=auth(keys[0], new_key()))
            assert started.status_code == 201, started.text
            for key in keys:
                assert (await buy(http, key, "7001", "100.00")).status_code == 201  # 3 points from each partner
            assert await balance_of(http, keys[0], "7001") == 3 * PARTNERS
            visit_id = started.json()["id"]
            ended = await http.post(f"/v1/visits/{visit_id}/end", headers=auth(keys[0], new_key()))
            assert ended.status_code == 200, ended.text
            assert ended.json()["points_balance"] == 0
            assert await balance_of(http, keys[0], "7001") == 0
        assert await ledger_balance(services, "7001") == 0
        assert await verify(services.engine) == []
    finally:
        await services.close()


async def test_a_rule_set_document_with_a_lone_surrogate_is_refused_naming_the_body(services):
    """JSON and YAML may escape half of a UTF-16 pair (\\ud800); such text has no UTF-8 form, and storing the draft
    failed (a UnicodeEncodeError: a 500). Refused as the body's fault, in a value or a key, JSON or YAML."""
    net = await make_network(services)
    json_type = auth(net.admin_key) | {"content-type": "application/json"}
    yaml_type = auth(net.admin_key) | {"content-type": "application/yaml"}
    async with client(services) as http:
        for body, headers in (
            (b'{"rules": [{"code": "x\\ud800", "effects": [{"discount": {"percent": "1"}}]}]}', json_type),
            (b'{"rules": [], "\\udc00": 1}', json_type),
            (b'rules:\n  - code: "x\\ud800"\n    effects: [{discount: {percent: "1"}}]\n', yaml_type),
        ):
            refused = await http.put("/v1/admin/rule-sets/draft", content=body, headers=headers)
            assert_problem(refused, 422, "invalid-input", "body")  # libyaml refuses it itself; Python's YAML did not
        asked = b'{"amount": "1.00", "outlet": "Shop till", "member": {"segments": ["\\ud800"]}}'
        refused = await http.post("/v1/admin/rule-sets/explain", content=asked, headers=json_type)
        assert_problem(refused, 422, "invalid-input", "body")


COUPON_RULES = {
    "rules": [
        {"code": "spring", "condition": '"spring" in coupon_campaigns', "effects": [{"discount": {"percent": "10"}}]}
    ]
}


async def test_an_offline_sale_takes_the_coupons_valid_at_its_own_time(settings):
    """A coupon valid on 1 March only, presented at an offline till on 1 March and uploaded on 3 March: the upload
    was refused as an expired coupon (its validity judged at the upload's clock), so the till's day could not be
    uploaded. A sale is priced at its own moment, coupons too: the sale of 1 March takes it, single and batch; a
    sale dated before the coupon's first day is refused, as at a live till."""
    clock = SettableClock(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        saved = await services.rules.save_draft(net.ref, COUPON_RULES)
        assert saved["errors"] == 0, saved
        await services.rules.publish(net.ref, None)
        async with client(services) as http:
            await enrol(http, net.shop_key, "7001")
            coupon = {
                "campaign": "spring",
                "codes": ["DAY1", "DAY1B"],
                "valid_from": datetime(2026, 3, 1, 9, 0, tzinfo=MOSCOW).isoformat(),
                "valid_until": datetime(2026, 3, 2, 0, 0, tzinfo=MOSCOW).isoformat(),
            }
            registered = await http.post("/v1/admin/coupons", json=coupon, headers=auth(net.admin_key))
            assert registered.status_code == 201, registered.text
            clock.moment = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

            def sale(code: str, hour: int) -> dict[str, object]:
                at = datetime(2026, 3, 1, hour, 0, tzinfo=MOSCOW).isoformat()
                body = {"customer": "7001", "amount": "100.00", "receipt": new_key(), "occurred_at": at}
                return body | {"coupons": [code]}

            single = await http.post("/v1/purchases", json=sale("DAY1", 12), headers=auth(net.shop_key, new_key()))
            assert single.status_code == 201, single.text
            assert single.json()["discount"] == "10.00"
            item = sale("DAY1B", 13) | {"idempotency_key": new_key()}
            batch = await http.post("/v1/purchases/batch", json={"purchases": [item]}, headers=auth(net.shop_key))
            assert batch.status_code == 200, batch.text
            assert batch.json()["results"][0]["body"]["discount"] == "10.00", batch.text
            early = await http.post("/v1/purchases", json=sale("DAY1", 8), headers=auth(net.shop_key, new_key()))
            assert "valid from" in assert_problem(early, 422, "invalid-input", "coupons[0]")["detail"]
            live = {"customer": "7001", "amount": "100.00", "receipt": new_key(), "coupons": ["DAY1"]}
            expired = await http.post("/v1/purchases", json=live, headers=auth(net.shop_key, new_key()))
            assert "expired" in assert_problem(expired, 422, "invalid-input", "coupons[0]")["detail"]
    finally:
        await services.close()


async def _obligations_minor(services, partner: str) -> int:
    """What the partner's obligations account holds: minus the value of the points it granted and still owes."""
    async with services.engine.connect() as connection:
        total = await connection.scalar(
            sa.text(
                "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
                "JOIN partners pa ON pa.id = a.owner_id WHERE a.purpose = 'obligations' "
                "AND a.owner_kind = 'partner' AND pa.name = :partner"
            ),
            {"partner": partner},
        )
        return int(total)


@pytest.mark.parametrize("path", ["single", "batch"])
async def test_a_refund_of_an_offline_sale_whose_points_expired_claws_back_nothing_of_them(settings, path):
    """A till's sale of two days ago earns points that lived one day: they are expired when uploaded, and swept to
    breakage before the refund (this network returns their value to the granting partner). A refund of that sale
    then clawed the earn back a second time from the member's other points (and gave the partner their value back
    a second time): the member lost them twice. Now it claws back only what of the sale's earn is still there."""
    clock = SettableClock(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    services = build_services(settings, clock=clock)
    try:
        program = replace(SMALL_SHOP_PROGRAM, points_expire_days=1)
        created = await services.admin.create_network("gone", "Expired offline", "RUB", program)
        ref = NetworkRef(created["id"], "gone", created["name"], "RUB")
        partner = await services.admin.create_partner(ref, "Shop")
        outlet = await services.admin.create_outlet(ref, partner["id"], "Shop till", "Europe/Moscow")
        key = (await services.admin.create_terminal(ref, outlet["id"], "POS"))["key"]
        async with client(services) as http:
            policy = await http.put(
                "/v1/admin/points-breakage", json={"policy": "returned"}, headers=auth(created["admin_key"])
            )
            assert policy.status_code == 200, policy.text
            await enrol(http, key, "7001")
            live = await buy(http, key, "7001", "1000.00")  # points of today, alive
            assert live.status_code == 201, live.text
            kept = live.json()["points_balance"]
            assert kept > 0
            owed = await _obligations_minor(services, "Shop")
            sale = {
                "customer": "7001",
                "amount": "1000.00",
                "receipt": new_key(),
                "occurred_at": datetime(2026, 3, 1, 12, 0, tzinfo=MOSCOW).isoformat(),
            }
            if path == "single":
                uploaded = await http.post("/v1/purchases", json=sale, headers=auth(key, new_key()))
                assert uploaded.status_code == 201, uploaded.text
                answer = uploaded.json()
            else:
                batch = await http.post(
                    "/v1/purchases/batch",
                    json={"purchases": [sale | {"idempotency_key": new_key()}]},
                    headers=auth(key),
                )
                assert batch.status_code == 200, batch.text
                assert batch.json()["results"][0]["status"] == 201, batch.text
                answer = batch.json()["results"][0]["body"]
            assert answer["points_earned"] > 0
            assert answer["points_balance"] == kept  # earned, and expired already

            refund = await http.post(
                f"/v1/purchases/{answer['id']}/refunds", json={"amount": "1000.00"}, headers=auth(key, new_key())
            )
            assert refund.status_code == 201, refund.text
            assert (refund.json()["points_clawed_back"], refund.json()["points_balance"]) == (0, kept)
            assert await balance_of(http, key, "7001") == kept
            # granted, released by the breakage, and not given back to the partner a second time
            assert await _obligations_minor(services, "Shop") == owed
        assert await ledger_balance(services, "7001") == kept
        assert await verify(services.engine) == []
    finally:
        await services.close()
