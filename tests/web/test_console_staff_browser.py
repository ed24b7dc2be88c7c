"""The owner manages cashiers in Chromium on a phone-sized screen: a password reset or a block signs a cashier who is
signed in on another device out at once, and bad input is shown beside its field."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from coalition.demo import OUTLETS
from tests.web.conftest import PHONE, LiveServer

SHOP = OUTLETS[0]  # the Corner Shop: outlet 1, cashier anna, owner shop-owner


def sign_in_owner(page: Page, url: str, login: str = SHOP.owner_login, password: str = SHOP.owner_password) -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/console")


def sign_in_cashier(page: Page, url: str, password: str = SHOP.cashier_password) -> None:
    page.goto(f"{url}/terminal/login")
    page.get_by_label("Outlet number").fill("1")
    page.get_by_label("Cashier login").fill(SHOP.cashier_login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_anna(page: Page, url: str) -> None:
    page.goto(f"{url}/console/cashiers")
    page.get_by_role("link", name=f"Manage {SHOP.cashier_login}").click()
    expect(page.get_by_role("heading", name="Anna", exact=True)).to_be_visible()


def test_a_password_reset_by_the_owner_signs_the_cashier_out(live_server: LiveServer, browser: Browser) -> None:
    till = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    owner = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    sign_in_cashier(till, live_server.url)
    expect(till).to_have_url(f"{live_server.url}/terminal")

    sign_in_owner(owner, live_server.url)
    open_anna(owner, live_server.url)
    owner.get_by_label("New password").fill("anna-new-pass-2")
    owner.get_by_role("button", name="Reset the password").click()
    expect(owner.get_by_role("status")).to_have_text("The password was changed; the cashier was signed out everywhere.")

    till.reload()
    expect(till).to_have_url(f"{live_server.url}/terminal/login?next=/terminal")
    expect(till.get_by_role("heading", name="Cashier sign-in")).to_be_visible()
    sign_in_cashier(till, live_server.url)  # the old password no longer works
    expect(till.get_by_role("alert")).to_have_text("the login or the password is wrong")
    sign_in_cashier(till, live_server.url, "anna-new-pass-2")
    expect(till).to_have_url(f"{live_server.url}/terminal")


def test_blocking_signs_the_cashier_out_and_unblocking_lets_them_in(live_server: LiveServer, browser: Browser) -> None:
    till = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    owner = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    sign_in_cashier(till, live_server.url)
    expect(till).to_have_url(f"{live_server.url}/terminal")

    sign_in_owner(owner, live_server.url)
    open_anna(owner, live_server.url)
    owner.get_by_role("button", name="Block the cashier").click()
    expect(owner.get_by_role("status")).to_have_text("The cashier was blocked and signed out everywhere.")
    owner.goto(f"{live_server.url}/console/cashiers")
    expect(owner.get_by_role("row", name=re.compile(r"anna.*Blocked"))).to_be_visible()

    till.reload()
    expect(till).to_have_url(f"{live_server.url}/terminal/login?next=/terminal")
    sign_in_cashier(till, live_server.url)
    expect(till.get_by_role("alert")).to_have_text("the login or the password is wrong")

    open_anna(owner, live_server.url)
    owner.get_by_role("button", name="Unblock the cashier").click()
    expect(owner.get_by_role("status")).to_have_text("The cashier can sign in again.")
    sign_in_cashier(till, live_server.url)
    expect(till).to_have_url(f"{live_server.url}/terminal")


def test_bad_input_when_adding_a_cashier_is_shown_beside_its_field(live_server: LiveServer, page: Page) -> None:
    sign_in_owner(page, live_server.url)
    page.get_by_role("link", name="Cashiers", exact=True).click()
    expect(page.get_by_role("heading", name="Cashiers", level=1)).to_be_visible()
    # the owner's only outlet is chosen already; another partner's outlets are not offered
    expect(page.get_by_label("Outlet")).to_have_value("1")
    expect(page.get_by_label("Outlet").locator("option")).to_have_count(1)
    page.get_by_label("Login").fill("new cashier")
    page.get_by_label("Name").fill("Nina")
    page.get_by_label("Password").fill("nina-pass-1")
    page.get_by_role("button", name="Add the cashier").click()
    login = page.get_by_label("Login")
    expect(login).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#login-error")).to_have_text("a login has 2–100 letters, digits, dots, hyphens or underscores")
    expect(login).to_have_value("new cashier")
    expect(page.get_by_label("Name")).to_have_value("Nina")

    login.fill("nina")
    page.get_by_label("Password").fill("123")
    page.get_by_role("button", name="Add the cashier").click()
    expect(page.locator("#password-error")).to_have_text("a password has at least 6 characters")

    page.get_by_label("Password").fill("nina-pass-1")
    page.get_by_role("button", name="Add the cashier").click()
    expect(page.get_by_role("status")).to_contain_text("The cashier was added.")
    expect(page.get_by_role("row", name=re.compile(r"nina\s+Nina\s+Active"))).to_be_visible()
