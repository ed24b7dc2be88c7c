"""A welcome bonus: enrolment rules grant points when a member enrols (issue 3, point 3), on both engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.verify import verify
from tests.support import auth, buy, client, make_network, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {
            "code": "welcome",
            "trigger": "enrolment",
            "scope": {"partners": ["Shop"]},
            "effects": [{"accrue_fixed": {"points": 100}}],
        },
        {
            "code": "welcome-social",
            "trigger": "enrolment",
            "condition": '"social" in member.segments',
            "effects": [{"accrue_fixed": {"points": 50}}],
        },
        {"code": "points", "effects": [{"accrue_percent": {"percent": "5"}}]},
    ]
}


def _body(card: str, **extra: object) -> dict[str, object]:
    return {"kind": "personal", "card_number": card, "profile": {"consent_data_processing": True}} | extra


async def _obligation_of(services, partner: str) -> int:
    """What the partner owes the settlement node in money (minor units): positive = owes."""
    async with services.engine.connect() as connection:
        owed = await connection.execute(
            sa.text(
                "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
                "JOIN partners pa ON pa.id = a.owner_id WHERE a.owner_kind = 'partner' AND pa.name = :name"
            ),
            {"name": partner},
        )
        return -int(owed.scalar_one())


async def test_enrolment_rules_grant_a_welcome_bonus_once(services):
    net = await make_network(services)
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)
    async with client(services) as http:
        key = new_key()
        body = _body("4400-0001", segments=["social"])
        enrolled = await http.post("/v1/members", json=body, headers=auth(net.shop_key, key))
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["points_balance"] == 150
        assert enrolled.json()["bonus"] == {"points": 150, "rules": ["welcome", "welcome-social"]}
        # a retry replays the answer and grants nothing more
        again = await http.post("/v1/members", json=body, headers=auth(net.shop_key, key))
        assert again.json() == enrolled.json()
        member = (await http.get("/v1/members/4400-0001", headers=auth(net.shop_key))).json()
        assert member["points_balance"] == 150
        # the granting partner owes the node the points' value (1 point = 1.00)
        assert await _obligation_of(services, "Shop") == 15000

        # the shop-only rule does not apply at the cafe; a member outside the segment gets no social extra
        at_cafe = await http.post("/v1/members", json=_body("4400-0002"), headers=auth(net.cafe_key, new_key()))
        assert at_cafe.json()["points_balance"] == 0 and "bonus" not in at_cafe.json()

        # the bonus is spendable and shows in the statement as its own transaction
        spent = await http.post(
            "/v1/purchases",
            json={"customer": "4400-0001", "amount": "200.00", "redeem_points": 0, "receipt": new_key()},
            headers=auth(net.shop_key, new_key()),
        )
        assert spent.status_code == 201, spent.text
        statement = await http.get("/v1/admin/members/4400-0001/statement", headers=auth(net.admin_key))
        kinds = [line["kind"] for line in statement.json()["transactions"]]
        assert kinds.count("bonus") == 1
        assert (await buy(http, net.shop_key, "4400-0001", "100.00")).status_code == 201
    assert await verify(services.engine) == []
