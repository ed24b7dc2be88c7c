"""The administrator's audit log in Chromium, on a phone and on a desktop: a cashier blocked in the console shows up
at once as an entry naming the administrator, their address, and the cashier's state before and after; the entry's
time is in the administrator's zone; the filtered log downloads as CSV."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.test_console_members_browser import screen, sign_in_as_administrator

__all__ = ["screen"]  # the phone and desktop pages fixture


def test_an_administrator_sees_the_entry_of_what_they_just_did(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/cashiers")
    screen.get_by_role("link", name="anna").first.click()
    screen.get_by_role("button", name="Block the cashier").click()
    expect(screen.get_by_role("status")).to_have_text("The cashier was blocked and signed out everywhere.")
    blocked_at = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))  # the demo's zone

    screen.get_by_role("navigation", name="Console sections").get_by_role("link", name="Audit log").click()
    expect(screen.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(screen.get_by_text("Times are shown in Europe/Moscow.")).to_be_visible()
    row = screen.get_by_role("row").filter(has_text="cashier.block")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Console user: admin (administrator)")
    expect(row).to_contain_text("127.0.0.1")
    expect(row.locator("td.changes").nth(0)).to_have_text('{"active": true}')
    expect(row.locator("td.changes").nth(1)).to_have_text('{"active": false}')
    hour_on_the_clock = blocked_at.hour % 12 or 12  # English pages write the time on a 12-hour clock ("1:27 PM")
    expect(row.get_by_role("rowheader")).to_contain_text(f"{hour_on_the_clock}:{blocked_at:%M}")

    screen.get_by_label("Action (e.g. terminal.revoke, or terminal.)").fill("terminal.")
    screen.get_by_role("button", name="Show").click()
    expect(screen).to_have_url(re.compile(r"action=terminal\."))
    expect(screen.get_by_role("row").filter(has_text="cashier.block")).to_have_count(0)
    screen.get_by_label("Action (e.g. terminal.revoke, or terminal.)").fill("cashier.")
    screen.get_by_role("button", name="Show").click()
    with screen.expect_download() as download:
        screen.get_by_role("link", name="Download as CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,recorded_at,actor_kind")
    assert all(",cashier." in line for line in lines[1:])  # the filter holds; the demo's cashiers were created
    assert any("cashier.block" in line and ",admin,administrator," in line for line in lines[1:])
