"""Birthday bonuses granted by a daily job from the rule set's `birthday` rules (issue 3, point 3), both engines."""

from __future__ import annotations

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.adapters.storage.verify import verify
from tests.support import auth, balance_of, client, make_network, new_key

pytestmark = pytest.mark.anyio

RULES = {
    "rules": [
        {"code": "birthday", "trigger": "birthday", "effects": [{"accrue_fixed": {"points": 100}}]},
        {
            "code": "vip-birthday",
            "trigger": "birthday",
            "condition": '"vip" in member.segments',
            "effects": [{"accrue_fixed": {"points": 50}}],
        },
    ]
}


async def _enrol(http, key, card, birth_date, segments=()):
    body = {
        "kind": "personal",
        "card_number": card,
        "segments": list(segments),
        "profile": {"birth_date": birth_date, "consent_data_processing": True},
    }
    response = await http.post("/v1/members", json=body, headers=auth(key, new_key()))
    assert response.status_code == 201, response.text


async def test_members_born_on_the_day_get_their_bonus_once_a_year(services, settings):
    net = await make_network(services, "party")
    saved = await services.rules.save_draft(net.ref, RULES)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)
    async with client(services) as http:
        await _enrol(http, net.shop_key, "4100-0001", "1990-07-01", segments=["vip"])
        await _enrol(http, net.shop_key, "4100-0002", "1985-07-01")
        await _enrol(http, net.shop_key, "4100-0003", "1990-07-02")

        job = await http.post("/v1/admin/jobs/birthdays", json={"date": "2026-07-01"}, headers=auth(net.admin_key))
        assert job.status_code == 200, job.text
        assert job.json() == {"date": "2026-07-01", "members": 2, "granted": 2, "points": 250}
        balances = [await balance_of(http, net.shop_key, card) for card in ("4100-0001", "4100-0002", "4100-0003")]
        assert balances == [150, 100, 0]

        again = await http.post("/v1/admin/jobs/birthdays", json={"date": "2026-07-01"}, headers=auth(net.admin_key))
        assert again.json()["granted"] == 0  # once a year
        statement = await http.get("/v1/admin/members/4100-0001/statement", headers=auth(net.admin_key))
        assert [line["kind"] for line in statement.json()["transactions"]] == ["bonus"]

    arguments = ["birthdays", "party", "--date", "2027-07-02", "--database-url", settings.database_url]
    ran = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, arguments))
    assert ran.exit_code == 0, ran.output
    assert "2027-07-02: 1 member(s) with a birthday, 1 granted 100 points" in ran.output
    assert await verify(services.engine) == []
