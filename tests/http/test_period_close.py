"""The close of a month: period_close rules re-qualify tiers, grant points and issue coupons once (issue 3), on both
engines."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.adapters.storage.verify import verify
from tests.http.water_park import buy, water_park
from tests.support import assert_problem, auth, client, enrol

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "points", "effects": [{"accrue_percent": {"percent": "10"}}]},
        {
            "code": "gold",
            "trigger": "period_close",
            "condition": "member.period_spend_minor >= 500000",
            "effects": [
                {"set_tier": {"tier": "gold"}},
                {"accrue_fixed": {"points": 100}},
                {"issue_coupon": {"campaign": "gold-welcome", "valid_days": 30, "uses": 1}},
            ],
        },
        {
            "code": "silver",
            "trigger": "period_close",
            "condition": "member.period_spend_minor >= 100000 && member.period_spend_minor < 500000",
            "effects": [{"set_tier": {"tier": "silver"}}],
        },
    ]
}


async def _close(http, admin_key, month):
    return await http.post("/v1/admin/jobs/period-close", json={"month": month}, headers=auth(admin_key))


async def test_the_close_of_a_month_requalifies_tiers_and_grants_once(park, settings):
    services, clock = park
    clock.moment = datetime(2026, 7, 10, 12, tzinfo=UTC)
    async with client(services) as http:
        admin_key, keys, _ = await water_park(services)
        net = await services.admin.network("park")
        assert (await services.rules.save_draft(net, RULES))["errors"] == 0
        await services.rules.publish(net, None)
        for card in ("M-A", "M-B", "M-C"):
            await enrol(http, keys["Tickets"], card)
        await buy(http, keys["Tickets"], "M-A", "3000.00")
        await buy(http, keys["Cafe"], "M-A", "2500.00")
        await buy(http, keys["Cafe"], "M-B", "1500.00")

        assert_problem(await _close(http, admin_key, "2026-07"), 422, "invalid-input", "month")  # not over yet
        clock.moment = datetime(2026, 8, 2, 9, tzinfo=UTC)
        await buy(http, keys["Cafe"], "M-B", "9000.00")  # August: not July's spend
        closed = await _close(http, admin_key, "2026-07")
        assert closed.status_code == 200, closed.text
        assert closed.json() == {"month": "2026-07", "members": 3, "tiers_changed": 2, "points": 100, "coupons": 1}

        a = (await http.get("/v1/members/M-A", headers=auth(keys["Cafe"]))).json()
        assert (a["member"]["tier"], a["points_balance"]) == ("gold", 550 + 100)
        b = (await http.get("/v1/members/M-B", headers=auth(keys["Cafe"]))).json()
        assert b["member"]["tier"] == "silver"
        c = (await http.get("/v1/members/M-C", headers=auth(keys["Cafe"]))).json()
        assert c["member"]["tier"] == ""
        coupons = (await http.get("/v1/admin/coupons?campaign=gold-welcome", headers=auth(admin_key))).json()
        [coupon] = coupons["coupons"]
        assert coupon["valid_from"] == "2026-08-01T00:00:00+00:00"

        again = await _close(http, admin_key, "2026-07")  # a second run changes nothing
        assert again.json() == {"month": "2026-07", "members": 3, "tiers_changed": 0, "points": 0, "coupons": 0}
        assert (await http.get("/v1/members/M-A", headers=auth(keys["Cafe"]))).json()["points_balance"] == 650

        assert_problem(await _close(http, admin_key, "2026-13"), 422, "invalid-input", "month")
        assert_problem(await _close(http, admin_key, "July"), 422, "invalid-input", "month")

    arguments = ["period-close", "park", "--month", "2026-07", "--database-url", settings.database_url]
    ran = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, arguments))
    assert ran.exit_code == 0, ran.output
    said = " ".join(ran.output.split())  # the console wraps long lines
    assert "2026-07: 3 member(s), 0 moved to another tier, 0 points granted, 0 coupon(s) issued" in said
    assert await verify(services.engine) == []
