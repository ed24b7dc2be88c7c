"""A terminal's key rotated in the console, in Chromium on a phone and on a desktop: the new key is shown once and
works at once, the old one serves on beside it until the administrator ends it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from coalition.demo import OUTLETS
from tests.web.conftest import LiveServer
from tests.web.test_console_members_browser import screen, sign_in_as_administrator
from tests.web.test_console_network_browser import member

__all__ = ["screen"]  # the phone and desktop pages fixture

TERMINAL = f"{OUTLETS[0].outlet} POS"


def test_a_rotated_terminal_key_serves_beside_the_old_one_until_the_old_one_is_ended(
    live_server: LiveServer, screen: Page
) -> None:
    old_key = OUTLETS[0].terminal_key
    sign_in_as_administrator(screen, live_server, "/console/terminals")
    row = screen.get_by_role("row", name=TERMINAL)
    row.get_by_label("Old key keeps working for").select_option(label="1 hour")
    row.get_by_role("button", name=f"Rotate the key of {TERMINAL}").click()

    expect(screen.get_by_role("heading", name=f"New key for terminal “{TERMINAL}”")).to_be_visible()
    expect(screen.get_by_role("alert")).to_contain_text("Copy the key now: it is shown only once")
    expect(screen.locator("#old-key-until")).to_contain_text(f"The old key ({old_key[:12]}…) works until")
    new_key = screen.get_by_label("The terminal's key").input_value()
    assert new_key.startswith("term_") and new_key != old_key
    assert member(live_server, new_key, "1000-0001").status_code == 200
    assert member(live_server, old_key, "1000-0001").status_code == 200  # the till is not cut off meanwhile

    row = screen.get_by_role("row", name=TERMINAL)
    expect(row).to_contain_text(new_key[:12])
    expect(row).to_contain_text(f"old key {old_key[:12]}… works until")
    row.get_by_role("button", name=f"End the old key of {TERMINAL} now").click()
    expect(screen.get_by_role("status")).to_have_text("The old key no longer works; the terminal's new key does.")
    expect(screen.get_by_label("The terminal's key")).to_have_count(0)  # never shown again
    expect(screen.get_by_role("row", name=TERMINAL)).not_to_contain_text("old key")
    assert member(live_server, old_key, "1000-0001").status_code == 401
    assert member(live_server, new_key, "1000-0001").status_code == 200
    assert member(live_server, OUTLETS[1].terminal_key, "1000-0001").status_code == 200
