"""The console's Files page in Chromium on a phone (360 px): the administrator uploads a purchases file with an
unknown card and sees it refused at its row and column, then the corrected file (semicolons, a decimal comma) and
sees what it recorded; the page fits the phone's width."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from coalition.application.commands import key_hash
from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import SHOP_KEY, sign_in_as_administrator


def test_a_purchases_file_refused_then_recorded(demo_template: Path, tmp_path: Path, page: Page) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with sqlite3.connect(database) as connection:
        till = connection.execute("SELECT id FROM terminals WHERE key_hash = ?", (key_hash(SHOP_KEY),)).fetchone()[0]
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    good = f"receipt;occurred_at;terminal;customer;amount\nW-1;{when};{till};10000001;1 000,00\n"
    bad_file, good_file = tmp_path / "purchases-bad.csv", tmp_path / "purchases.csv"
    bad_file.write_text(good.replace("10000001", "55555555"))
    good_file.write_text(good)
    with LiveServer(f"sqlite:///{database}") as server:
        sign_in_as_administrator(page, server, "/console/files")
        expect(page.get_by_role("heading", name="Import purchases and refunds")).to_be_visible()
        page.get_by_label("The file holds").select_option("purchases")
        page.get_by_label("Purchases or refunds: a CSV or XLSX file").set_input_files(str(bad_file))
        page.get_by_role("button", name="Record the file").click()
        expect(page.locator("#sales-refused")).to_be_visible()
        row = page.locator("#import-errors tbody tr").first
        expect(row).to_contain_text("2")
        expect(row).to_contain_text("customer")

        page.get_by_label("Purchases or refunds: a CSV or XLSX file").set_input_files(str(good_file))
        page.get_by_role("button", name="Record the file").click()
        expect(page.locator("#sales-recorded")).to_have_text("1")
        expect(page.locator("#sales-amount")).to_contain_text("1,000.00")
        assert scroll_width_px(page) <= 360
