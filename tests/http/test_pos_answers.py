"""Every POS answer but the purchase's, whole: the typed results serialised by the response models give exactly the
JSON the API gave before them (amounts as "12.50", shares as "10 %", moments in ISO 8601 with their offset), and a
replay gives the stored answer, byte for byte the same."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from coalition.adapters.http.pos_answers import answer_json, stored_result
from coalition.application.pos_results import Enrolment, Refunded
from coalition.application.purchases.results import PurchaseResult
from tests.http.water_park import buy, water_park
from tests.support import auth, client, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "welcome", "trigger": "enrolment", "effects": [{"accrue_fixed": {"points": 100}}]},
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "10"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}},
            ],
        },
        {
            "code": "ticket-gives-photo",
            "scope": {"partners": ["Tickets"]},
            "condition": "basket.total_minor >= 150000",
            "effects": [{"grant_gift": {"gift_type": "free-photo", "valid_days": 1}}],
        },
        {
            "code": "entry-bonus",
            "trigger": "visit_start",
            "scope": {"partners": ["Tickets"]},
            "effects": [{"accrue_fixed": {"points": 30}}],
        },
        {
            "code": "exit-reset",
            "trigger": "visit_end",
            "scope": {"partners": ["Tickets"]},
            "effects": [{"reset_balances": {"points": True, "gifts": True}}],
        },
        {
            "code": "arcade-play",
            "trigger": "device_use",
            "scope": {"partners": ["Arcade"]},
            "effects": [
                {"accrue_fixed": {"points": 5, "expiry": {"kind": "end_of_visit"}}},
                {"issue_coupon": {"campaign": "coffee", "valid_days": 1}},
            ],
        },
        {
            "code": "sorry",
            "trigger": "refund",
            "effects": [
                {"accrue_fixed": {"points": 20}},
                {"issue_coupon": {"campaign": "comeback", "valid_days": 7, "uses": 1}},
            ],
        },
    ]
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _plain(value: Any, key: str = "") -> Any:
    """The answer with its random parts (record ids, coupon codes) replaced by placeholders."""
    if isinstance(value, dict):
        return {name: _plain(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, key) for item in value]
    if key == "code" and isinstance(value, str):
        return "<code>"
    if isinstance(value, str):
        return UUID.sub("<id>", value)
    return value


async def _park(services, http):
    admin_key, keys, _ = await water_park(services)
    gift_type = {
        "code": "free-photo",
        "name": "A free photo",
        "price": "300.00",
        "valid_days": 7,
        "partners": ["Photo"],
    }
    assert (await http.post("/v1/admin/gift-types", json=gift_type, headers=auth(admin_key))).status_code == 201
    net = await services.admin.network("park")
    assert (await services.rules.save_draft(net, RULES))["errors"] == 0
    await services.rules.publish(net, None)
    return admin_key, keys


async def _write(http, path: str, key: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
    """A write and its replay under the same key: the same answer, marked as replayed."""
    headers = auth(key, new_key())
    first = await http.post(path, json=body, headers=headers)
    assert first.status_code == status, first.text
    again = await http.post(path, json=body, headers=headers)
    assert (again.status_code, again.content) == (status, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    return first.json()


async def test_every_answer_but_the_purchase_keeps_its_json(park):
    services, clock = park
    async with client(services) as http:
        admin_key, keys = await _park(services, http)
        tickets, photo, arcade = keys["Tickets"], keys["Photo"], keys["Arcade"]
        profile = {
            "name": "Anna",
            "phone": "+7 912 555-01-01",
            "email": "anna@example.org",
            "birth_date": "1990-04-01",
            "consent_data_processing": True,
        }
        enrolled = await _write(
            http,
            "/v1/members",
            tickets,
            {"kind": "personal", "card_number": "7000-0001", "profile": profile, "segments": ["vip"]},
        )
        assert _plain(enrolled) == ENROLLED
        anonymous = await _write(http, "/v1/members", tickets, {"kind": "anonymous", "card_number": "7000-0002"})
        assert _plain(anonymous) == ANONYMOUS
        bought = await buy(http, tickets, "7000-0001", "2000.00")  # 200 points and a free photo
        second = await buy(http, tickets, "7000-0001", "1600.00", redeem=100)  # another free photo
        summary = await http.get("/v1/members/7000-0001", headers=auth(tickets))
        assert summary.status_code == 200, summary.text
        assert _plain(summary.json()) == SUMMARY

        clock.moment += timedelta(minutes=10)  # the visit resets only the gifts granted since it started
        visit = await _write(http, "/v1/visits", tickets, {"customer": "7000-0001"})
        assert _plain(visit) == VISIT_STARTED
        clock.moment += timedelta(minutes=30)
        used = await _write(http, "/v1/device-uses", arcade, {"customer": "7000-0001"})
        assert _plain(used) == DEVICE_USED
        shown = await http.get(f"/v1/visits/{visit['id']}", headers=auth(tickets))
        assert _plain(shown.json()) == VISIT_SHOWN
        await buy(http, tickets, "7000-0001", "1500.00")  # a photo the visit's end takes back
        honoured = await _write(http, f"/v1/gifts/{bought['gifts_granted'][0]['id']}/honour", photo, status=200)
        assert _plain(honoured) == GIFT_HONOURED
        clock.moment += timedelta(minutes=30)
        ended = await _write(http, f"/v1/visits/{visit['id']}/end", tickets, status=200)
        assert _plain(ended) == VISIT_ENDED

        refunded = await _write(  # in full: takes back the photo it granted
            http, f"/v1/purchases/{second['id']}/refunds", tickets, {"amount": "1600.00"}
        )
        assert _plain(refunded) == REFUNDED
        partial = await _write(http, f"/v1/purchases/{bought['id']}/refunds", tickets, {"amount": "500.00"})
        assert _plain(partial) == REFUNDED_IN_PART
        # the terminal's pages read a stored answer back as its typed result: the same answer again
        for answer, kind in ((refunded, Refunded), (partial, Refunded), (enrolled, Enrolment), (anonymous, Enrolment)):
            typed = stored_result(kind, answer)
            assert typed is not None and answer_json(typed) == answer
        assert stored_result(Refunded, enrolled) is None and stored_result(Enrolment, refunded) is None
        for purchase in (bought, second):  # the receipt page reads a purchase's the same way, gifts and all
            paid = stored_result(PurchaseResult, purchase)
            assert paid is not None and paid.json() == purchase and paid.gifts_granted
        assert stored_result(PurchaseResult, refunded) is None and stored_result(Refunded, bought) is None

        issued = await _write(http, "/v1/cards", tickets, {"number": "7000-0003", "member": "7000-0001"})
        assert _plain(issued) == CARD_ISSUED
        new_card = await _write(http, "/v1/cards", tickets, {"number": "7000-0004", "card_type": "social"})
        assert _plain(new_card) == ANONYMOUS_CARD_ISSUED
        blocked = await _write(http, "/v1/cards/7000-0003/block", tickets, status=200)
        assert _plain(blocked) == CARD_BLOCKED
        replaced = await _write(http, "/v1/cards/7000-0004/replace", tickets, {"new_number": "7000-0005"}, 200)
        assert _plain(replaced) == CARD_REPLACED

        statement = await http.get("/v1/admin/members/7000-0001/statement", headers=auth(admin_key))
        assert statement.status_code == 200, statement.text
        assert _plain(statement.json()) == STATEMENT


TYPED = {  # every POS answer but the quote's, the purchase's and the batch's (issue 13's other slice)
    ("get", "/v1/members/{identifier}"): "MemberSummaryAnswer",
    ("post", "/v1/members"): "EnrolmentAnswer",
    ("post", "/v1/purchases/{purchase_id}/refunds"): "RefundAnswer",
    ("post", "/v1/cards"): "CardIssuedAnswer",
    ("post", "/v1/cards/{number}/replace"): "CardChangedAnswer",
    ("post", "/v1/cards/{number}/{action}"): "CardChangedAnswer",
    ("post", "/v1/gifts/{gift_id}/honour"): "GiftHonouredAnswer",
    ("post", "/v1/visits"): "VisitStartedAnswer",
    ("post", "/v1/visits/{visit_id}/end"): "VisitEndedAnswer",
    ("get", "/v1/visits/{visit_id}"): "VisitAnswer",
    ("post", "/v1/device-uses"): "DeviceUseAnswer",
    ("get", "/v1/admin/members/{identifier}/statement"): "StatementAnswer",
}


async def test_the_openapi_document_describes_each_answer(services):
    async with client(services) as http:
        document = (await http.get("/openapi.json")).json()
    for (method, path), model in TYPED.items():
        responses = document["paths"][path][method]["responses"]
        [success] = [code for code in responses if code.startswith("2")]
        schema = responses[success]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, (method, path)
    schemas = document["components"]["schemas"]
    assert schemas["TierAnswer"]["properties"]["accrual"]["examples"] == ["15 %"]
    assert schemas["StatementLineAnswer"]["properties"]["occurred_at"] == {
        "type": "string",
        "format": "date-time",
        "title": "Occurred At",
    }
    assert {"points_earned", "points_spent", "points"} <= set(schemas["StatementLineAnswer"]["required"])


# --- the answers, as the API gave them before the typed results (ids and coupon codes as placeholders) ---

ENROLLED = {
    "member": {
        "id": 1,
        "kind": "personal",
        "tier": "",
        "segments": ["vip"],
        "name": "Anna",
        "phone": "+79125550101",
        "email": "anna@example.org",
        "birth_date": "1990-04-01",
        "consent_data_processing": True,
        "consent_newsletters": False,
    },
    "card": {"number": "70000001", "state": "active", "type": "standard"},
    "identifiers": [{"kind": "card", "value": "70000001"}, {"kind": "phone", "value": "+79125550101"}],
    "points_balance": 100,
    "bonus": {"points": 100, "rules": ["welcome"]},
}
ANONYMOUS = {
    "member": {
        "id": 2,
        "kind": "anonymous",
        "tier": "",
        "segments": [],
        "name": None,
        "phone": None,
        "email": None,
        "birth_date": None,
        "consent_data_processing": False,
        "consent_newsletters": False,
    },
    "card": {"number": "70000002", "state": "active", "type": "standard"},
    "identifiers": [{"kind": "card", "value": "70000002"}],
    "points_balance": 100,
    "bonus": {"points": 100, "rules": ["welcome"]},
}
SUMMARY = {
    "member": {"id": 1, "kind": "personal", "name": "Anna", "tier": "", "segments": ["vip"]},
    "card": {"number": "70000001", "state": "active"},
    "cards": [{"number": "70000001", "state": "active"}],
    "points_balance": 350,
    "lifetime_spend": "3600.00",
    "currency": "RUB",
    "tier": {  # the terms of the published rule set (no program threshold under it)
        "from_lifetime_spend": None,
        "accrual": "10 %",
        "fixed_points_per_check": 0,
        "redeem_cap": "50 %",
        "min_check_for_redeem": "0.00",
    },
    "terms": {
        "rule_set_version": 1,
        "accrual_bp": 1000,
        "fixed_points_per_check": 0,
        "redeem_cap_bp": 5000,
        "min_check_for_redeem": "0.00",
        "discount_bp": 0,
        "accrual_rules": [{"code": "<code>", "name": ""}],
        "redemption_rule": {"code": "<code>", "name": ""},
        "discount_rules": [],
    },
    "balances": [{"asset": "points:park", "balance": 350}],
    "next_expiry": None,
    "gifts": [
        {
            "id": "<id>",
            "gift_type": "free-photo",
            "name": "A free photo",
            "outlets": [],
            "valid_until": "2026-07-02T06:00:00+00:00",
        },
        {
            "id": "<id>",
            "gift_type": "free-photo",
            "name": "A free photo",
            "outlets": [],
            "valid_until": "2026-07-02T06:00:00+00:00",
        },
    ],
}
VISIT_STARTED = {
    "id": "<id>",
    "state": "open",
    "entry_outlet": "Tickets desk",
    "started_at": "2026-07-01T06:10:00+00:00",
    "exit_outlet": None,
    "ended_at": None,
    "member": 1,
    "points_balance": 380,
    "bonus": {"points": 30, "rules": ["entry-bonus"]},
}
DEVICE_USED = {
    "member": 1,
    "device": "Arcade desk",
    "visit": "<id>",
    "points_balance": 385,
    "applied_rules": ["arcade-play"],
    "bonus": {"points": 5, "rules": ["arcade-play"]},
    "coupons_issued": [{"code": "<code>", "campaign": "coffee", "valid_until": "2026-07-02T06:40:00+00:00", "uses": 1}],
}
VISIT_SHOWN = {
    "id": "<id>",
    "state": "open",
    "entry_outlet": "Tickets desk",
    "started_at": "2026-07-01T06:10:00+00:00",
    "exit_outlet": None,
    "ended_at": None,
    "member": 1,
}
GIFT_HONOURED = {
    "id": "<id>",
    "gift_type": "free-photo",
    "name": "A free photo",
    "outlets": [],
    "valid_until": "2026-07-02T06:00:00+00:00",
    "state": "honoured",
    "honoured_at": "2026-07-01T06:40:00+00:00",
    "outlet": "Photo desk",
    "price": "300.00",
}
VISIT_ENDED = {
    "id": "<id>",
    "state": "ended",
    "entry_outlet": "Tickets desk",
    "started_at": "2026-07-01T06:10:00+00:00",
    "exit_outlet": "Tickets desk",
    "ended_at": "2026-07-01T07:10:00+00:00",
    "member": 1,
    "points_balance": 350,
    "points_expired": 5,
    "reset": {"points": 180, "gifts": ["<id>"], "rules": ["exit-reset"]},
}
REFUNDED = {
    "id": "<id>",
    "purchase_id": "<id>",
    "amount": "1600.00",
    "money_back": "1500.00",
    "currency": "RUB",
    "points_clawed_back": 150,
    "points_returned": 100,
    "points_balance": 320,
    "refundable_left": "0.00",
    "gifts_revoked": ["<id>"],
    "bonus": {"points": 20, "rules": ["sorry"]},
    "coupons_issued": [
        {"code": "<code>", "campaign": "comeback", "valid_until": "2026-07-08T07:10:00+00:00", "uses": 1}
    ],
}
REFUNDED_IN_PART = {
    "id": "<id>",
    "purchase_id": "<id>",
    "amount": "500.00",
    "money_back": "500.00",
    "currency": "RUB",
    "points_clawed_back": 50,
    "points_returned": 0,
    "points_balance": 290,
    "refundable_left": "1500.00",
    "gifts_revoked": [],
    "bonus": {"points": 20, "rules": ["sorry"]},
    "coupons_issued": [
        {"code": "<code>", "campaign": "comeback", "valid_until": "2026-07-08T07:10:00+00:00", "uses": 1}
    ],
}
CARD_ISSUED = {"number": "70000003", "state": "active", "type": "standard", "member_id": 1}
ANONYMOUS_CARD_ISSUED = {"number": "70000004", "state": "active", "type": "social", "member_id": 3}
CARD_BLOCKED = {"number": "70000003", "state": "blocked", "member_id": 1}
CARD_REPLACED = {
    "number": "70000004",
    "state": "replaced",
    "member_id": 3,
    "replaced_by": {"number": "70000005", "state": "active"},
}
STATEMENT = {
    "member_id": 1,
    "points_balance": 290,
    "transactions": [
        {
            "tx_id": 1,
            "kind": "bonus",
            "occurred_at": "2026-07-01T06:00:00+00:00",
            "recorded_at": "2026-07-01T06:00:00+00:00",
            "outlet": "Tickets desk",
            "points": 100,
            "points_earned": 100,
            "points_spent": 0,
            "balance_after": 100,
            "memo": "enrolment: welcome",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 3,
            "kind": "purchase",
            "occurred_at": "2026-07-01T06:00:00+00:00",
            "recorded_at": "2026-07-01T06:00:00+00:00",
            "outlet": "Tickets desk",
            "points": 200,
            "points_earned": 200,
            "points_spent": 0,
            "balance_after": 300,
            "memo": "",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 5,
            "kind": "purchase",
            "occurred_at": "2026-07-01T06:00:00+00:00",
            "recorded_at": "2026-07-01T06:00:00+00:00",
            "outlet": "Tickets desk",
            "points": 50,
            "points_earned": 150,
            "points_spent": 100,
            "balance_after": 350,
            "memo": "",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 7,
            "kind": "bonus",
            "occurred_at": "2026-07-01T06:10:00+00:00",
            "recorded_at": "2026-07-01T06:10:00+00:00",
            "outlet": "Tickets desk",
            "points": 30,
            "points_earned": 30,
            "points_spent": 0,
            "balance_after": 380,
            "memo": "visit_start: entry-bonus",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 8,
            "kind": "bonus",
            "occurred_at": "2026-07-01T06:40:00+00:00",
            "recorded_at": "2026-07-01T06:40:00+00:00",
            "outlet": "Arcade desk",
            "points": 5,
            "points_earned": 5,
            "points_spent": 0,
            "balance_after": 385,
            "memo": "device_use: arcade-play",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 9,
            "kind": "purchase",
            "occurred_at": "2026-07-01T06:40:00+00:00",
            "recorded_at": "2026-07-01T06:40:00+00:00",
            "outlet": "Tickets desk",
            "points": 150,
            "points_earned": 150,
            "points_spent": 0,
            "balance_after": 535,
            "memo": "",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 12,
            "kind": "expiry",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": -5,
            "points_earned": 0,
            "points_spent": 5,
            "balance_after": 530,
            "memo": "visit <id> ended: its points expired (points expired)",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 13,
            "kind": "expiry",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": -180,
            "points_earned": 0,
            "points_spent": 180,
            "balance_after": 350,
            "memo": "visit <id> ended: unused points reset (points expired)",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 14,
            "kind": "refund",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": -50,
            "points_earned": 100,
            "points_spent": 150,
            "balance_after": 300,
            "memo": "refund of <id>",
            "reverses_tx_id": 5,
        },
        {
            "tx_id": 16,
            "kind": "bonus",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": 20,
            "points_earned": 20,
            "points_spent": 0,
            "balance_after": 320,
            "memo": "refund: sorry",
            "reverses_tx_id": None,
        },
        {
            "tx_id": 17,
            "kind": "refund",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": -50,
            "points_earned": 0,
            "points_spent": 50,
            "balance_after": 270,
            "memo": "refund of <id>",
            "reverses_tx_id": 3,
        },
        {
            "tx_id": 18,
            "kind": "bonus",
            "occurred_at": "2026-07-01T07:10:00+00:00",
            "recorded_at": "2026-07-01T07:10:00+00:00",
            "outlet": "Tickets desk",
            "points": 20,
            "points_earned": 20,
            "points_spent": 0,
            "balance_after": 290,
            "memo": "refund: sorry",
            "reverses_tx_id": None,
        },
    ],
    "next_cursor": None,  # one page: the statement's transactions all fit (issue 17, point 5)
}
