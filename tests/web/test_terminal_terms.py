"""The terminal's member panel and quote show the terms in force (issue 13): under a published rule set its accrual,
fixed points, cap, discount and minimum check and the rules that give them — not the built-in program's; on both
engines."""

from __future__ import annotations

import httpx
import pytest

from coalition.wiring import Services
from tests.support import client, enrol, make_network
from tests.web.support import csrf_token, sign_in_cashier

pytestmark = pytest.mark.anyio
CARD = "5000-0201"
RULES = {
    "rules": [
        {
            "code": "base",
            "name": "Everyone",
            "effects": [
                {"accrue_percent": {"percent": "8"}},
                {"accrue_fixed": {"points": 2}},
                {"set_redemption": {"cap_percent": "40", "min_check": "200.00"}},
            ],
        },
        {"code": "all-day", "name": "House discount", "effects": [{"discount": {"percent": "5"}}]},
    ]
}


async def _till(services: Services, http: httpx.AsyncClient, *, published: bool) -> str:
    """A network (with the rule set published or not), a member, and cashier Anna signed in; her form token."""
    network = await make_network(services)
    if published:
        saved = await services.rules.save_draft(network.ref, RULES)
        assert saved["errors"] == 0, saved
        await services.rules.publish(network.ref, None)
    outlet_id = (await services.admin.listing(network.ref))["outlets"][0]["id"]
    await services.admin.create_cashier(network.ref, outlet_id, "anna", "Anna", "anna-secret-1")
    await enrol(http, network.shop_key, CARD)
    signed = await sign_in_cashier(http, outlet_id, "anna", "anna-secret-1")
    assert signed.status_code == 303
    return csrf_token((await http.get("/terminal")).text)


async def test_the_member_panel_shows_the_published_rule_sets_terms(services: Services) -> None:
    async with client(services) as http:
        csrf = await _till(services, http, published=True)
        panel = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": CARD})
        assert panel.status_code == 200, panel.text
        assert "earns 8% and 2 points a check, points pay up to 40% of a check" in panel.text
        assert "5% off every check" in panel.text
        assert "Everyone, House discount" in panel.text  # the rules that give the terms
        # the rule set's minimum check (200.00), not the program's (1,500.00)
        below = await http.post("/terminal/quote", data={"csrf_token": csrf, "customer": CARD, "amount": "150.00"})
        assert below.status_code == 200, below.text
        assert "Points pay only checks from RUB\xa0200.00." in below.text
        above = await http.post("/terminal/quote", data={"csrf_token": csrf, "customer": CARD, "amount": "300.00"})
        assert "Points pay only checks from" not in above.text


async def test_under_the_built_in_program_the_panel_is_as_before(services: Services) -> None:
    async with client(services) as http:
        csrf = await _till(services, http, published=False)
        panel = await http.post("/terminal/member", data={"csrf_token": csrf, "customer": CARD})
        assert "earns 3%, points pay up to 15% of a check" in panel.text
        assert "off every check" not in panel.text and "Everyone" not in panel.text
        below = await http.post("/terminal/quote", data={"csrf_token": csrf, "customer": CARD, "amount": "1000.00"})
        assert "Points pay only checks from RUB\xa01,500.00." in below.text
