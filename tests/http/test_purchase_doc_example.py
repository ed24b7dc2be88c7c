"""docs/purchase.md's worked example, figure for figure, on both engines: a till that was offline on 10 March uploads
its sales the next morning, after the administrator published a new rule set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.http.test_checkout import HALF_OFF, MORNING_RULES, _moscow, _publish, _sale, shop  # noqa: F401
from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio


async def test_the_worked_example_of_docs_purchase_md(shop):  # noqa: F811
    services, clock = shop
    net = await make_network(services)
    await _publish(services, net.ref, MORNING_RULES)  # version 1, 9 March 10:00 Moscow time
    async with client(services) as http:
        await enrol(http, net.shop_key, "7001")
        clock.moment = _moscow(11, 8)
        await _publish(services, net.ref, HALF_OFF)  # version 2, 11 March 08:00
        clock.moment = _moscow(11, 9)  # the till uploads at 09:00

        async def buy(amount: str, **extra: object) -> dict[str, object]:
            answer = await http.post(
                "/v1/purchases", json=_sale("7001", amount, **extra), headers=auth(net.shop_key, new_key())
            )
            assert answer.status_code == 201, answer.text
            return dict(answer.json())

        afternoon = await buy("1000.00", occurred_at="2026-03-10T14:00:00+03:00")
        assert (afternoon["discount"], afternoon["amount_due"], afternoon["points_earned"]) == ("0.00", "1000.00", 50)
        assert (afternoon["rule_set_version"], afternoon["applied_rules"]) == (1, ["points"])
        [expiring] = afternoon["points_expiring"]
        assert expiring["points"] == 50
        assert datetime.fromisoformat(expiring["expires_at"]) == _moscow(10, 14) + timedelta(days=30)
        assert datetime.fromisoformat(expiring["expires_at"]) == datetime(2026, 4, 9, 11, tzinfo=UTC)

        morning = await buy("1000.00", occurred_at="2026-03-10T11:00:00+03:00")
        assert (morning["discount"], morning["amount_due"], morning["points_earned"]) == ("100.00", "900.00", 45)
        assert (morning["rule_set_version"], morning["applied_rules"]) == (1, ["morning", "points"])

        quote = await http.post(
            "/v1/purchases/quote", json={"customer": "7001", "amount": "1000.00"}, headers=auth(net.shop_key)
        )
        assert quote.status_code == 200, quote.text
        assert (quote.json()["discount"], quote.json()["amount_due"], quote.json()["points_to_earn"]) == (
            "500.00",
            "500.00",
            0,
        )
        assert (quote.json()["rule_set_version"], quote.json()["max_redeemable_points"]) == (2, 0)
        paying = await http.post(
            "/v1/purchases/quote",
            json={"customer": "7001", "amount": "1000.00", "redeem_points": 95},
            headers=auth(net.shop_key),
        )
        assert_problem(paying, 422, "redeem-not-allowed", field="redeem_points")

        now = await buy("1000.00")
        assert (now["discount"], now["amount_due"], now["points_earned"]) == ("500.00", "500.00", 0)
        assert now["points_balance"] == 95
