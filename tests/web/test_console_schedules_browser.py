"""Scheduled jobs in the console, in Chromium on a phone (360 px): the administrator sees each job's next run in the
network's zone, moves the daily report to 23:30, sees a bad time refused beside its field, and a run the scheduler
made appears in the recent runs; the page fits the phone's width."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

from playwright.sync_api import Page, expect

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator


def _tick(database_url: str) -> None:
    async def tick() -> None:
        services = build_services(Settings(database_url=database_url, operator_token=None, public_url="http://x"))
        try:
            await services.scheduler.tick()
        finally:
            await services.close()

    # Playwright's sync API holds an event loop in this thread: the tick runs in a thread of its own
    worker = threading.Thread(target=lambda: asyncio.run(tick()))
    worker.start()
    worker.join(timeout=60)


def test_the_administrator_moves_a_job_and_sees_its_runs_on_a_phone(
    demo_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    url = f"sqlite:///{database}"
    _tick(url)  # a scheduler ran the due jobs (not the report: this server has no SMTP)
    with LiveServer(url) as server:
        sign_in_as_administrator(page, server, "/console/schedules")
        expect(page.get_by_role("heading", name="Scheduled jobs")).to_be_visible()
        report = page.locator("#job-daily_reports")
        expect(report).to_contain_text("Waits: e-mail is off on this server")
        birthdays = page.locator("#job-birthdays")
        expect(birthdays).to_contain_text("Next run:")
        expect(birthdays).to_contain_text("Last run: period")
        expect(page.get_by_role("row").filter(has_text="Birthday bonuses")).to_have_count(1)
        expect(page.get_by_role("row").filter(has_text="Close of the month")).to_contain_text("scheduler")

        report.get_by_label("Local time (HH:MM)").fill("25:00")
        report.get_by_role("button", name="Save").click()
        expect(page.locator("#daily_reports-time-error")).to_contain_text("'25:00' is not a time of day")
        page.locator("#job-daily_reports").get_by_label("Local time (HH:MM)").fill("23:30")
        page.locator("#job-daily_reports").get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("The schedule was saved.")
        expect(page.locator("#job-daily_reports").get_by_label("Local time (HH:MM)")).to_have_value("23:30")

        page.locator("#job-expire").get_by_label("Run on schedule").uncheck()
        page.locator("#job-expire").get_by_role("button", name="Save").click()
        expect(page.locator("#job-expire")).to_contain_text("Not run on schedule.")
        assert scroll_width_px(page) <= 360  # nothing wider than the phone
