"""Signing in to the terminal and the console in Chromium on a phone-sized screen, and signing out."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, OUTLETS
from tests.web.conftest import LiveServer


def test_a_cashier_signs_in_to_the_terminal_and_out_again(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/terminal")
    expect(page).to_have_url(f"{live_server.url}/terminal/login?next=/terminal")
    page.get_by_label("Outlet number").fill("1")
    page.get_by_label("Cashier login").fill(OUTLETS[0].cashier_login)
    page.get_by_label("Password").fill(OUTLETS[0].cashier_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/terminal")
    expect(page.get_by_text("Anna", exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/terminal/login")
    page.goto(f"{live_server.url}/terminal")
    expect(page.get_by_role("heading", name="Cashier sign-in")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_message_and_the_form_kept(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/terminal/login")
    page.get_by_label("Outlet number").fill("1")
    page.get_by_label("Cashier login").fill("anna")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("the login or the password is wrong")
    expect(page.get_by_label("Cashier login")).to_have_value("anna")


def test_the_administrator_signs_in_to_the_console(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("Network code").fill("demo")
    page.get_by_label("Login").fill(DEMO_ADMIN_LOGIN)
    page.get_by_label("Password").fill(DEMO_ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/console")
    expect(page.get_by_text("Network admin", exact=True)).to_be_visible()
