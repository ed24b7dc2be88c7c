"""Accessibility of the pages in Chromium: language, labels, names, one h1, text contrast (WCAG AA 4.5:1), and the
sign-in forms worked by keyboard alone.

The checks run in the page (a11y.js). To cover a new page add a row to PAGES (and to SIGN_IN_FORMS for a sign-in
form); roles sign in as in tests/web/screenshots.py.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from playwright.sync_api import Browser, Page, expect

from coalition.demo import DEMO_ADMIN_PASSWORD, OUTLETS
from tests.web.conftest import PHONE, LiveServer
from tests.web.member_support import member_with_history
from tests.web.screenshots import (
    DESKTOP,
    MEMBER_CARD,
    MEMBER_EMAIL,
    MEMBER_PIN,
    REGISTRATION,
    SIGN_IN,
    give_the_member_a_pin,
)

CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")


class Checked(NamedTuple):
    role: str  # a key of screenshots.SIGN_IN ("anyone": nobody signed in)
    path: str
    viewport: dict[str, int]


PAGES = (
    Checked("anyone", "/terminal/login", PHONE),
    Checked("anyone", "/console/login", DESKTOP),
    Checked("anyone", "/console/register", PHONE),
    Checked("anyone", "/me/login", PHONE),
    Checked("anyone", "/me/login?lang=ru", PHONE),
    Checked("cashier", "/terminal", PHONE),
    Checked("administrator", "/console", DESKTOP),
    Checked("owner", "/console", PHONE),
    *(
        Checked("administrator", f"/console/{section}", DESKTOP)
        for section in (
            "partners",
            "terminals",
            "members",
            "rules",
            "gifts",
            "permissions",
            "statements",
            "settlement",
            "audit",
        )
    ),
    Checked("administrator", "/console/audit", PHONE),
    Checked("administrator", "/console/rules/editor", PHONE),
    Checked("administrator", "/console/messages/settings", PHONE),
    Checked("owner", "/console/statements", PHONE),
    *(Checked("owner", f"/console/{section}", PHONE) for section in ("outlets", "cashiers", "reports")),
    Checked("owner", "/console/reports?measure=points-issued", DESKTOP),
    Checked("member", "/me", PHONE),
    Checked("member", "/me?lang=ru", PHONE),
    Checked("administrator", "/console/join", DESKTOP),
    Checked("anyone", "/me/n/demo", PHONE),
)


class SignInForm(NamedTuple):
    path: str
    fields: tuple[tuple[str, str], ...]  # (element id, what to type), in the order Tab must reach them
    submit: str  # the accessible name of the button Tab reaches after the fields
    landing: str  # where Enter in the last field leads


SIGN_IN_FORMS = (
    SignInForm(
        "/terminal/login",
        (("outlet", "1"), ("login", OUTLETS[0].cashier_login), ("password", OUTLETS[0].cashier_password)),
        "Sign in",
        "/terminal",
    ),
    SignInForm(
        "/console/login",
        (("network", "demo"), ("login", "admin"), ("password", DEMO_ADMIN_PASSWORD)),
        "Sign in",
        "/console",
    ),
    SignInForm("/me/login", (("card", MEMBER_CARD), ("pin", MEMBER_PIN)), "Sign in with the PIN", "/me"),
)


def _in_a_thread(job: Callable[[], None]) -> None:
    """Storage set-up with asyncio, away from the thread where Playwright's sync API keeps its own loop."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            job()
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


@pytest.fixture()
def server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo (with registration open) and the member of the screenshots: a purchase, a gift, a visit, a PIN."""
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    with LiveServer(f"sqlite:///{database}", open_registration=True) as live:
        member_with_history(live.url, MEMBER_CARD, MEMBER_EMAIL)
        _in_a_thread(lambda: give_the_member_a_pin(live.database_url))
        yield live


def _signed_in_page(browser: Browser, url: str, role: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    SIGN_IN[role](page, url)
    return page


@pytest.mark.parametrize("checked", PAGES, ids=[f"{row.role}:{row.path}" for row in PAGES])
def test_the_page_has_labels_names_one_heading_and_enough_contrast(
    server: LiveServer, browser: Browser, checked: Checked
) -> None:
    page = _signed_in_page(browser, server.url, checked.role, checked.viewport)
    try:
        response = page.goto(server.url + checked.path)
        assert response is not None and response.status == 200
        assert page.evaluate(CHECKS) == []
    finally:
        page.context.close()


@pytest.mark.parametrize("form", SIGN_IN_FORMS, ids=[form.path for form in SIGN_IN_FORMS])
def test_the_sign_in_form_works_from_the_keyboard_alone(server: LiveServer, page: Page, form: SignInForm) -> None:
    page.goto(server.url + form.path)
    reached: list[str] = []
    wanted = [field_id for field_id, _ in form.fields] + [f"button:{form.submit}"]
    for _ in range(15):  # the skip link and the language switch come first
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement; if (!el || !el.closest('form[method=post]')) return null;"
            " return el.tagName === 'BUTTON' ? 'button:' + el.textContent.trim() : el.id; }"
        )
        if focused:
            reached.append(focused)
        if len(reached) == len(wanted):
            break
    assert reached == wanted

    # again from the start, typing into each field as Tab reaches it, and Enter in the last one signs in
    page.goto(server.url + form.path)
    values = dict(form.fields)
    last = form.fields[-1][0]
    for _ in range(15):
        page.keyboard.press("Tab")
        field_id = page.evaluate("() => document.activeElement && document.activeElement.id")
        if field_id in values:
            page.keyboard.type(values[field_id])
            if field_id == last:
                break
    page.keyboard.press("Enter")
    expect(page).to_have_url(server.url + form.landing)


def test_the_contrast_check_catches_pale_text(live_server: LiveServer, page: Page) -> None:
    """The check itself can fail: pale grey on white is reported, and so is an unlabelled field."""
    page.goto(live_server.url + "/me/login")
    page.evaluate(
        "() => { document.querySelector('.hint').style.color = '#bbbbbb';"
        " document.querySelector('label[for=card]').remove(); }"
    )
    problems = page.evaluate(CHECKS)
    assert any("contrast" in problem and "below 4.5:1" in problem for problem in problems), problems
    assert any("#card" in problem and "has no label" in problem for problem in problems), problems


def test_the_sign_up_pages_pass_the_same_checks(server: LiveServer, browser: Browser) -> None:
    """Pages made by a form: a registered shop's keys and start sheet, and a customer's join form and new card."""
    owner = _signed_in_page(browser, server.url, "anyone", PHONE)
    customer = _signed_in_page(browser, server.url, "anyone", PHONE)
    admin = _signed_in_page(browser, server.url, "administrator", DESKTOP)
    try:
        owner.goto(server.url + "/console/register")
        for label, value in REGISTRATION.items():
            owner.get_by_label(label, exact=True).fill(value)
        owner.get_by_role("button", name="Register").click()
        expect(owner.get_by_role("heading", name="Your shop is ready")).to_be_visible()
        owner.wait_for_load_state("load")  # checked once the stylesheets apply
        assert owner.evaluate(CHECKS) == []
        admin.goto(server.url + "/console/join")
        admin.get_by_label("Customers may sign themselves up by the QR code").check()
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_role("status")).to_contain_text("Sign-up is on")
        customer.goto(server.url + "/join/demo")
        customer.wait_for_load_state("load")  # checked once the stylesheets apply
        assert customer.evaluate(CHECKS) == []
        customer.get_by_label("Your name").fill("Anna Berzina")
        customer.get_by_label("Phone", exact=True).fill("+7 900 555 0101")
        customer.get_by_label("I agree to the processing of my data").check()
        customer.get_by_role("button", name="Get my card").click()
        expect(customer.get_by_role("heading", name="Welcome, Anna Berzina!")).to_be_visible()
        customer.wait_for_load_state("load")  # checked once the stylesheets apply
        assert customer.evaluate(CHECKS) == []
    finally:
        for page in (owner, customer, admin):
            page.context.close()
