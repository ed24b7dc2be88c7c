"""The console's Files page in Chromium on a phone (360 px): the administrator uploads a file with a wrong row and
sees it refused with its row and column, then the corrected file in cp1251 with semicolons, sees 3 members created
with their opening balances, and downloads the members as CSV; the page fits the phone's width."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from coalition.application.file_exchange.reading import read_table
from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator

GOOD = "card_number;name;consent_data_processing;points_balance\n3001;Пётр;да;100\n3002;Мария;да;250\n3003;;;0\n"


def test_a_members_file_uploaded_refused_then_taken_and_exported(
    demo_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    bad, good = tmp_path / "bad.csv", tmp_path / "members.csv"
    bad.write_bytes(GOOD.replace("3002;Мария;да;250", "3002;Мария;да;=1+1").encode("cp1251"))
    good.write_bytes(GOOD.encode("cp1251"))
    with LiveServer(f"sqlite:///{database}") as server:
        sign_in_as_administrator(page, server, "/console/files")
        expect(page.get_by_role("heading", name="Import members")).to_be_visible()
        assert scroll_width_px(page) <= 360

        page.get_by_label("File (CSV or XLSX)").set_input_files(str(bad))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("heading", name="The file was refused; nothing was written")).to_be_visible()
        row = page.locator("#import-errors tbody tr").first
        expect(row).to_contain_text("3")
        expect(row).to_contain_text("points_balance")
        expect(row).to_contain_text("formula")

        page.get_by_label("File (CSV or XLSX)").set_input_files(str(good))
        page.get_by_label("Encoding (CSV)").select_option("cp1251")
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#created")).to_have_text("3")
        expect(page.locator("#opening")).to_contain_text("350")
        assert scroll_width_px(page) <= 360

        with page.expect_download() as download:
            page.locator("#export-csv").click()
        exported = read_table(Path(download.value.path()).read_bytes())
        points = exported.header.index("points_balance")
        balances = {r.cells[0]: r.cells[points] for r in exported.rows}
        assert {card: balances[card] for card in ("3001", "3002", "3003")} == {
            "3001": "100",
            "3002": "250",
            "3003": "0",
        }

        # taking the valid rows only: the rejected row comes back as a file the browser saves
        page.get_by_label("File (CSV or XLSX)").set_input_files(str(bad))
        page.get_by_label("Take the valid rows and leave out the wrong ones").check()
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#rejected")).to_have_text("1")
        with page.expect_download() as download:
            page.locator("#rejects").click()
        assert download.value.suggested_filename == "rejected-rows.csv"
        rejected = read_table(Path(download.value.path()).read_bytes())
        assert rejected.header[-1] == "error"
        assert [r.cells[0] for r in rejected.rows] == ["3002"] and "formula" in rejected.rows[0].cells[-1]
