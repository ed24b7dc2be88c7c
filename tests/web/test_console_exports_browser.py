"""Downloads in Chromium (issue 17): the Corner Shop's owner downloads the day's sales per cashier as CSV and its
ledger transactions as XLSX from the reports page; the files hold exactly the shop's purchases made in the test and
nothing of the café's."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.test_console_reports_browser import DAY, _purchases, live_server
from tests.web.test_console_staff_browser import sign_in_owner

__all__ = ["live_server"]  # the fixture on the test clock


def test_the_owner_downloads_the_days_figures_as_csv_and_xlsx(live_server: LiveServer, page: Page) -> None:
    answers = _purchases(live_server.url)
    sign_in_owner(page, live_server.url)
    page.goto(f"{live_server.url}/console/reports?day={DAY}")
    downloads = page.get_by_role("region", name="Download")
    expect(downloads).to_be_visible()

    with page.expect_download() as csv_download:
        downloads.get_by_role("link", name="Sales per cashier as CSV").click()
    assert csv_download.value.suggested_filename == f"sales-by-cashier-{DAY}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    anna = [row for row in rows if row["cashier"] == "anna"]
    assert [(row["outlet"], row["checks"], row["revenue_minor"], row["points_spent"]) for row in anna] == [
        ("Corner Shop till", "3", "484567", "60")
    ]
    assert not any("Café" in row["outlet"] for row in rows)

    with page.expect_download() as xlsx_download:
        downloads.get_by_role("link", name="Ledger transactions as XLSX").click()
    assert re.fullmatch(rf"transactions-{DAY}-{DAY}\.xlsx", xlsx_download.value.suggested_filename)
    content = io.BytesIO(Path(xlsx_download.value.path()).read_bytes())  # the saved download has no .xlsx name
    sheet = openpyxl.load_workbook(content, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header, body = values[0], values[1:]
    outlet, member_points = header.index("outlet"), header.index("account")
    assert {row[outlet] for row in body} == {"Corner Shop till"}
    earned = sum(row[header.index("amount")] for row in body if row[member_points] == "member_points")
    assert earned == sum(a["points_earned"] - a["points_redeemed"] for a in answers)
