"""The administrator edits the rule set in Chromium: a conflict is shown beside the draft, fixed, simulated and
published; a syntax error is shown with its place."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import MEMBERS, SALES
from tests.web.conftest import RULES_API_TIMEOUT_S, RULES_SAVE_TIMEOUT_MS, LiveServer

ADMIN_KEY = "adm_demo_network"
IN_FORCE = {
    "rules": [{"code": "card-5", "stacking": "exclusive", "group": "card", "effects": [{"discount": {"percent": "5"}}]}]
}
CONFLICTING = """
  - code: card-7
    stacking: exclusive
    group: card
    effects: [{discount: {percent: "7"}}]
"""


def _api(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=RULES_API_TIMEOUT_S
    )


def _publish_first_version(server: LiveServer) -> None:
    with _api(server) as api:
        assert api.put("/v1/admin/rule-sets/draft", json=IN_FORCE).status_code == 200
        assert api.post("/v1/admin/rule-sets/draft/publish").status_code == 200


def _sign_in_as_administrator(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/rules")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill("admin")
    page.get_by_label("Password").fill("admin-demo-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()


def test_a_rule_edit_with_a_conflict_shown(page: Page, live_server: LiveServer) -> None:
    _publish_first_version(live_server)
    _sign_in_as_administrator(page, live_server)
    expect(page.locator("#in-force")).to_contain_text("1")

    draft = page.get_by_label("Rule set (YAML, or the API's JSON)")
    expect(draft).to_have_value(re.compile(r"code: card-5"))  # the next edit starts from the set in force
    draft.fill(draft.input_value() + CONFLICTING.lstrip("\n"))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text("Draft version 2 saved.", timeout=RULES_SAVE_TIMEOUT_MS)
    conflicts = page.get_by_role("complementary", name="Conflicts")
    expect(conflicts).to_contain_text("1 error(s)")
    expect(conflicts).to_contain_text(
        "card-5 and card-7 can fire on the same purchase in exclusive group 'card' with the same priority (0)"
    )
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("alert")).to_contain_text("fix them before publishing")
    expect(page.get_by_role("button", name="Publish", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Back to the draft").click()

    fixed = draft.input_value().replace(
        "  - code: card-7\n", "  - code: card-7\n    priority: 10\n    condition: basket.total_minor >= 500000\n"
    )
    assert fixed != draft.input_value()
    draft.fill(fixed)
    page.get_by_role("button", name="Save draft").click()
    expect(conflicts).to_contain_text("No conflicts found.", timeout=RULES_SAVE_TIMEOUT_MS)

    page.get_by_role("button", name="Simulate").click()
    simulation = page.locator("#simulation")
    expect(simulation).to_be_visible(timeout=RULES_SAVE_TIMEOUT_MS)
    purchases = simulation.get_by_role("row", name=re.compile("^Purchases"))
    checks = str(sum(len(member.checks) for member in MEMBERS) + len(SALES))  # the demo's members' and walk-in's
    expect(purchases.get_by_role("cell")).to_have_text([checks, checks, "0"])  # recorded and draft
    expect(simulation.get_by_role("row", name=re.compile("^Corner Shop"))).to_be_visible()

    page.get_by_label("Check amount").fill("6000.00")
    page.get_by_role("button", name="Explain").click()
    explanation = page.locator("#explanation")
    expect(explanation.get_by_role("row", name=re.compile("^card-7"))).to_contain_text("yes")
    expect(explanation).to_contain_text("RUB\xa0420.00")  # 7 % of 6,000.00

    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", name="Publish draft version 2?")).to_be_visible()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Version 2 is published.", timeout=RULES_SAVE_TIMEOUT_MS)
    expect(page.locator("#in-force")).to_contain_text("2")
    history = page.locator("#history")
    expect(history.get_by_role("row", name=re.compile("^Version 2"))).to_contain_text("in force")
    expect(history.get_by_role("row", name=re.compile("^Version 1"))).to_contain_text("published")
    with _api(live_server) as api:
        assert api.get("/v1/admin/rule-sets").json()["in_force"] == 2
        assert [rule["code"] for rule in api.get("/v1/admin/rule-sets/2").json()["rules"]] == ["card-5", "card-7"]

    history.get_by_role("link", name="Version 2").click()
    expect(page.get_by_role("heading", name="Rule set version 2")).to_be_visible()
    expect(page.locator("pre.code")).to_contain_text("basket.total_minor >= 500000")


def test_a_syntax_error_in_the_draft_is_shown_with_its_place(page: Page, live_server: LiveServer) -> None:
    _sign_in_as_administrator(page, live_server)
    draft = page.get_by_label("Rule set (YAML, or the API's JSON)")
    draft.fill('rules:\n  - code: morning\n    effects: [{discount: {percent: "5"}}\n  - code: late\n')
    page.get_by_role("button", name="Save draft").click()
    error = page.locator("#draft-error")
    expect(error).to_contain_text(re.compile(r"The draft was not saved: line 4, column \d+"))
    expect(draft).to_have_attribute("aria-invalid", "true")
    expect(draft).to_have_value(re.compile("code: late"))  # what was typed is kept

    draft.fill('rules:\n  - code: morning\n    window: {until: "25:00"}\n    effects: [{discount: {percent: "5"}}]\n')
    page.get_by_role("button", name="Save draft").click()
    expect(error).to_contain_text("Field: rules[0].window.until")
    expect(error).to_contain_text("Line 3 of the draft")
    with _api(live_server) as api:
        assert api.get("/v1/admin/rule-sets/draft").status_code == 404  # nothing was stored
