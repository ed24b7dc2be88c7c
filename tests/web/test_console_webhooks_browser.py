"""Webhooks in the console in Chromium on a phone (360 px) over the demo network (issue 16): an ftp:// URL is refused
naming the field; a URL subscribed shows its secret once; an enrolment at the till is delivered to a real local
receiver; the subscription's page shows the delivery with its response code, sends it again, pauses and resumes
it, rotates its secret (shown once) and deletes it only once the confirmation is ticked. Nothing scrolls sideways,
even with a long URL."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from playwright.sync_api import Browser, Page, expect

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client
from coalition.demo import OUTLETS
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.web.conftest import PHONE, LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator
from tests.webhook_receiver import receiver


async def _deliver(database_url: str) -> int:
    services = build_services(Settings(database_url=database_url, operator_token="", public_url="http://testserver"))
    try:
        async with http_client(5.0) as http:
            return await services.outbox(HttpxPoster(http)).run_once("browser-test")
    finally:
        await services.close()


def _fits(page: Page) -> None:
    width = scroll_width_px(page)
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"


def test_a_webhook_subscribed_in_the_console_gets_an_enrolment(live_server: LiveServer, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    try:
        with receiver() as endpoint:
            sign_in_as_administrator(page, live_server, "/console/webhooks")
            expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
            page.get_by_label("URL", exact=True).fill("ftp://hooks.example/x")
            page.get_by_role("checkbox", name="member.enrolled").check()
            page.get_by_role("button", name="Subscribe", exact=True).click()
            expect(page.get_by_role("alert")).to_have_text("a webhook URL starts with http:// or https://")
            expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")

            long_url = endpoint.url + "?" + "tenant=" + "x" * 300
            page.get_by_label("URL", exact=True).fill(long_url)
            page.get_by_role("button", name="Subscribe", exact=True).click()
            expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
            _fits(page)

            enrolled = httpx.post(
                f"{live_server.url}/v1/members",
                json={"kind": "anonymous", "card_number": "7300-0001"},
                headers={"Authorization": f"Bearer {OUTLETS[0].terminal_key}", "Idempotency-Key": "browser-hook-1"},
            )
            assert enrolled.status_code == 201, enrolled.text
            with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
                assert pool.submit(asyncio.run, _deliver(live_server.database_url)).result() == 1
            assert len(endpoint.requests) == 1

            page.goto(f"{live_server.url}/console/webhooks")
            page.get_by_role("link", name=long_url).click()
            deliveries = page.locator("#deliveries li")
            expect(deliveries).to_have_count(1)
            expect(deliveries).to_contain_text("member.enrolled")
            expect(deliveries).to_contain_text("delivered")
            expect(deliveries).to_contain_text("HTTP 200")
            _fits(page)
            page.get_by_role("button", name="Send again").click()
            expect(page.get_by_role("status")).to_have_text(
                "The delivery is queued again: it is sent with the same Coalition-Webhook-Id."
            )
            expect(deliveries).to_contain_text("to be retried")
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(asyncio.run, _deliver(live_server.database_url)).result() == 1
            ids = [request.headers["Coalition-Webhook-Id"] for request in endpoint.requests]
            assert len(ids) == 2 and ids[0] == ids[1]
            page.get_by_role("button", name="Pause").click()
            expect(page.get_by_role("status")).to_have_text(
                "The webhook is paused: its events wait for it (3 days at most) until it is resumed."
            )
            page.get_by_role("button", name="Resume").click()
            expect(page.get_by_role("status")).to_have_text(
                "The webhook is resumed: the events that waited are sent to it, then new ones."
            )
            _fits(page)

            hook_page = page.url.split("?")[0]
            page.get_by_role("button", name="Rotate the secret").click()
            expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(re.compile(r"^whsec_"))
            _fits(page)
            page.goto(hook_page)  # shown once: not on the page again
            expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)

            page.get_by_role("button", name="Delete", exact=True).click()  # not ticked: the browser stops it
            expect(page.get_by_role("heading", name="Delete this webhook")).to_be_visible()
            assert page.url == hook_page
            page.get_by_role("checkbox", name=re.compile("Yes, delete it")).check()
            _fits(page)
            page.get_by_role("button", name="Delete", exact=True).click()
            expect(page.get_by_role("status")).to_have_text("The webhook is deleted: nothing more is sent to it.")
            expect(page.locator("#webhooks")).not_to_contain_text("tenant=")
    finally:
        context.close()
