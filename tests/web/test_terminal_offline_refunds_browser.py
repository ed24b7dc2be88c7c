"""Refunds kept offline at the web terminal, in Chromium on a 360 × 740 phone over the demo network (docs/terminal.md
"Offline", the worked example of refunds).

The demo's corner shop accrues 3 % of a check below a lifetime spend of 10,000.00. Member 1000-0001 (Irina Petrova)
holds 105 points. Online she buys for 2,000.00 (+60: 165). Offline the cashier sells her 1,500.00 (+45), refunds that
sale whole (−45) and 500.00 of the online purchase by its receipt (−15 of its 60): 150 once uploaded. Offline again,
3,000.00 of that receipt is refused (1,500.00 is left) and all that is left is refunded (−45): 105.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from coalition.demo import OUTLETS
from tests.web.conftest import LiveServer
from tests.web.test_terminal_browser import A11Y_CHECKS, SMALL_TARGETS, sign_in, to_confirm
from tests.web.test_terminal_offline_browser import QUEUE, _installed, _sell_offline

REPOST = """async (body) => {
  const box = document.getElementById("offline-queue");
  const response = await fetch("/terminal/offline-sales", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf, "X-Requested-With": "fetch"},
    body: JSON.stringify(body),
  });
  return {status: response.status, body: await response.json()};
}"""

KEEP_MALFORMED = """() => new Promise((resolve, reject) => {
  const owner = document.getElementById("offline-queue").dataset.owner;
  const refund = {kind: "refund", key: crypto.randomUUID(), owner: owner, sale_key: null, purchase: "R".repeat(101),
    amount: "", occurred_at: "2026-12-07T10:00:00+00:00", queued: 1, refused: null};
  const opened = indexedDB.open("coalition-terminal", 1);
  opened.onsuccess = () => {
    const transaction = opened.result.transaction("offline-sales", "readwrite");
    transaction.objectStore("offline-sales").put(refund);
    transaction.oncomplete = () => { opened.result.close(); resolve(true); };
    transaction.onerror = () => reject(transaction.error);
  };
  opened.onerror = () => reject(opened.error);
})"""


def _balance(live_server: LiveServer) -> int:
    """Irina's points, as the API tells a till."""
    with httpx.Client(base_url=live_server.url) as http:
        answer = http.get("/v1/members/1000-0001", headers={"Authorization": f"Bearer {OUTLETS[0].terminal_key}"})
        assert answer.status_code == 200, answer.text
        points: int = answer.json()["points_balance"]
        return points


def _refunds(live_server: LiveServer) -> list[tuple[int, int, int, str]]:
    """(refunded, money back, points clawed back, cashier) of every refund Anna gave, in the order recorded."""
    with sqlite3.connect(live_server.database_url.removeprefix("sqlite:///")) as connection:
        rows = connection.execute(
            "SELECT refund_minor, money_back_minor, points_clawed_back, cashier_login FROM refunds "
            "WHERE cashier_login = 'anna' ORDER BY recorded_at, refund_minor DESC"
        ).fetchall()
    return [tuple(row) for row in rows]


def _bought_online(page: Page, amount: str) -> str:
    """A purchase confirmed online at the terminal (no points spent): its receipt number as the receipt prints it."""
    to_confirm(page, "1000-0001", amount, "0")
    page.get_by_role("button", name="Confirm the purchase").click()
    expect(page.get_by_role("heading", name="Purchase saved")).to_be_visible()
    printed = page.get_by_text(re.compile(r"^Receipt web-")).inner_text()
    page.get_by_role("link", name="Next customer").click()
    return printed.removeprefix("Receipt ").strip()


def _refund_offline(
    page: Page, amount: str, *, sale: str | None = None, receipt: str | None = None, refused: bool = False
) -> None:
    """Keep one refund, and wait until the list shows it (unless the device refuses it): the form is cleared once the
    refund is stored, so a next refund typed before then would be wiped."""
    form = page.locator("#offline-refund")
    kept = page.locator("#offline-refund-list li")
    before = kept.count()
    if sale is not None:
        form.get_by_label("A sale kept on this device").select_option(label=sale)
        expect(form.get_by_label("Receipt or purchase number")).to_be_hidden()
    if receipt is not None:
        form.get_by_label("Receipt or purchase number").fill(receipt)
    form.get_by_label("Part of the check refunded").fill(amount)
    form.get_by_role("button", name="Keep the refund for upload").click()
    if not refused:
        expect(kept).to_have_count(before + 1)


def _refund_page_kept(page: Page) -> None:
    page.wait_for_function(
        "() => caches.open('coalition-terminal-v1').then(c => c.match('/terminal/refund')).then(r => !!r)",
        timeout=15000,
    )


def test_a_sale_and_refunds_kept_offline_upload_in_order_and_once(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _installed(page)
    _refund_page_kept(page)
    receipt = _bought_online(page, "2000.00")
    assert _balance(live_server) == 105 + 60

    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    _sell_offline(page, "1000-0001", "1 500,00")
    page.get_by_role("link", name="Record a refund").click()  # the refund's screen, from the service worker
    expect(page.get_by_role("heading", name="Offline refund")).to_be_visible()
    expect(page.locator("#online-refund-section")).to_be_hidden()
    kept_sale = "1000-0001 · RUB\xa01,500.00"
    _refund_offline(page, "", sale=kept_sale)  # all of the kept sale
    expect(page.locator("#offline-refund-done")).to_have_text(f"Refund kept for upload: {kept_sale}, all that is left.")
    _refund_offline(page, "5000", sale=kept_sale, refused=True)  # more than the kept sale: refused on the device
    expect(page.locator("#offline-refund-error")).to_have_text("At most RUB\xa01,500.00 can be refunded.")
    page.get_by_label("A sale kept on this device").select_option(label="None: by receipt")
    _refund_offline(page, "500,00", receipt=receipt)
    expect(page.locator("#offline-refund-done")).to_have_text(f"Refund kept for upload: {receipt}, RUB\xa0500.00.")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 3")
    expect(page.locator("#offline-queue-list li")).to_have_text([kept_sale])
    expect(page.locator("#offline-refund-list li")).to_have_text(
        [
            f"Refund of the kept sale {kept_sale}: all that is left",
            f"Refund of receipt {receipt}: RUB\xa0500.00",
        ]
    )
    queued: list[dict[str, Any]] = page.evaluate(QUEUE)
    refunds = [entry for entry in queued if entry.get("kind") == "refund"]
    assert len(refunds) == 2 and all(len(r["key"]) == 36 and r["occurred_at"][-6] in "+-" for r in refunds)
    reloaded = page.reload()  # still offline: the kept refund screen with the same queue
    assert reloaded is not None and reloaded.from_service_worker
    expect(page.get_by_role("heading", name="Offline refund")).to_be_visible()
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 3")
    assert _balance(live_server) == 165 and _refunds(live_server) == []

    page.context.set_offline(False)  # back online: the sale goes first, then the refunds, in one upload
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=15000)
    expect(page.get_by_role("heading", name="Refund a purchase")).to_be_visible()
    assert page.evaluate(QUEUE) == []
    assert _balance(live_server) == 105 + 60 + 45 - 45 - 15 == 150
    assert _refunds(live_server) == [(1500_00, 1500_00, 45, "anna"), (500_00, 500_00, 15, "anna")]

    # the same queue sent again (an answer lost on the way): every one replayed, nothing doubled
    sales = [{k: e[k] for k in ("key", "customer", "amount", "occurred_at")} for e in queued if "kind" not in e]
    again_refunds = [
        {k: e[k] for k in ("key", "sale_key", "purchase", "amount", "occurred_at") if e[k]} for e in refunds
    ]
    again = page.evaluate(REPOST, {"sales": sales, "refunds": again_refunds})
    assert again["status"] == 200, json.dumps(again)
    assert [r["outcome"] for r in again["body"]["results"]] == ["replayed"] * 3
    assert _balance(live_server) == 150
    assert len(_refunds(live_server)) == 2

    # offline again: 3,000.00 of the receipt (1,500.00 is left) is refused; all that is left is recorded
    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline refund")).to_be_visible()
    _refund_offline(page, "3000", receipt=receipt)
    _refund_offline(page, "", receipt=receipt)
    page.context.set_offline(False)
    refused = page.locator("#offline-refund-list li.refused")
    expect(refused).to_contain_text("Refused: The refund is larger than what is left of this purchase.", timeout=15000)
    expect(page.locator("#offline-refund-list li")).to_have_count(1)
    assert _balance(live_server) == 150 - 45 == 105  # the 60 the purchase earned, all taken back
    assert _refunds(live_server)[2:] == [(1500_00, 1500_00, 45, "anna")]


def test_a_refused_refund_stays_with_its_reason_and_the_rest_upload(live_server: LiveServer, page: Page) -> None:
    sign_in(page, live_server)
    _installed(page)
    _refund_page_kept(page)
    receipt = _bought_online(page, "2000.00")  # 165 points
    page.context.set_offline(True)
    page.get_by_role("link", name="Record a refund").click()
    expect(page.get_by_role("heading", name="Offline refund")).to_be_visible()
    _refund_offline(page, "3000", receipt=receipt)  # more than the purchase: the server refuses it
    _refund_offline(page, "500", receipt=receipt)
    page.evaluate(KEEP_MALFORMED)  # a refund the server cannot read (an older page's): it refuses the whole part
    page.reload()
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 3")
    page.context.set_offline(False)
    refused = page.locator("#offline-refund-list li.refused")
    expect(refused.filter(has_text="RUB\xa03,000.00")).to_contain_text(
        "Refused: The refund is larger than what is left of this purchase.", timeout=15000
    )
    expect(refused.filter(has_text="R" * 101)).to_contain_text("Refused: refunds[0].purchase")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 0")
    expect(page.locator("#offline-refund-list li")).to_have_count(2)
    assert _balance(live_server) == 165 - 15
    assert _refunds(live_server) == [(500_00, 500_00, 15, "anna")]
    page.reload()  # kept with their reasons until the cashier removes them
    refused.first.get_by_role("button", name="Remove from the list").click()
    expect(refused).to_have_count(1)
    refused.first.get_by_role("button", name="Remove from the list").click()
    expect(page.locator("#offline-queue")).to_be_hidden()
    assert page.evaluate(QUEUE) == []


def test_the_refund_screens_pass_the_accessibility_checks_and_take_a_thumb(live_server: LiveServer, page: Page) -> None:
    """Online (found by receipt, or not), and offline with a sale and a refund kept: labels, names, one h1, AA
    contrast (tests/web/a11y.js), no sideways scrolling and every target at least 44 × 44 px."""
    seen: dict[str, tuple[Any, Any]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        seen[name] = (page.evaluate(A11Y_CHECKS), page.evaluate(SMALL_TARGETS))

    sign_in(page, live_server)
    _installed(page)
    _refund_page_kept(page)
    receipt = _bought_online(page, "2000.00")
    page.get_by_role("link", name="Today", exact=True).click()
    page.get_by_role("link", name="Refund a purchase by its receipt").click()
    expect(page.get_by_role("heading", name="Refund a purchase")).to_be_visible()
    check("find")
    page.get_by_label("Receipt or purchase number").fill("web-unknown")
    page.get_by_role("button", name="Find the purchase").click()
    expect(page.locator("#purchase-error")).to_have_text("This outlet has no purchase with this receipt.")
    check("not found")
    page.get_by_label("Receipt or purchase number").fill(receipt)
    page.get_by_role("button", name="Find the purchase").click()
    expect(page.locator("#refundable")).to_have_text("RUB\xa02,000.00")  # the refund form of that purchase
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/terminal")
    _sell_offline(page, "1000-0001", "400")
    page.get_by_role("link", name="Record a refund").click()
    _refund_offline(page, "", sale="1000-0001 · RUB\xa0400.00")
    expect(page.locator("#offline-refund-list li")).to_have_count(1)
    check("offline refund")
    assert seen == {name: ([], {"small": [], "wide": False}) for name in seen}
    assert len(seen) == 3


KEEP_UNREADABLE_SALE = """() => new Promise((resolve, reject) => {
  const owner = document.getElementById("offline-queue").dataset.owner;
  const sale = {key: crypto.randomUUID(), owner: owner, customer: "C".repeat(300), amount: "400.00",
    occurred_at: "2026-12-07T10:00:00+00:00", queued: 1, refused: null};
  const opened = indexedDB.open("coalition-terminal", 1);
  opened.onsuccess = () => {
    const transaction = opened.result.transaction("offline-sales", "readwrite");
    transaction.objectStore("offline-sales").put(sale);
    transaction.oncomplete = () => { opened.result.close(); resolve(sale.key); };
    transaction.onerror = () => reject(transaction.error);
  };
  opened.onerror = () => reject(opened.error);
})"""


def test_a_refund_of_a_kept_sale_the_server_refused_stays_unsent(live_server: LiveServer, page: Page) -> None:
    """A sale kept on the device (an older page's, which the server cannot read: it refuses the whole upload naming
    it) and a refund of it kept after: once the sale is refused, its refund is not sent but stays, refused because
    its sale was; the other sale of the queue is recorded."""
    sign_in(page, live_server)
    _installed(page)
    _refund_page_kept(page)
    page.context.set_offline(True)
    expect(page.get_by_role("heading", name="Offline sale")).to_be_visible()
    sale_key = page.evaluate(KEEP_UNREADABLE_SALE)
    _sell_offline(page, "1000-0001", "300")
    page.get_by_role("link", name="Record a refund").click()
    expect(page.get_by_role("heading", name="Offline refund")).to_be_visible()
    page.locator("#offline-refund").get_by_label("A sale kept on this device").select_option(value=sale_key)
    page.locator("#offline-refund").get_by_label("Part of the check refunded").fill("100")
    page.locator("#offline-refund").get_by_role("button", name="Keep the refund for upload").click()
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 3")
    refund_key = next(e["key"] for e in page.evaluate(QUEUE) if e.get("kind") == "refund")
    bodies: list[str] = []
    page.on(
        "request",
        lambda request: bodies.append(request.post_data or "") if request.url.endswith("/offline-sales") else None,
    )

    page.context.set_offline(False)
    refused = page.locator("#offline-refund-list li.refused")
    expect(refused).to_contain_text("Refused: its sale was refused", timeout=15000)
    expect(page.locator("#offline-queue-list li.refused")).to_contain_text("Refused: sales[0].customer")
    expect(page.locator("#offline-queue-count")).to_have_text("Awaiting upload: 0")
    # the first upload was refused whole for the unreadable sale; once it was refused, its refund was not sent again
    assert len(bodies) >= 2 and refund_key in bodies[0]
    assert not any(refund_key in body for body in bodies[1:])
    assert _balance(live_server) == 105 + 9  # the other sale: 3 % of 300.00
    assert _refunds(live_server) == []
    queued = {entry["key"]: entry for entry in page.evaluate(QUEUE)}
    assert set(queued) == {sale_key, refund_key} and queued[refund_key]["refused"] == "its sale was refused"
    page.reload()  # kept with its reason until the cashier removes it
    expect(refused).to_contain_text("Refused: its sale was refused")
    refused.get_by_role("button", name="Remove from the list").click()
    page.locator("#offline-queue-list li.refused").get_by_role("button", name="Remove from the list").click()
    expect(page.locator("#offline-queue")).to_be_hidden()
    assert page.evaluate(QUEUE) == []
