"""Segments, tier and card type reach the rules at the till (issue 3, point 1), on both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import assert_problem, auth, buy, client, make_network, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "social", "condition": '"social" in member.segments', "effects": [{"discount": {"percent": "5"}}]},
        {
            "code": "social-card",
            "condition": 'member.card_type == "social"',
            "effects": [{"accrue_fixed": {"points": 7}}],
        },
        {"code": "gold", "condition": 'member.tier == "gold"', "effects": [{"discount": {"percent": "10"}}]},
        {
            "code": "promote",
            "condition": 'member.tier != "gold" && member.lifetime_spend_minor + basket.total_minor >= 1000000',
            "effects": [{"set_tier": {"tier": "gold"}}],
        },
    ]
}


async def _published(services, net) -> None:
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)


async def _enrol(http: httpx.AsyncClient, key: str, card: str, **extra: Any) -> dict[str, Any]:
    body = {"kind": "personal", "card_number": card, "profile": {"name": "M", "consent_data_processing": True}} | extra
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text
    return response.json()


async def test_segments_card_type_and_tier_select_rules_at_the_till(services):
    net = await make_network(services)
    await _published(services, net)
    async with client(services) as http:
        enrolled = await _enrol(http, net.shop_key, "3300-0001", segments=[" Social ", "pensioner"], card_type="social")
        assert enrolled["member"]["segments"] == ["pensioner", "social"]
        assert enrolled["card"]["type"] == "social"
        await _enrol(http, net.shop_key, "3300-0002")

        social = (await buy(http, net.shop_key, "3300-0001", "1000.00")).json()
        assert (social["discount"], social["points_earned"], social["applied_rules"]) == (
            "50.00",
            7,
            ["social", "social-card"],
        )
        plain = (await buy(http, net.shop_key, "3300-0002", "1000.00")).json()
        assert (plain["discount"], plain["points_earned"], plain["applied_rules"]) == ("0.00", 0, [])

        # The administrator adds a segment: the next purchase sees it.
        patched = await http.patch(
            "/v1/admin/members/3300-0002", json={"segments": ["social"]}, headers=auth(net.admin_key)
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["segments"] == ["social"]
        assert (await buy(http, net.shop_key, "3300-0002", "1000.00")).json()["discount"] == "50.00"

        # A purchase that brings lifetime spend to 10,000 moves the member to gold; the next one gets gold's 10 %.
        promoted = (await buy(http, net.shop_key, "3300-0002", "8000.00")).json()
        assert promoted["tier"] == "gold" and "promote" in promoted["applied_rules"]
        member = (await http.get("/v1/members/3300-0002", headers=auth(net.shop_key))).json()["member"]
        assert (member["tier"], member["segments"]) == ("gold", ["social"])
        after = (await buy(http, net.shop_key, "3300-0002", "1000.00")).json()
        assert (after["discount"], after["applied_rules"]) == ("150.00", ["gold", "social"])
        assert "tier" not in after  # already gold: nothing to move

        # A batch moves a member in one purchase and prices the member's next purchase in the same batch as gold.
        await _enrol(http, net.shop_key, "3300-0003")
        items = [
            {"customer": "3300-0003", "amount": amount, "receipt": new_key(), "idempotency_key": new_key()}
            for amount in ("10000.00", "1000.00")
        ]
        batch = await http.post("/v1/purchases/batch", json={"purchases": items}, headers=auth(net.shop_key))
        assert batch.status_code == 200, batch.text
        first, second = (result["body"] for result in batch.json()["results"])
        assert first["tier"] == "gold"
        assert (second["discount"], "tier" in second) == ("100.00", False)
        stored = (await http.get("/v1/members/3300-0003", headers=auth(net.shop_key))).json()["member"]
        assert stored["tier"] == "gold"

        # A replacement card keeps the card type.
        replaced = await http.post(
            "/v1/cards/3300-0001/replace", json={"new_number": "3300-0009"}, headers=auth(net.shop_key, new_key())
        )
        assert replaced.status_code == 200, replaced.text
        again = (await buy(http, net.shop_key, "3300-0009", "1000.00")).json()
        assert "social-card" in again["applied_rules"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segments": ["so cial"]}, "segments[0]"),
        ({"segments": ["x" * 33]}, "segments[0]"),
        ({"tier": "Gold Plus"}, "tier"),
    ],
)
async def test_bad_labels_are_refused_and_change_nothing(services, body, field):
    net = await make_network(services)
    async with client(services) as http:
        await _enrol(http, net.shop_key, "3300-0101", segments=["vip"])
        response = await http.patch("/v1/admin/members/3300-0101", json=body, headers=auth(net.admin_key))
        assert_problem(response, 422, "invalid-input", field)
        member = (await http.get("/v1/members/3300-0101", headers=auth(net.shop_key))).json()["member"]
        assert (member["tier"], member["segments"]) == ("", ["vip"])
        refused = await http.post(
            "/v1/members",
            json={"kind": "personal", "card_number": "3300-0102", "card_type": "So Cial"},
            headers=auth(net.shop_key, new_key()),
        )
        assert_problem(refused, 422, "invalid-input", "card_type")
        unknown = await http.patch("/v1/admin/members/9999-9999", json={"tier": "gold"}, headers=auth(net.admin_key))
        assert unknown.status_code == 404, unknown.text
