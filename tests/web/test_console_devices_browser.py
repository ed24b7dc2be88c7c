"""Devices in Chromium over the demo network (issue 15): the administrator registers an arcade machine at the water
park through the console's form (a mistyped day's hours first, named beside the field), copies its key, and after
the machine's first heartbeat reads it online with its last error; then sets its price on its own page. Phone and
desktop; each page passes the accessibility checks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import styled_evaluate
from tests.web.test_accessibility import CHECKS
from tests.web.test_console_members_browser import DESKTOP, sign_in_as_administrator


@pytest.fixture(params=["phone", "desktop"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE if request.param == "phone" else DESKTOP, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_administrator_registers_a_device_and_sees_it_online(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/devices")
    expect(screen.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    assert styled_evaluate(screen, CHECKS) == []

    form = screen.locator("#device-register")
    form.get_by_label("Partner").select_option(label="Aqua Park")
    form.get_by_label("Device's name").fill("Arcade: Pinball")
    form.get_by_label("Kind").select_option(label="arcade machine")
    form.get_by_label("Price of one use (empty: none)").fill("50.00")
    form.get_by_label("Always open").uncheck()
    form.get_by_label("Monday").fill("10:00 to 22:00")
    form.get_by_role("button", name="Register the device and make its key").click()
    expect(screen.locator("#hours_mon")).to_have_attribute("aria-invalid", "true")
    expect(screen.locator("#hours_mon-error")).to_be_visible()
    expect(form.get_by_label("Device's name")).to_have_value("Arcade: Pinball")
    assert styled_evaluate(screen, CHECKS) == []

    screen.locator("#device-register").get_by_label("Monday").fill("10:00-22:00")
    screen.locator("#device-register").get_by_role("button", name="Register the device and make its key").click()
    expect(screen.get_by_role("heading", name="Device “Arcade: Pinball” registered")).to_be_visible()
    key = screen.locator("#new-key").input_value()
    assert key.startswith("dev_")
    row = screen.locator("#devices").get_by_role("row", name="Arcade: Pinball")
    expect(row).to_contain_text("silent")
    assert styled_evaluate(screen, CHECKS) == []

    beat = httpx.post(
        f"{live_server.url}/v1/devices/heartbeat",
        json={"status": {"coins": 12}, "error": "coin tube nearly full"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert beat.status_code == 200, beat.text
    screen.get_by_role("navigation", name="Console sections").get_by_role("link", name="Devices", exact=True).click()
    row = screen.locator("#devices").get_by_role("row", name="Arcade: Pinball")
    expect(row).to_contain_text("online")
    expect(row).to_contain_text("coin tube nearly full")
    row.get_by_role("link", name="Arcade: Pinball").click()
    expect(screen.get_by_role("heading", name="Arcade: Pinball", level=1)).to_be_visible()
    expect(screen.locator("#device-state")).to_contain_text("online")
    screen.locator("#device-edit").get_by_label("Price of one use (empty: none)").fill("60.00")
    screen.locator("#device-edit").get_by_role("button", name="Save").click()
    expect(screen.get_by_role("status")).to_have_text("The device's prices, hours and limits were saved.")
    expect(screen.locator("#per_use")).to_have_value("60.00")
    assert styled_evaluate(screen, CHECKS) == []
