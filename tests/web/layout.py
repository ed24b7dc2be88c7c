"""Measuring a page's layout in Chromium, after its stylesheets apply.

A check made as soon as a heading is visible can run before the page's stylesheets have loaded (Playwright reads the
layout without waiting for them, a user never sees it): an unstyled page with a long key is wider than a phone. So
every width is read once the page has loaded.
"""

from __future__ import annotations

from playwright.sync_api import Page


def scroll_width_px(page: Page) -> int:
    """The page's full width in CSS pixels once its stylesheets apply (wider than the viewport: it scrolls sideways)."""
    page.wait_for_load_state("load")
    return int(page.evaluate("document.documentElement.scrollWidth"))


def viewport_width_px(page: Page) -> int:
    return int(page.evaluate("window.innerWidth"))
