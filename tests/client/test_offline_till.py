"""Offline tills (issue 17, point 3) against a real `coalition serve`, on both engines: a till that lost the network
keeps selling into its queue file and uploads later; a replayed upload, a partly failed one, a sale whose answer
was lost and two tills uploading for one card at once lose and double nothing. The figures are docs/client.md's."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from coalition_client import AsyncClient, Client, Retries
from coalition_client.models import Enrol, Purchase, Refund
from coalition_client.offline import AsyncOfflineTill, OfflineTill, Queued

from .conftest import Demo, Proxy, free_port

FAST = Retries(attempts=2, base_seconds=0.01, cap_seconds=0.05)
SALES = ("1000.00", "2000.00", "1500.00", "500.00", "3000.00")  # 3 % each: 30, 60, 45, 15, 90 points
HALVES = ("500.00", "1000.00", "700.00", "300.00", "1500.00")  # 15, 30, 21, 9, 45 points


def _member(demo: Demo, number: str) -> str:
    with Client(demo.url, demo.till_key) as till:
        enrolled = till.enrol(Enrol(kind="anonymous", card_number=number))
    assert enrolled.card is not None
    return enrolled.card.number


def _balance(demo: Demo, card: str) -> tuple[int, Decimal]:
    with Client(demo.url, demo.till_key) as till:
        member = till.member(card)
    return member.points_balance, member.lifetime_spend


def _kinds(demo: Demo, card: str) -> list[str]:
    with Client(demo.url, demo.admin_key) as admin:
        statement = admin.member_statement(card)
    return sorted(t["kind"] for t in statement["transactions"])


def _sell_offline(till: OfflineTill, card: str, prefix: str) -> list[Queued]:
    queued = []
    for number, amount in enumerate(SALES, start=1):
        kept = till.sell(Purchase(customer=card, amount=Decimal(amount), receipt=f"{prefix}-{number}"))
        assert isinstance(kept, Queued) and kept.occurred_at.utcoffset() is not None
        queued.append(kept)
    return queued


def test_a_till_offline_keeps_selling_and_its_upload_loses_and_doubles_nothing_even_replayed(
    demo: Demo, tmp_path: Path
) -> None:
    card = _member(demo, "3000-0001")
    queue = tmp_path / "till.sqlite3"
    nowhere = Client(f"http://127.0.0.1:{free_port()}", demo.till_key, retries=FAST)  # the network is down
    till = OfflineTill(nowhere, queue)
    sales = _sell_offline(till, card, "OFF")
    back = till.refund(Refund(amount=Decimal("1500.00")), purchase_key=sales[2].idempotency_key)  # the 1,500 sale
    assert isinstance(back, Queued) and back.kind == "refund"
    assert [item.kind for item in till.pending()] == ["purchase"] * 5 + ["refund"]
    assert _balance(demo, card) == (0, Decimal("0.00"))  # the server has heard nothing

    before_upload = tmp_path / "copy.sqlite3"
    with sqlite3.connect(queue) as source, sqlite3.connect(before_upload) as copy:
        source.backup(copy)  # the queue as it was: a till that crashes before it removes what it sent
    with Client(demo.url, demo.till_key, retries=FAST) as online:
        till.client = online  # the network is back
        report = till.upload()
        assert (report.recorded, report.replayed, report.refused, report.waiting) == (6, 0, [], 0)
        assert till.pending() == [] and report.complete
        # 30 + 60 + 45 + 15 + 90 = 240 points, less the 45 of the refunded 1,500.00 sale; 8,000.00 − 1,500.00 spent
        assert _balance(demo, card) == (195, Decimal("6500.00"))

        crashed = OfflineTill(online, before_upload)  # the same queue sent again
        again = crashed.upload()
        assert (again.recorded, again.replayed, again.refused) == (0, 6, [])
        assert _balance(demo, card) == (195, Decimal("6500.00"))
        assert _kinds(demo, card) == ["purchase"] * 5 + ["refund"]

        # back online, sales and refunds go straight to the server; a refund by receipt too
        sale = till.sell(Purchase(customer=card, amount=Decimal("1000.00"), receipt="ON-1"))
        assert not isinstance(sale, Queued) and sale.points_balance == 225
        refund = till.refund(Refund(amount=Decimal("1000.00")), purchase_receipt="OFF-1")
        assert not isinstance(refund, Queued) and refund.points_balance == 195
    crashed.close()
    till.close()
    nowhere.close()


def test_a_sale_whose_answer_was_lost_is_queued_with_its_key_and_recorded_once(
    demo: Demo, proxy: Proxy, tmp_path: Path
) -> None:
    card = _member(demo, "3000-0002")
    proxy.plan[("POST", "/v1/purchases")] = ["lose", "lose"]  # recorded, but the till hears 503 twice
    with Client(proxy.url, demo.till_key, retries=FAST) as through_proxy:
        till = OfflineTill(through_proxy, tmp_path / "till.sqlite3")
        kept = till.sell(Purchase(customer=card, amount=Decimal("1000.00"), receipt="LOST-1"))
        assert isinstance(kept, Queued)
        assert _balance(demo, card) == (30, Decimal("1000.00"))  # the server has it already
        report = till.upload()
        assert (report.recorded, report.replayed, report.waiting) == (0, 1, 0)
        till.close()
    assert _balance(demo, card) == (30, Decimal("1000.00")) and _kinds(demo, card) == ["purchase"]


def test_a_partly_failed_upload_keeps_only_the_refused_items_with_their_reason(demo: Demo, tmp_path: Path) -> None:
    card = _member(demo, "3000-0003")
    nowhere = Client(f"http://127.0.0.1:{free_port()}", demo.till_key, retries=FAST)
    till = OfflineTill(nowhere, tmp_path / "till.sqlite3")
    good = till.sell(Purchase(customer=card, amount=Decimal("1000.00"), receipt="P-1"))
    stranger = till.sell(Purchase(customer="9999-9999", amount=Decimal("700.00"), receipt="P-2"))
    assert isinstance(good, Queued) and isinstance(stranger, Queued)
    till.refund(Refund(amount=Decimal("700.00")), purchase_key=stranger.idempotency_key)  # of a sale refused
    till.sell(Purchase(customer=card, amount=Decimal("2000.00"), receipt="P-3"))
    with Client(demo.url, demo.till_key, retries=FAST) as online:
        till.client = online
        report = till.upload()
        assert (report.recorded, report.waiting) == (2, 0)
        assert [
            (item.kind, (item.problem or {}).get("field"), (item.problem or {}).get("status"))
            for item in report.refused
        ] == [
            ("purchase", "customer", 404),
            ("refund", "purchase_key", 404),
        ]
        assert [item.idempotency_key for item in till.refused()] == [item.idempotency_key for item in report.refused]
        assert till.pending() == []
        assert till.upload().recorded == 0  # refused items wait for a person; they are not resent by themselves
    assert _balance(demo, card) == (90, Decimal("3000.00"))
    till.close()
    nowhere.close()


@pytest.mark.anyio
async def test_two_tills_uploading_for_one_card_at_once_lose_and_double_nothing(demo: Demo, tmp_path: Path) -> None:
    card = _member(demo, "3000-0004")
    cafe_key = next(t["key"] for t in demo.info["terminals"] if t["partner"] == "Blue Cup Café")
    nowhere = f"http://127.0.0.1:{free_port()}"
    tills = []
    for name, key in (("shop", demo.till_key), ("cafe", cafe_key)):
        till = AsyncOfflineTill(AsyncClient(nowhere, key, retries=FAST), tmp_path / f"{name}.sqlite3")
        for number, amount in enumerate(HALVES, start=1):
            kept = await till.sell(Purchase(customer=card, amount=Decimal(amount), receipt=f"{name}-{number}"))
            assert isinstance(kept, Queued)
        await till.refund(Refund(amount=Decimal("300.00")), purchase_receipt=f"{name}-4")  # the 300.00 sale
        await till.client.aclose()
        till.client = AsyncClient(demo.url, key, retries=FAST)
        tills.append(till)
    reports = await asyncio.gather(*(till.upload() for till in tills), *(till.upload() for till in tills))
    assert sum(report.recorded for report in reports) == 12 and all(report.refused == [] for report in reports)
    assert [till.pending() for till in tills] == [[], []]
    # each till: 120 points on 4,000.00, less the 9 of the refunded 300.00 sale (all under the 10,000.00 of the
    # next tier, so the order the two uploads interleave in changes no figure)
    assert _balance(demo, card) == (2 * 111, Decimal("7400.00"))
    assert _kinds(demo, card) == ["purchase"] * 10 + ["refund"] * 2
    for till in tills:
        await till.client.aclose()
        till.close()


def test_the_async_offline_till_has_the_sync_ones_methods() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {name: inspect.signature(f) for name, f in vars(cls).items() if callable(f) and not name.startswith("_")}

    sync, asynchronous = public(OfflineTill), public(AsyncOfflineTill)
    assert sync.keys() == asynchronous.keys()
    for name in sync:
        assert str(sync[name]).replace("Client", "") == str(asynchronous[name]).replace("AsyncClient", ""), name
        assert inspect.iscoroutinefunction(getattr(AsyncOfflineTill, name)) == inspect.iscoroutinefunction(
            getattr(OfflineTill, name)
        ) or name in ("sell", "refund", "upload"), name
