"""Campaigns in Chromium on a phone (360 px): the administrator types a segment and sees its audience counted as
they type (an unknown tier refused in its place), is refused a template error with its line beside the text,
creates the campaign, previews it for a member, is refused a time in the past, schedules it, and finds it listed
with its counts."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from coalition.adapters.storage import tables as t
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator


def _prepare(database_url: str) -> tuple[int, int]:
    """Campaign e-mail turned on for the demo network; a demo member's id and how many personal members it has."""
    found: list[tuple[int, int]] = []

    async def work() -> None:
        services = build_services(
            Settings(database_url=database_url, operator_token=None, public_url="http://127.0.0.1")
        )
        try:
            async with services.engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(t.cards.c.member_id, t.cards.c.network_id).where(t.cards.c.number == "10000001")
                    )
                ).one()
                personal = await connection.scalar(
                    select(func.count()).where(t.members.c.network_id == row.network_id, t.members.c.kind == "personal")
                )
            await services.customer_messages.set(row.network_id, {"enabled": {"campaign": ["email"]}})
            found.append((row.member_id, int(personal or 0)))
        finally:
            await services.close()

    worker = threading.Thread(target=lambda: asyncio.run(work()))
    worker.start()
    worker.join(timeout=120)  # a loaded CI host is slow to open the services
    assert not worker.is_alive(), "the set-up thread did not end within 120 s"
    assert found, "the set-up thread failed (its exception is printed above)"
    return found[0]


def test_a_campaign_counted_created_previewed_and_scheduled_on_a_phone(
    demo_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    url = f"sqlite:///{database}"
    with LiveServer(url) as server:
        member_id, personal = _prepare(url)
        sign_in_as_administrator(page, server, "/console/messages/campaigns")
        expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
        expect(page.locator("#audience")).to_have_text(f"{personal} members in this segment now")  # no condition yet

        page.get_by_label("Tier").fill("gold")
        expect(page.locator("#audience")).to_contain_text("unknown tier 'gold'")
        page.get_by_label("Tier").fill("")
        page.get_by_label("Lifetime spend from (RUB)").fill("0")
        expect(page.locator("#audience")).to_have_text(f"{personal} members in this segment now")
        page.get_by_label("Lifetime spend from (RUB)").fill("100000000")
        expect(page.locator("#audience")).to_have_text("0 members in this segment now")
        page.get_by_label("Lifetime spend from (RUB)").fill("")
        page.get_by_role("button", name="Count the audience").click()  # without scripts: the same count, by the form
        expect(page.locator("#audience")).to_have_text(f"{personal} members in this segment now")

        page.get_by_label("Name", exact=True).fill("Winter offer")
        page.get_by_label("Subject (e-mail)").fill("Hello {{ member_name }}")
        page.get_by_label("Text", exact=True).fill("Double points this week!\n{{ gift_name }}")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#body-error")).to_contain_text("line 2: unknown variable 'gift_name'")
        expect(page.get_by_label("Text", exact=True)).to_have_attribute("aria-invalid", "true")
        page.get_by_label("Text", exact=True).fill("{{ member_name }}, double points this week!")
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("status")).to_have_text("The campaign was created.")
        expect(page.locator("#campaign-status")).to_have_text("draft")
        assert scroll_width_px(page) <= 360

        page.get_by_label("Preview for member number").fill(str(member_id))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#preview")).to_contain_text(", double points this week!")

        page.get_by_label("Send at (your local time)").fill("2020-01-01T10:00")
        page.get_by_role("button", name="Schedule").click()
        expect(page.locator("#scheduled_at-error")).to_contain_text("the time to send is in the past")
        page.get_by_label("Send at (your local time)").fill("2099-01-01T10:00")
        page.get_by_role("button", name="Schedule").click()
        expect(page.get_by_role("status")).to_have_text("The campaign was scheduled.")
        expect(page.locator("#campaign-status")).to_have_text("scheduled")

        page.get_by_role("link", name="All campaigns").click()
        row = page.locator("#campaign-list tbody tr").first
        expect(row).to_contain_text("Winter offer")
        expect(row).to_contain_text("scheduled")
        assert scroll_width_px(page) <= 360
