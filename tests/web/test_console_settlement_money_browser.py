"""A statement with prepaid money in Chromium (issue 14): points and gifts in one section, prepaid money in another,
what the node holds and each party's net of both — all of it for the administrator, its own lines for an owner.

The money is posted through the storage layer's ledger write (tests/prepaid_ledger.py) into the demo network: the
ticket office (Aqua Park) takes 100.00 for a top-up, the café takes 30.00 of it and 35.00 of a 50.00 gift card the
corner shop sold, and the 15.00 left on the card expires, shared 50/50 between the node and the shop.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from coalition.domain.ledger import AccountPurpose, OwnerKind, TransactionKind
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.prepaid_ledger import account, node_owner_id, post
from tests.web.conftest import PHONE, LiveServer
from tests.web.test_console_settlement_browser import ADMIN_KEY, _cells, _sign_in

K, P = TransactionKind, AccountPurpose


async def _post_money(database_url: str) -> None:
    settings = Settings(database_url=database_url, operator_token=None, public_url="http://127.0.0.1")
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:
            network_id = int(
                (await connection.execute(sa.text("SELECT id FROM networks WHERE code = 'demo'"))).scalar_one()
            )
            rows = await connection.execute(
                sa.text("SELECT p.name, p.id, MIN(o.id) FROM partners p JOIN outlets o ON o.partner_id = p.id "
                        "WHERE p.network_id = :n GROUP BY p.name, p.id"), {"n": network_id}
            )  # fmt: skip
            partners = {name: (int(partner), int(outlet)) for name, partner, outlet in rows}
        node = await node_owner_id(services, network_id)

        async def prepaid(name: str) -> int:
            return await account(services, network_id, OwnerKind.PARTNER, partners[name][0], P.PREPAID, "RUB")

        park, cafe, shop = [await prepaid(name) for name in ("Aqua Park", "Blue Cup Café", "Corner Shop")]
        wallet = await account(services, network_id, OwnerKind.MEMBER, 1, P.MEMBER_WALLET, "RUB")
        card = await account(services, network_id, OwnerKind.GIFT_CARD, 1, P.GIFT_CARD, "RUB")
        kept = await account(services, network_id, OwnerKind.NODE, node, P.PREPAID_BREAKAGE, "RUB")
        at = datetime.now(UTC)
        outlet = {name[:4]: partners[name][1] for name in partners}  # Aqua, Blue, Corn
        await post(services, network_id, K.TOP_UP, {park: -10_000, wallet: 10_000}, at, outlet=outlet["Aqua"])
        await post(services, network_id, K.PURCHASE, {wallet: -3_000, cafe: 3_000}, at, outlet=outlet["Blue"])
        await post(services, network_id, K.GIFT_CARD_SALE, {shop: -5_000, card: 5_000}, at, outlet=outlet["Corn"])
        await post(services, network_id, K.PURCHASE, {card: -3_500, cafe: 3_500}, at, outlet=outlet["Blue"])
        await post(services, network_id, K.GIFT_CARD_EXPIRY, {card: -1_500, kept: 750, shop: 750}, at)
    finally:
        await services.close()


def _period_of_money(server: LiveServer, demo_loaded_at: float) -> datetime:
    """Statement 1 takes the demo's purchases (closed through the API); then the money is posted. Answers the end
    of the period, a second after it, once that end is 5 s past."""
    time.sleep(max(0.0, demo_loaded_at + 5.3 - time.time()))
    with httpx.Client(base_url=server.url) as http:
        first_end = datetime.now(UTC) - timedelta(seconds=5.1)
        closed = http.post(
            "/v1/admin/settlement/periods",
            json={"end": first_end.isoformat()},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert closed.status_code == 201, closed.text
    failure: list[BaseException] = []

    def run() -> None:  # its own event loop, away from Playwright's
        try:
            anyio.run(_post_money, server.database_url)
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert not failure, failure
    end = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (end + timedelta(seconds=5.2) - datetime.now(UTC)).total_seconds()))
    return end


def test_a_statement_shows_prepaid_money_apart_from_points(
    page: Page, browser: Browser, live_server: LiveServer, demo_template: Path
) -> None:
    end = _period_of_money(live_server, demo_template.stat().st_mtime)
    _sign_in(page, live_server, "admin", "admin-demo-1", "/console/settlement")
    expect(page.get_by_role("heading", name="Periods and settlement")).to_be_visible()
    page.get_by_label("End of the period (UTC, not included)").fill(end.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Close the period").click()
    expect(page.get_by_role("heading", name="Statement 2")).to_be_visible()

    zero = "RUB\xa00.00"
    expect(page.locator("#statement-lines caption")).to_have_text("Points and gifts")
    assert _cells(page, "statement-lines", "Blue Cup Café") == [zero] * 7 + ["0"]
    expect(page.get_by_role("heading", name="Prepaid money")).to_be_visible()
    assert _cells(page, "statement-money", "Blue Cup Café") == [
        *[zero] * 4,
        "RUB\xa030.00",
        zero,
        "RUB\xa035.00",
        zero,
        zero,
        "RUB\xa065.00",
        "2",
    ]
    assert _cells(page, "statement-money", "Aqua Park") == ["RUB\xa0100.00", *[zero] * 8, "-RUB\xa0100.00", "1"]
    assert _cells(page, "statement-money", "Corner Shop") == [
        *[zero] * 2,
        "RUB\xa050.00",
        *[zero] * 5,
        "RUB\xa07.50",
        "-RUB\xa042.50",
        "2",
    ]
    node_cells = page.locator("#statement-node-money tbody td")
    expect(node_cells).to_have_text(["RUB\xa070.00", zero, "RUB\xa07.50", zero, "RUB\xa077.50"])
    assert _cells(page, "statement-net", "Aqua Park") == [zero, "-RUB\xa0100.00", "-RUB\xa0100.00"]
    assert _cells(page, "statement-net", "Settlement node") == [zero, "RUB\xa077.50", "RUB\xa077.50"]
    expect(page.locator("#through-node").get_by_role("row")).to_have_text(
        [
            re.compile("From.*To.*Amount"),
            re.compile("Aqua Park.*Settlement node.*RUB\xa0100.00"),
            re.compile("Settlement node.*Blue Cup Café.*RUB\xa065.00"),
            re.compile("Corner Shop.*Settlement node.*RUB\xa042.50"),
        ]
    )
    csv_text = page.request.get(f"{live_server.url}/console/statements/2/statement.csv").text()
    assert "Blue Cup Café,0.00,0.00,0.00,0.00,30.00,0.00,35.00,0.00,0.00,65.00,2" in csv_text
    assert "settlement node,70.00,0.00,7.50,0.00,77.50" in csv_text

    page.goto(f"{live_server.url}/console/statements/1")  # the demo's statement: no money, as before
    expect(page.get_by_role("heading", name="Statement 1")).to_be_visible()
    expect(page.locator("#statement-lines caption")).to_have_text("Partners' positions")
    expect(page.get_by_role("heading", name="Prepaid money")).to_have_count(0)

    owner = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        cafe = owner.new_page()
        _sign_in(cafe, live_server, "cafe-owner", "cafe-demo-1", "/console/statements")
        cafe.get_by_role("link", name="Statement 2").click()
        expect(cafe.get_by_role("heading", name="Prepaid money")).to_be_visible()
        expect(cafe.locator("#statement-money tbody tr")).to_have_count(1)  # the café's own money line
        assert _cells(cafe, "statement-net", "Blue Cup Café") == [zero, "RUB\xa065.00", "RUB\xa065.00"]
        expect(cafe.locator("#statement-node-money")).to_have_count(0)  # the node's holdings are not its business
        expect(cafe.get_by_text("-RUB\xa042.50")).to_have_count(0)
        cafe.get_by_role("link", name="Blue Cup Café").first.click()
        expect(cafe.locator("#entries tbody tr")).to_have_count(2)
        expect(cafe.locator("#entries tbody tr").first).to_contain_text("Prepaid money")
    finally:
        owner.close()
