"""The terminal's member panel in Chromium under a published rule set (issue 13): the demo's corner shop publishes
rules with other terms than its program (8 % and 2 points a check, 40 % from 200.00, 5 % off every check), and the
cashier sees those, with the rules that give them."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import DEMO_ADMIN_KEY
from tests.web.conftest import RULES_API_TIMEOUT_S, LiveServer
from tests.web.test_terminal_browser import facts, sign_in

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
        {"code": "house", "name": "House discount", "effects": [{"discount": {"percent": "5"}}]},
    ]
}


def _publish(live_server: LiveServer) -> None:
    with httpx.Client(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {DEMO_ADMIN_KEY}"},
        timeout=RULES_API_TIMEOUT_S,
    ) as http:
        saved = http.put("/v1/admin/rule-sets/draft", json=RULES)
        assert saved.status_code == 200 and saved.json()["errors"] == 0, saved.text
        assert http.post("/v1/admin/rule-sets/draft/publish").status_code == 200


def test_the_member_panel_shows_the_published_terms_and_their_rules(live_server: LiveServer, page: Page) -> None:
    _publish(live_server)
    sign_in(page, live_server)
    page.get_by_label("Card number or phone").fill("1000-0001")
    page.get_by_role("button", name="Find the customer").click()
    expect(page.get_by_role("heading", name="Irina Petrova")).to_be_visible()
    assert facts(page) == {
        "Card": "10000001",
        "Points": "105 = RUB\xa0105.00",
        "Tier": "earns 8% and 2 points a check, points pay up to 40% of a check",
        "Discount": "5% off every check",
        "Rules": "Everyone, House discount",
        "Wallet": "RUB\xa00.00\ncan pay RUB\xa00.00 now",  # no top-up yet: an empty wallet
    }
    # 150.00 is below the rule set's minimum check (200.00), far below the program's (1,500.00)
    page.get_by_label("Amount of the check").fill("150")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#max-points")).to_have_text("0")
    expect(page.get_by_text("Points pay only checks from RUB\xa0200.00.")).to_be_visible()
