"""The web terminal offline, in Chromium on a 360 × 740 phone over the demo network (docs/terminal.md "Offline").

The demo's corner shop accrues 3 % of a check below a lifetime spend of 10,000.00. Member 1000-0001 (Irina Petrova)
holds 105 points. Two sales made offline, 1,500.00 and 400.00, earn 45 and 12 points once uploaded: 162.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.web.conftest import LiveServer
from tests.web.test_terminal_browser import sign_in, to_confirm, web_purchases

QUEUE = """() => new Promise((resolve, reject) => {
  const opened = indexedDB.open("coalition-terminal", 1);
  opened.onsuccess = () => {
    const request = opened.result.transaction("offline-sales").objectStore("offline-sales").getAll();
    request.onsuccess = () => { opened.result.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
  opened.onerror = () => reject(opened.error);
})"""

REPOST = """async (sales) => {
  const box = document.getElementById("offline-queue");
  const response = await fetch("/terminal/offline-sales", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf, "X-Requested-With": "fetch"},
    body: JSON.stringify({sales: sales}),
  });
  return {status: response.status, body: await response.json()};
}"""


def _points_and_sales(live_server: LiveServer) -> tuple[int, list[tuple[int, int, int, str]]]:
    """Irina's balance, and (check, points redeemed, points earned, cashier) of every purchase made on the web."""
    database = live_server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        balance = connection.execute(
            "SELECT b.balance FROM member_balances b JOIN cards c ON c.member_id = b.member_id WHERE c.number = ?",
            ("10000001",),
        ).fetchone()[0]
        sales = connection.execute(
            "SELECT check_minor, points_redeemed, points_earned, cashier_login FROM purchases "
            "WHERE receipt LIKE 'web-%' ORDER BY occurred_at"
        ).fetchall()
    return int(balance), [tuple(row) for row in sales]


def _sell_offline(page: Page, card: str, amount: str) -> None:
    form = page.locator("#offline-sale")
    form.get_by_label("Card number or phone").fill(card)
    form.get_by_label("Amount of the check").fill(amount)
    form.get_by_role("button", name="Keep the sale for upload").click()


def _installed(page: Page) -> None:
    """The service worker controls the terminal and has kept its first screen."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    page.wait_for_function(
        "() => caches.open('coalition-terminal-v1').then(c => c.match('/terminal')).then(r => !!r)", timeout=15000
    )


def test_offline_sales_are_kept_survive_a_reload_and_upload_once(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _installed(page)
    assert _points_and_sales(live_server) == (105, [])
    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    expect(page.get_by_text("Offline sales only earn points: points cannot be spent offline.")).to_be_visible()
    expect(page.locator("#online-sale-section")).to_be_hidden()
    _sell_offline(page, "1000-0001", "1 500,00")
    expect(page.locator("#offline-sale-done")).to_have_text("Kept for upload: 1000-0001, RUB\xa01,500.00.")
    _sell_offline(page, "1000-0001", "400")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 2")
    expect(page.locator("#offline-queue-list li")).to_have_text(
        ["1000-0001 · RUB\xa01,500.00", "1000-0001 · RUB\xa0400.00"]
    )
    queued: list[dict[str, Any]] = page.evaluate(QUEUE)
    assert sorted(sale["amount"] for sale in queued) == ["1500.00", "400"]
    assert all(len(sale["key"]) == 36 and sale["occurred_at"][-6] in "+-" for sale in queued)

    reloaded = page.reload()  # the server cannot be reached: the service worker opens the kept terminal
    assert reloaded is not None and reloaded.from_service_worker
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 2")
    assert _points_and_sales(live_server) == (105, [])  # nothing reached the server

    page.context.set_offline(False)  # the network returns: the queue uploads by itself
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=15000)
    expect(page.get_by_role("heading", name="Customer")).to_be_visible()
    assert page.evaluate(QUEUE) == []
    assert _points_and_sales(live_server) == (105 + 45 + 12, [(1500_00, 0, 45, "anna"), (400_00, 0, 12, "anna")])

    # the same queue uploaded again (an answer lost on the way): each sale is replayed, nothing doubles
    sales = [{k: sale[k] for k in ("key", "customer", "amount", "occurred_at")} for sale in queued]
    again = page.evaluate(REPOST, sales)
    assert again["status"] == 200, json.dumps(again)
    assert sorted(r["outcome"] for r in again["body"]["results"]) == ["replayed", "replayed"]
    assert _points_and_sales(live_server)[0] == 162
    assert len(_points_and_sales(live_server)[1]) == 2


def test_an_upload_the_network_just_back_fails_is_tried_again_within_seconds(
    live_server: LiveServer, page: Page
) -> None:
    """The network returns but fails the upload's first requests (a network just back, or flapping, fails a request or
    two): the page tries again within seconds, not at its next 20 s round, and each sale goes up once."""
    sign_in(page, live_server)
    _installed(page)
    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    _sell_offline(page, "1000-0001", "1500")
    _sell_offline(page, "1000-0001", "400")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 2")
    lost: list[str] = []

    def flap(route: Route) -> None:
        if len(lost) < 3:  # the first try when the network returns, and the next two
            lost.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.context.route("**/terminal/offline-sales", flap)
    page.context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=15_000)  # two rounds of 20 s would be 40 s
    assert len(lost) == 3
    assert page.evaluate(QUEUE) == []
    assert _points_and_sales(live_server) == (105 + 45 + 12, [(1500_00, 0, 45, "anna"), (400_00, 0, 12, "anna")])


def test_a_sale_the_server_refuses_stays_with_its_reason(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _installed(page)
    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    _sell_offline(page, "1000-9999", "300")  # no such card
    _sell_offline(page, "1000-0001", "400.00")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 2")
    page.context.set_offline(False)
    refused = page.locator("#offline-queue-list li.refused")
    expect(refused).to_contain_text("Refused: No customer has this card number or phone.", timeout=15000)
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 0")
    expect(page.locator("#offline-queue-list li")).to_have_count(1)
    assert _points_and_sales(live_server) == (105 + 12, [(400_00, 0, 12, "anna")])
    page.reload()  # still there after a reload, with its reason, until the cashier removes it
    expect(refused).to_contain_text("1000-9999")
    refused.get_by_role("button", name="Remove from the list").click()
    expect(page.locator("#offline-queue")).to_be_hidden()
    assert page.evaluate(QUEUE) == []
    page.get_by_role("button", name="Sign out").click()  # the kept first screen was this cashier's: forgotten
    expect(page.get_by_label("Cashier login")).to_be_visible()
    assert page.evaluate("() => caches.has('coalition-terminal-v1')") is False


def test_a_step_of_a_sale_without_network_comes_back_to_the_offline_sale(live_server: LiveServer, page: Page) -> None:
    """navigator.onLine says all is well, but the server does not answer: the card typed goes to the offline sale."""
    sign_in(page, live_server)
    _installed(page)
    page.get_by_label("Card number or phone").fill("1000-0001")
    # the device thinks it is online, before the network goes: the page never hears of it (its "offline" event finds
    # navigator.onLine true, so the online form stays). The other way round the page first showed the offline form,
    # and the click waited for the queue's next 20 s round to show the online form again.
    page.evaluate("() => Object.defineProperty(navigator, 'onLine', {get: () => true})")
    page.context.set_offline(True)
    expect(page.get_by_role("button", name="Find the customer")).to_be_visible()
    page.get_by_role("button", name="Find the customer").click()  # the post fails: the service worker sends it back
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    expect(page.locator("#offline-customer")).to_have_value("1000-0001")


def test_a_booked_purchase_whose_receipt_does_not_come_at_once_still_shows_its_receipt(
    live_server: LiveServer, page: Page
) -> None:
    """The server booked the sale and answered with its receipt's address, but the network (just back, or flapping)
    fails the receipt's page: the terminal asks again, then says the purchase is booked and its receipt on its way,
    and shows the receipt itself once the page comes; never the first screen, where the basket might be sold twice."""
    sign_in(page, live_server)
    _installed(page)
    lost: list[str] = []

    def flap(route: Route) -> None:
        if len(lost) < 6:  # more failures than the service worker's own retries (4): its waiting page shows
            lost.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.context.route("**/terminal/receipts/**", flap)
    to_confirm(page, "1000-0001", "2000.00", "0")
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.get_by_role("heading", name="Receipt on its way")).to_be_visible(timeout=15_000)
    assert web_purchases(live_server) == [("10000001", 2000_00, 0, 60, "anna")]  # booked, once
    expect(page.get_by_role("heading", name="Purchase saved")).to_be_visible(timeout=15_000)  # it tries by itself
    assert len(lost) == 6 and len(set(lost)) == 1
    assert web_purchases(live_server) == [("10000001", 2000_00, 0, 60, "anna")]
