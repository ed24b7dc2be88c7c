"""`make screenshots`: the main screens as PNGs in docs/screenshots/, so a newcomer sees the product.

Starts the whole application over a fresh demo database on a free port, signs in as each role in Debian's Chromium
and saves each screen of SCREENS: phones for the terminal and the member's page, a desktop for the console. To add
a screen, add a row to SCREENS (and, for a new role, a function to SIGN_IN); README.md is written from the table.
`python -m tests.web.screenshots NAME...` shoots only the named screens, in the table's order (name those whose steps
make the state a later one needs, such as console-join before join).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from coalition.adapters.storage import migrate
from coalition.demo import DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD, OUTLETS, load_demo
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.web.member_support import member_with_history

OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi
MEMBER_CARD, MEMBER_EMAIL, MEMBER_PIN = "7700-0001", "olga@mail.example", "4682"


@dataclass(frozen=True)
class Screen:
    name: str  # the PNG's file name, without .png
    role: str  # a key of SIGN_IN: who is signed in first ("anyone": nobody)
    path: str
    viewport: dict[str, int]
    caption: str
    steps: Callable[[Page], None] | None = None  # what the person does on the page before the picture


def _find_customer(page: Page) -> None:
    page.get_by_label("Card number or phone").fill("1000-0002")
    page.get_by_role("button", name="Find the customer").click()
    expect(page.get_by_label("Amount of the check")).to_be_visible()


def _enter_amount(page: Page) -> None:
    _find_customer(page)
    page.get_by_label("Amount of the check").fill("2000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Or type the points to use")).to_be_visible()


def _use_points(page: Page) -> None:
    _enter_amount(page)
    page.get_by_label("Or type the points to use").fill("300")
    page.get_by_role("button", name="Use these points").click()
    expect(page.get_by_role("heading", name="Collect from the customer")).to_be_visible()


def _save_program(page: Page) -> None:
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("#program-yaml")).to_be_visible()


def _reopen_the_draft(page: Page) -> None:
    page.get_by_role("group", name="Tier 1").get_by_label("Points, % of the check").fill("4")
    page.get_by_label("Welcome bonus, points").fill("100")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("#program-yaml")).to_be_visible()
    page.goto(page.url)  # opened again: the draft's form
    expect(page.locator("#editor-start")).to_contain_text("The form shows the draft")


def _confirm(page: Page) -> None:
    _use_points(page)
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.get_by_role("heading", name="Purchase saved")).to_be_visible()


def _sign_up_on(page: Page) -> None:
    page.get_by_label("Customers may sign themselves up by the QR code").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Sign-up is on")


def _join(page: Page) -> None:
    page.get_by_label("Your name").fill("Anna Berzina")
    page.get_by_label("Phone", exact=True).fill("+7 900 555 0101")
    page.get_by_label("I agree to the processing of my data").check()
    page.get_by_role("button", name="Get my card").click()
    expect(page.get_by_role("heading", name="Welcome, Anna Berzina!")).to_be_visible()


def _card_codes(page: Page) -> None:
    page.locator("#card-codes-title").scroll_into_view_if_needed()


REGISTRATION = {
    "Shop name": "Pine Bakery",
    "Network code": "pine-bakery",
    "Currency": "EUR",
    "Time zone": "Europe/Riga",
    "Your name": "Liga",
    "Login": "liga",
    "Password": "liga-secret-1",
    "Cashier login": "toms",
    "Cashier password": "toms-secret-1",
}


def _register(page: Page, code: str = "pine-bakery") -> None:
    for label, value in (REGISTRATION | {"Network code": code}).items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Your shop is ready")).to_be_visible()


def _register_and_print(page: Page) -> None:
    _register(page, "pine-bakery-2")
    page.emulate_media(media="print")


SCREENS = (
    Screen("terminal-sign-in", "anyone", "/terminal/login", PHONE, "The cashier's sign-in on a phone"),
    Screen("terminal", "cashier", "/terminal", PHONE, "1. The cashier's terminal: the customer's card"),
    Screen("terminal-member", "cashier", "/terminal", PHONE, "2. The balance shown; the amount", _find_customer),
    Screen("terminal-points", "cashier", "/terminal", PHONE, "3. The most points the rules allow", _enter_amount),
    Screen("terminal-collect", "cashier", "/terminal", PHONE, "4. The amount to collect", _use_points),
    Screen("terminal-receipt", "cashier", "/terminal", PHONE, "5. Confirmed: the receipt", _confirm),
    Screen("terminal-today", "cashier", "/terminal/today", PHONE, "The cashier's own purchases today"),
    Screen("terminal-enrol", "cashier", "/terminal/enrol", PHONE, "Enrol a customer and issue a card"),
    Screen("console-sign-in", "anyone", "/console/login", DESKTOP, "The console's sign-in"),
    Screen("console-register", "anyone", "/console/register", PHONE, "A small shop registers itself (when open)"),
    Screen("console-administrator", "administrator", "/console", DESKTOP, "The administrator's console"),
    Screen("console-owner", "owner", "/console", DESKTOP, "A partner owner's console"),
    Screen(
        "console-reports", "owner", "/console/reports", DESKTOP, "A day's report per outlet and cashier, with charts"
    ),
    Screen("console-outlets", "administrator", "/console/outlets", DESKTOP, "Outlets and their numbers"),
    Screen("console-cashiers", "owner", "/console/cashiers", DESKTOP, "Cashiers: create, block, reset a password"),
    Screen("console-partners", "administrator", "/console/partners", DESKTOP, "Partners and their owners"),
    Screen("console-terminals", "administrator", "/console/terminals", DESKTOP, "Terminals and devices"),
    Screen("console-members", "administrator", "/console/members", DESKTOP, "Members and cards"),
    Screen("console-rules", "administrator", "/console/rules", DESKTOP, "The rule set: draft, conflicts, history"),
    Screen(
        "console-program-editor",
        "administrator",
        "/console/rules/editor",
        PHONE,
        "The program editor on a phone: the brief's bonus tiers saved as the draft, its YAML shown",
        _save_program,
    ),
    Screen(
        "console-program-editor-draft",
        "administrator",
        "/console/rules/editor",
        PHONE,
        "The program editor opened again: the draft's form as saved (4 % in tier 1, a welcome bonus), not the example",
        _reopen_the_draft,
    ),
    Screen("console-gifts", "administrator", "/console/gifts", DESKTOP, "The gift catalogue"),
    Screen("console-permissions", "administrator", "/console/permissions", DESKTOP, "The permissions matrix"),
    Screen("console-settlement", "administrator", "/console/settlement", DESKTOP, "Periods and settlement"),
    Screen("console-audit", "administrator", "/console/audit", DESKTOP, "The audit log: who changed what, and how"),
    Screen("console-statements", "owner", "/console/statements", DESKTOP, "A partner's settlement statements"),
    Screen(
        "member-sign-in", "anyone", "/me/login", PHONE, "The member's sign-in: card number and PIN or e-mailed code"
    ),
    Screen("member", "member", "/me", PHONE, "The member's page: points, expiring lots, gifts, purchases, visits"),
    Screen("member-ru", "member", "/me?lang=ru", PHONE, "The member's page in Russian"),
    Screen("operator", "operator", "/operator", PHONE, "The operator's console: networks, plans, trials, suspension"),
    Screen(
        "console-join",
        "administrator",
        "/console/join",
        DESKTOP,
        "Customer sign-up: the counter's QR code",
        _sign_up_on,
    ),
    Screen("join", "anyone", "/join/demo", PHONE, "A customer's sign-up form, opened by the counter's QR code"),
    Screen("joined", "anyone", "/join/demo", PHONE, "The new card at once: its number, QR code and barcode", _join),
    Screen("member-card", "member", "/me", PHONE, "The member's card on the phone: QR code and barcode", _card_codes),
    # last: a second network on the server from here on
    Screen("console-registered", "anyone", "/console/register", PHONE, "A registered shop: keys, cashier", _register),
    Screen("start-sheet", "anyone", "/console/register", A4, "The start sheet as printed (A4)", _register_and_print),
)


def _fill_and_submit(page: Page, url: str, path: str, fields: dict[str, str], button: str, landing: str) -> None:
    page.goto(url + path)
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(url + landing)


def _cashier(page: Page, url: str) -> None:
    outlet = OUTLETS[0]
    fields = {"Outlet number": "1", "Cashier login": outlet.cashier_login, "Password": outlet.cashier_password}
    _fill_and_submit(page, url, "/terminal/login", fields, "Sign in", "/terminal")


def _administrator(page: Page, url: str) -> None:
    fields = {"Network code": "demo", "Login": DEMO_ADMIN_LOGIN, "Password": DEMO_ADMIN_PASSWORD}
    _fill_and_submit(page, url, "/console/login", fields, "Sign in", "/console")


def _owner(page: Page, url: str) -> None:
    outlet = OUTLETS[0]
    fields = {"Network code": "demo", "Login": outlet.owner_login, "Password": outlet.owner_password}
    _fill_and_submit(page, url, "/console/login", fields, "Sign in", "/console")


def _operator(page: Page, url: str) -> None:
    _fill_and_submit(page, url, "/operator", {"Operator token": "operator-secret"}, "Sign in", "/operator")


def _member(page: Page, url: str) -> None:
    fields = {"Card number": MEMBER_CARD, "PIN": MEMBER_PIN}
    _fill_and_submit(page, url, "/me/login", fields, "Sign in with the PIN", "/me")


SIGN_IN: dict[str, Callable[[Page, str], None]] = {
    "anyone": lambda _page, _url: None,
    "cashier": _cashier,
    "administrator": _administrator,
    "owner": _owner,
    "member": _member,
    "operator": _operator,
}


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, operator_token="screenshots", public_url="http://127.0.0.1")


def demo_database(folder: Path) -> str:
    """A migrated SQLite database with the demo network, as `make run` makes it."""
    url = f"sqlite:///{folder / 'screenshots.db'}"
    migrate.upgrade(url)

    async def load() -> None:
        services = build_services(_settings(url))
        try:
            await load_demo(services)
        finally:
            await services.close()

    asyncio.run(load())
    return url


def give_the_member_a_pin(database_url: str) -> None:
    async def set_pin() -> None:
        services = build_services(_settings(database_url))
        try:
            network = await services.member_page.network("demo")
            member_id = (await services.pos.statement(network.id, MEMBER_CARD, limit=1)).member_id
            await services.member_page.set_pin(member_id, MEMBER_PIN, MEMBER_PIN)
        finally:
            await services.close()

    asyncio.run(set_pin())


def shoot(browser: Browser, url: str, screen: Screen) -> Path:
    context = browser.new_context(viewport=screen.viewport, locale="en-GB", device_scale_factor=1)
    try:
        page = context.new_page()
        SIGN_IN[screen.role](page, url)
        page.goto(url + screen.path)
        if screen.steps is not None:
            screen.steps(page)
        target = OUTPUT / f"{screen.name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target
    finally:
        context.close()


def write_readme() -> None:
    lines = [
        "# Screenshots",
        "",
        "The main screens over the demo network (`make run` loads the same), refreshed by `make screenshots`",
        "(tests/web/screenshots.py: add a screen to its `SCREENS` table).",
        "",
        "| screen | who | page | size |",
        "|---|---|---|---|",
    ]
    for screen in SCREENS:
        size = f"{screen.viewport['width']}×{screen.viewport['height']}"
        lines.append(f"| [{screen.caption}]({screen.name}.png) | {screen.role} | `{screen.path}` | {size} |")
    (OUTPUT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        database_url = demo_database(Path(folder))
        with LiveServer(database_url, open_registration=True) as server:
            member_with_history(server.url, MEMBER_CARD, MEMBER_EMAIL)
            give_the_member_a_pin(database_url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    wanted = set(sys.argv[1:])  # names to shoot (the state the earlier rows make still comes first)
                    for screen in SCREENS:
                        if wanted and screen.name not in wanted:
                            continue
                        print(f"{shoot(browser, server.url, screen).relative_to(OUTPUT.parents[1])}")
                finally:
                    browser.close()
    write_readme()
    return 0


if __name__ == "__main__":
    sys.exit(main())
