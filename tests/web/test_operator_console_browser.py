"""The operator's console in Chromium at phone width (issue 18, point 6): the operator signs in with the token, finds
the demo network with its customers, moves it to the Free plan with a trial, suspends it and resumes it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px, viewport_width_px


def test_the_operator_sets_a_plan_and_suspends_a_network_on_a_phone(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/operator")
    page.get_by_label("Operator token").fill("operator-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Networks")).to_be_visible()
    row = page.locator("#networks article").first
    expect(row).to_contain_text("demo")
    row.get_by_label("Plan").select_option("free")
    row.get_by_label("trial until").fill("2099-03-06")
    row.get_by_role("button", name="Save").click()
    row = page.locator("#networks article").first
    expect(row.get_by_label("Plan")).to_have_value("free")
    expect(row.get_by_label("trial until")).to_have_value("2099-03-06")
    expect(row).to_contain_text("of 50,000")
    row.get_by_role("button", name="Suspend").click()
    row = page.locator("#networks article").first
    expect(row).to_contain_text("suspended")
    row.get_by_role("button", name="Resume").click()
    expect(page.locator("#networks article").first.get_by_role("button", name="Suspend")).to_be_visible()
    # nothing sideways on a phone: the page is no wider than the screen
    assert scroll_width_px(page) <= viewport_width_px(page) + 1


def test_a_control_character_in_the_plan_form_keeps_the_choice_and_names_the_field(
    live_server: LiveServer, page: Page
) -> None:
    """Issue 18 review (b): a NUL in the trial's date (a script's or a proxy's) re-shows the list with the plan chosen
    and the date typed kept, the field marked, not a generic error page."""
    page.goto(live_server.url + "/operator")
    page.get_by_label("Operator token").fill("operator-secret")
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#networks article").first
    row.get_by_label("Plan").select_option("business")
    row.get_by_label("trial until").evaluate(
        "element => { element.type = 'text'; element.value = '2099-03-06\\u0000' }"
    )
    row.get_by_role("button", name="Save").click()
    row = page.locator("#networks article").first
    expect(row.get_by_role("alert")).to_contain_text("control characters (such as NUL) are not allowed")
    expect(row.get_by_role("alert")).to_contain_text("Field: trial_ends")
    expect(row.get_by_label("trial until")).to_have_attribute("aria-invalid", "true")
    expect(row.get_by_label("trial until")).to_have_value("2099-03-06")
    expect(row.get_by_label("Plan")).to_have_value("business")  # what was chosen, not what is saved

    row.get_by_label("trial until").evaluate("element => { element.type = 'text'; element.value = 'soon' }")
    row.get_by_role("button", name="Save").click()
    row = page.locator("#networks article").first
    expect(row.get_by_role("alert")).to_contain_text("write the trial's end as a date")
    expect(row.get_by_label("trial until")).to_have_attribute("aria-invalid", "true")
