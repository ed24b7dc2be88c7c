"""Message templates and the unsubscribe page in Chromium on a phone (360 px): the administrator opens the thank-you
SMS in Russian, sees an unknown variable refused with its line beside the text, previews a fixed text for a member of
the demo, saves it; a customer opens the unsubscribe link of an e-mail without signing in and unsubscribes; both
pages fit the phone's width."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from coalition.adapters.storage import tables as t
from coalition.domain.messages import Channel, MessageKind
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator


def _in_thread(database_url: str, public_url: str) -> tuple[int, str]:
    """A demo member's id and their unsubscribe link (Playwright's sync API holds this thread's event loop)."""
    found: list[tuple[int, str]] = []

    async def work() -> None:
        services = build_services(Settings(database_url=database_url, operator_token=None, public_url=public_url))
        try:
            async with services.engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(t.cards.c.member_id, t.cards.c.network_id).where(t.cards.c.number == "10000001")
                    )
                ).one()
            link = await services.unsubscribes.link(row.network_id, row.member_id, MessageKind.THANK_YOU, Channel.EMAIL)
            found.append((row.member_id, link))
        finally:
            await services.close()

    worker = threading.Thread(target=lambda: asyncio.run(work()))
    worker.start()
    worker.join(timeout=120)  # a loaded CI host is slow to open the services
    assert not worker.is_alive(), "the set-up thread did not end within 120 s"
    assert found, "the set-up thread failed (its exception is printed above)"
    return found[0]


def test_a_template_edited_previewed_and_saved_and_an_unsubscribe_on_a_phone(
    demo_template: Path, tmp_path: Path, page: Page
) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    url = f"sqlite:///{database}"
    with LiveServer(url) as server:
        member_id, link = _in_thread(url, server.url)
        sign_in_as_administrator(page, server, "/console/messages/templates")
        expect(page.get_by_role("heading", name="Message templates")).to_be_visible()
        assert scroll_width_px(page) <= 360
        page.locator('a[href="/console/messages/templates/thank_you/sms/ru"]').click()
        expect(page.get_by_label("Text")).to_contain_text("Ваш баланс")

        page.get_by_label("Text").fill("{{ member_name }}, спасибо!\nБаланс: {{ balanse }}")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#body-error")).to_contain_text("line 2: unknown variable 'balanse'")
        expect(page.get_by_label("Text")).to_have_attribute("aria-invalid", "true")

        page.get_by_label("Text").fill("{{ member_name }}, спасибо! Баланс: {{ balance }}")
        page.get_by_label("Preview for member number").fill(str(member_id))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#preview")).to_contain_text(", спасибо! Баланс: ")
        expect(page.locator("#preview")).not_to_contain_text("Anna")  # the member's own name, not the sample's
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("The template was saved.")
        assert scroll_width_px(page) <= 360

        page.context.clear_cookies()  # the customer is not signed in
        page.goto(link)
        expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
        expect(page.locator("main")).to_contain_text("thank-you messages after a purchase by e-mail")
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.locator("#unsubscribed")).to_contain_text("you will no longer receive")
        assert scroll_width_px(page) <= 360
        page.goto(link)
        expect(page.locator("#unsubscribed")).to_contain_text("already unsubscribed")
        page.goto(link[:-4] + "AAAA")
        expect(page.get_by_role("heading", name="Page not found").or_(page.locator("h1"))).to_be_visible()
