"""The owner of the network fills the program editor's bonus form on a phone in Chromium: the brief's tiers are
there, saving shows the generated YAML and no conflicts, and the draft is published and in force."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import RULES_SAVE_TIMEOUT_MS, LiveServer

ADMIN_KEY = "adm_demo_network"


def test_the_bonus_form_is_saved_its_yaml_shown_and_published(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/console/rules/editor")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill("admin")
    page.get_by_label("Password").fill("admin-demo-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Program editor")).to_be_visible()

    tier2 = page.get_by_role("group", name="Tier 2")
    expect(tier2.get_by_label("From a lifetime spend of")).to_have_value("10000.00")  # the brief's example
    expect(tier2.get_by_label("Points, % of the check")).to_have_value("5")
    expect(page.get_by_label("Minimum check for paying with points")).to_have_value("1500.00")
    page.get_by_label("Welcome bonus, points").fill("100")
    page.get_by_role("button", name="Save as draft").click()

    expect(page.get_by_role("status")).to_have_text(re.compile(r"Draft version \d+ saved\."))
    yaml = page.locator("#program-yaml")
    expect(yaml).to_be_visible()  # opened after a save
    expect(yaml).to_contain_text("member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000001")
    expect(yaml).to_contain_text("trigger: enrolment")
    page.get_by_text("Show the rule set (YAML)").click()
    expect(yaml).to_be_hidden()  # collapsible
    expect(page.get_by_role("region", name="Conflicts")).to_contain_text("No conflicts found.")

    page.get_by_label("Check amount").fill("2000.00")
    page.get_by_label("Member's lifetime spend").fill("12000.00")
    page.get_by_role("button", name="Explain").click()
    sample = page.locator("#sample-explanation")
    expect(sample).to_contain_text("Points earned100")
    expect(sample).to_contain_text("Most points redeemable600")

    page.get_by_role("link", name="Publish…").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Version \d+ is published\."), timeout=RULES_SAVE_TIMEOUT_MS
    )
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        in_force = api.get("/v1/admin/rule-sets").json()["in_force"]
        rules = api.get(f"/v1/admin/rule-sets/{in_force}").json()["rules"]
    assert [rule["code"] for rule in rules] == ["bonus-tier-1", "bonus-tier-2", "bonus-tier-3", "welcome"]


def test_the_editor_reopens_with_the_saved_form_until_a_yaml_edit_replaces_it(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/console/rules/editor")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill("admin")
    page.get_by_label("Password").fill("admin-demo-1")
    page.get_by_role("button", name="Sign in").click()
    start = page.locator("#editor-start")
    expect(start).to_have_text(  # the demo runs the program it was created with: no rule set is published
        "No program has been published yet, by this form or as YAML: the form starts from the example program."
    )
    tier1 = page.get_by_role("group", name="Tier 1")
    expect(tier1.get_by_label("Points, % of the check")).to_have_value("3")  # the example
    tier1.get_by_label("Points, % of the check").fill("4")
    page.get_by_role("group", name="Tier 2").get_by_label("Points may pay up to, % of the check").fill("35")
    page.get_by_label("Welcome bonus, points").fill("100")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Draft version \d+ saved\."), timeout=RULES_SAVE_TIMEOUT_MS
    )
    version = re.search(r"\d+", page.get_by_role("status").inner_text())
    assert version is not None

    page.goto(f"{live_server.url}/console/rules/editor")  # opened again: the draft's form, not the example
    expect(start).to_have_text(f"The form shows the draft (version {version.group(0)}) saved from it.")
    expect(page.get_by_role("group", name="Tier 1").get_by_label("Points, % of the check")).to_have_value("4")
    tier2 = page.get_by_role("group", name="Tier 2")
    expect(tier2.get_by_label("Points may pay up to, % of the check")).to_have_value("35")
    expect(page.get_by_label("Welcome bonus, points")).to_have_value("100")

    page.get_by_role("link", name="Back to the rules (YAML)").click()  # the draft edited as YAML instead
    draft = page.get_by_label("Rule set (YAML, or the API's JSON)")
    expect(draft).to_contain_text("bonus-tier-1")
    draft.fill("rules:\n  - code: flat\n    effects:\n      - accrue_percent:\n          percent: '2'\n")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved", timeout=RULES_SAVE_TIMEOUT_MS)

    page.goto(f"{live_server.url}/console/rules/editor")  # the form no longer matches the draft: it says so
    expect(start).to_have_text(
        f"The draft (version {version.group(0)}) was written as YAML, which the form cannot show: the form starts"
        " from the example program, and saving it replaces that draft."
    )
    expect(page.get_by_role("group", name="Tier 1").get_by_label("Points, % of the check")).to_have_value("3")
    expect(page.get_by_label("Welcome bonus, points")).to_have_value("")


def _sign_in(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/console/rules/editor")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill("admin")
    page.get_by_label("Password").fill("admin-demo-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Program editor")).to_be_visible()


def _type_raw(page: Page, selector: str, value: str) -> None:
    """A value a keyboard cannot type (NUL), set as a script or a paste would."""
    page.locator(selector).evaluate("(element, value) => { element.value = value }", value)


def test_a_control_character_in_an_editor_field_names_the_field_and_keeps_what_was_typed(
    page: Page, live_server: LiveServer
) -> None:
    """Issue 18 review (b): NUL in a field (or a bidirectional override) re-shows the form with everything typed kept
    and the field marked (aria-invalid, its message beside it), not a generic error page."""
    _sign_in(page, live_server)
    page.get_by_label("Welcome bonus, points").fill("75")
    for selector, value in (
        ("#f-tier1_accrual", "3\x00"),
        ("#f-segment", "vip\u202e"),
        ("#f-excluded_skus", "TOBACCO\x00"),
        ("#f-before_time", "11:00\u2066"),
    ):
        _type_raw(page, selector, value)
        page.get_by_role("button", name="Save as draft").click()
        field = page.locator(selector)
        expect(field).to_have_attribute("aria-invalid", "true")
        name = selector.removeprefix("#f-")
        expect(page.locator(f"#f-{name}-error")).to_contain_text("control characters (such as NUL) are not allowed")
        expect(page.get_by_role("alert").first).to_contain_text(f"Field: {name}")
        expect(page.get_by_label("Welcome bonus, points")).to_have_value("75")  # what was typed is still there
        expect(field).to_have_value(value.rstrip("\x00\u202e\u2066"))
        field.fill("")

    page.get_by_label("Check amount").fill("2000.00")
    _type_raw(page, "#s-segment", "vip\x00")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#s-segment")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#sample-error")).to_contain_text("control characters")
    expect(page.get_by_label("Check amount")).to_have_value("2000.00")

    _type_raw(page, "#card-minimum", "400\x00")
    page.locator("#card-minimum").press("Enter")
    expect(page.locator("#card-minimum")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#card-error")).to_contain_text("control characters")
    expect(page.locator("#card-minimum")).to_have_value("400")
