"""Message settings in Chromium on a phone (360 px): the administrator reaches them from the templates page, turns
the thank-you e-mail on, sees a cap of 0 refused beside its field with the boxes kept as ticked, saves with a
threshold and no quiet hours, and finds it all as saved after a reload; the page fits the phone's width."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator


def test_message_settings_turned_on_refused_and_saved_on_a_phone(
    demo_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}") as server:
        sign_in_as_administrator(page, server, "/console/messages/templates")
        page.get_by_role("link", name="Message settings").click()
        expect(page.get_by_role("heading", name="Message settings")).to_be_visible()
        thank_you = page.get_by_label("Thank you after a purchase: E-mail")
        expect(thank_you).not_to_be_checked()  # every message is off until turned on
        expect(page.get_by_label("Quiet hours until")).to_have_value("09:00")
        assert scroll_width_px(page) <= 360

        thank_you.check()
        page.get_by_label("At most this many messages").fill("0")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#cap_per_day-error")).to_contain_text("a whole number from 1 to 100")
        expect(page.get_by_label("At most this many messages")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Thank you after a purchase: E-mail")).to_be_checked()  # kept as ticked

        page.get_by_label("At most this many messages").fill("2")
        page.get_by_label("Balance threshold in points").fill("500")
        page.get_by_label("Quiet hours from").fill("")
        page.get_by_label("Quiet hours until").fill("")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("The message settings were saved.")
        page.reload()
        expect(page.get_by_label("Thank you after a purchase: E-mail")).to_be_checked()
        expect(page.get_by_label("Thank you after a purchase: SMS")).not_to_be_checked()
        expect(page.get_by_label("Balance threshold in points")).to_have_value("500")
        expect(page.get_by_label("At most this many messages")).to_have_value("2")
        expect(page.get_by_label("Quiet hours from")).to_have_value("")
        assert scroll_width_px(page) <= 360
