"""Simulating a draft over stored purchases, through the API and the CLI, on both engines; nothing is written."""

from __future__ import annotations

import json
from datetime import timedelta

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from tests.support import assert_problem, auth, buy, client, enrol, make_network, table_counts

pytestmark = pytest.mark.anyio

DRAFT = {
    "rules": [
        {"code": "ten-off", "effects": [{"discount": {"percent": "10"}}]},
        {
            "code": "points",
            "effects": [{"accrue_percent": {"percent": "5"}}, {"set_redemption": {"cap_percent": "50"}}],
        },
    ]
}


async def test_a_draft_priced_over_the_stored_purchases_of_a_period(services):
    net = await make_network(services)
    admin = auth(net.admin_key)
    async with client(services) as http:
        await enrol(http, net.shop_key, "3300-0001")
        await enrol(http, net.shop_key, "3300-0002")
        assert (await buy(http, net.shop_key, "3300-0001", "1000.00")).json()["points_earned"] == 30
        assert (await buy(http, net.shop_key, "3300-0002", "2000.00")).json()["points_earned"] == 60
        third = await buy(http, net.shop_key, "3300-0001", "3000.00", redeem=10)
        assert third.json()["points_earned"] == 89  # 3 % of the 2,990.00 paid
        assert (await http.put("/v1/admin/rule-sets/draft", json=DRAFT, headers=admin)).status_code == 200

        now = services.rules.clock.now()
        period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
        before = await table_counts(services)
        simulated = await http.post("/v1/admin/rule-sets/simulate", json=period, headers=admin)
        assert simulated.status_code == 200, simulated.text
        report = simulated.json()
        assert await table_counts(services) == before

    assert report["recorded"] == {
        "purchases": 3,
        "checks": "6000.00",
        "discounts": "0.00",
        "points_issued": 179,
        "points_issued_value": "179.00",
        "points_redeemed": 10,
        "redemption_capacity_points": None,
        "cost_by_partner": {"Shop": "179.00"},
    }
    # Draft: 10 % off each check, then 5 % of what is paid: 45 + 90 + 134 (2,700.00 − 10 points = 2,690.00)
    assert report["draft"] == {
        "purchases": 3,
        "checks": "6000.00",
        "discounts": "600.00",
        "points_issued": 269,
        "points_issued_value": "269.00",
        "points_redeemed": 10,
        "redemption_capacity_points": 2700,
        "cost_by_partner": {"Shop": "869.00"},
    }
    assert (report["members"], report["members_affected"]) == (2, 2)
    assert report["rules_applied"] == {"points": 3, "ten-off": 3}

    # An empty period, a reversed one, and a network without a draft
    async with client(services) as http:
        later = {"from": (now + timedelta(days=2)).isoformat(), "to": (now + timedelta(days=3)).isoformat()}
        empty = (await http.post("/v1/admin/rule-sets/simulate", json=later, headers=admin)).json()
        assert empty["draft"]["purchases"] == 0
        reversed_period = {"from": period["to"], "to": period["from"]}
        assert_problem(
            await http.post("/v1/admin/rule-sets/simulate", json=reversed_period, headers=admin),
            422,
            "invalid-input",
            "to",
        )
        other = await make_network(services, code="other")
        assert_problem(
            await http.post("/v1/admin/rule-sets/simulate", json=period, headers=auth(other.admin_key)),
            404,
            "not-found",
            "version",
        )

    result = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(
            app,
            [
                "rules",
                "simulate",
                net.ref.code,
                "--from",
                period["from"],
                "--to",
                period["to"],
                "--jobs",
                "2",
                "--database-url",
                services.settings.database_url,
            ],
        )
    )
    assert result.exit_code == 0, result.output
    in_two = json.loads(result.stdout)  # two processes, each a stretch of the period: the same report
    assert {key: in_two[key] for key in report} == report
