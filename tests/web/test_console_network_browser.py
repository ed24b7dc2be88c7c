"""The administrator's network pages in Chromium over the demo network, on a phone and on a desktop: a terminal
created, its key used once through the API and revoked; the permissions matrix edited and an operation refused;
a partner and its owner's login created, and the owner signing in."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import OUTLETS
from tests.web.conftest import LiveServer
from tests.web.test_console_members_browser import purchase, screen, sign_in_as_administrator

__all__ = ["screen"]  # the phone and desktop pages fixture


def member(server: LiveServer, key: str, identifier: str) -> httpx.Response:
    return httpx.get(f"{server.url}/v1/members/{identifier}", headers={"Authorization": f"Bearer {key}"})


def test_a_new_terminal_key_is_shown_once_works_and_stops_when_revoked(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/terminals")
    screen.get_by_label("Outlet").select_option(label="Café counter — Blue Cup Café")
    screen.get_by_label("Terminal's name").fill("Self-service kiosk")
    screen.get_by_role("button", name="Create the terminal and its key").click()
    expect(screen.get_by_role("heading", name="Terminal “Self-service kiosk” created")).to_be_visible()
    expect(screen.get_by_role("alert")).to_contain_text("Copy the key now: it is shown only once")
    key = screen.get_by_label("The terminal's key").input_value()
    assert key.startswith("term_") and len(key) > 30
    answer = member(live_server, key, "1000-0001")
    assert answer.status_code == 200 and answer.json()["member"]["name"] == "Irina Petrova"
    row = screen.get_by_role("row", name="Self-service kiosk")
    expect(row).to_contain_text(key[:12])
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke Self-service kiosk").click()
    expect(screen.get_by_role("status")).to_have_text("The terminal was revoked: its key no longer works.")
    expect(screen.get_by_role("row", name="Self-service kiosk")).to_contain_text("revoked")
    expect(screen.get_by_label("The terminal's key")).to_have_count(0)  # never shown again
    assert member(live_server, key, "1000-0001").status_code == 401
    assert member(live_server, OUTLETS[1].terminal_key, "1000-0001").status_code == 200


def test_the_permissions_matrix_edited_refuses_an_operation(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/permissions")
    expect(screen.get_by_text("No matrix is set: every outlet may do everything.")).to_be_visible()
    for outlet in ("Corner Shop till", "Café counter", "Ticket office"):
        screen.get_by_label(f"{outlet}: accrue Points").check()
    screen.get_by_label("Corner Shop till: spend Points").check()
    screen.get_by_role("button", name="Save the matrix").click()
    expect(screen.get_by_role("status")).to_have_text("The permissions matrix was saved.")
    expect(screen.get_by_label("Corner Shop till: spend Points")).to_be_checked()
    expect(screen.get_by_label("Café counter: spend Points")).not_to_be_checked()
    cafe = {"Authorization": f"Bearer {OUTLETS[1].terminal_key}", "Idempotency-Key": "cafe-spend"}
    body = {"customer": "1000-0003", "amount": "2000.00", "receipt": "cafe-spend", "redeem_points": 100}
    refused = httpx.post(f"{live_server.url}/v1/purchases", json=body, headers=cafe)
    assert refused.status_code == 403 and "may not spend points" in refused.json()["detail"]
    assert purchase(live_server, "1000-0003", "2000.00", "shop-earns").status_code == 201


def test_a_partner_and_its_owners_login_then_the_owner_signs_in(live_server: LiveServer, screen: Page) -> None:
    sign_in_as_administrator(screen, live_server, "/console/partners")
    screen.get_by_label("Partner's name").fill("Sunny Bakery")
    screen.get_by_role("button", name="Add the partner").click()
    expect(screen.get_by_role("status")).to_have_text("The partner was added.")
    bakery = screen.get_by_role("region", name="Sunny Bakery")
    bakery.get_by_label("Statement e-mail").fill("accounts@bakery.example")
    bakery.get_by_role("button", name="Save the e-mail").click()
    expect(screen.get_by_role("status")).to_have_text("The statement e-mail was saved.")
    expect(bakery.get_by_label("Statement e-mail")).to_have_value("accounts@bakery.example")
    bakery.get_by_text("Add an owner's login").click()
    bakery.get_by_label("Login").fill("baker")
    bakery.get_by_label("Name").fill("Bakery owner")
    bakery.get_by_label("Password").fill("short")
    bakery.get_by_role("button", name="Create the owner's login").click()
    expect(bakery.get_by_role("alert")).to_contain_text("a password has at least")
    expect(bakery.get_by_label("Login")).to_have_value("baker")
    bakery.get_by_label("Password").fill("baker-secret-1")
    bakery.get_by_role("button", name="Create the owner's login").click()
    expect(screen.get_by_role("status")).to_have_text("The owner's login was created; they can sign in now.")
    expect(bakery.get_by_role("row", name="baker")).to_contain_text("active")
    screen.get_by_role("button", name="Sign out").click()
    screen.goto(f"{live_server.url}/console/login")
    screen.get_by_label("Network code").fill("demo")
    screen.get_by_label("Login").fill("baker")
    screen.get_by_label("Password").fill("baker-secret-1")
    screen.get_by_role("button", name="Sign in").click()
    expect(screen.get_by_text("Signed in as Bakery owner.")).to_be_visible()
    expect(screen.get_by_role("link", name="Partners")).to_have_count(0)
    screen.goto(f"{live_server.url}/console/partners")
    expect(screen.get_by_text("this page is for the administrator")).to_be_visible()
