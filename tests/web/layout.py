"""Measuring a page's layout in Chromium, after its stylesheets apply.

A check made as soon as a heading is visible can run before the page's stylesheets have loaded (Playwright reads the
layout without waiting for them, a user never sees it): an unstyled page with a long key is wider than a phone, an
unstyled button shorter than a thumb, and an unstyled text's colours are not the page's. So every size, box and
style-dependent check is read once the page has loaded.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import FloatRect, Locator, Page


def scroll_width_px(page: Page) -> int:
    """The page's full width in CSS pixels once its stylesheets apply (wider than the viewport: it scrolls sideways)."""
    page.wait_for_load_state("load")
    return int(page.evaluate("document.documentElement.scrollWidth"))


def viewport_width_px(page: Page) -> int:
    return int(page.evaluate("window.innerWidth"))


def box_px(locator: Locator) -> FloatRect | None:
    """An element's box in CSS pixels once the page's stylesheets apply (an unstyled button is shorter than a thumb)."""
    locator.page.wait_for_load_state("load")
    return locator.bounding_box()


def styled_evaluate(page: Page, script: str) -> Any:
    """`script`'s answer once the page's stylesheets apply: checks that read colours, sizes or what is visible
    (tests/web/a11y.js) would otherwise judge the unstyled page a user never sees."""
    page.wait_for_load_state("load")
    return page.evaluate(script)
