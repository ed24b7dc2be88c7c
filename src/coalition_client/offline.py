"""A till that keeps selling while the server is out of reach (docs/client.md, "Offline tills").

    till = OfflineTill(Client(url, api_key=key), "till-queue.sqlite3")
    till.sell(Purchase(customer=card, amount=Decimal("1000.00"), receipt="R-1"))   # a PurchaseAnswer, or Queued
    till.refund(Refund(amount=Decimal("400.00")), purchase_key=sale.idempotency_key)  # a RefundAnswer, or Queued
    till.upload()                                                                   # when the network is back

`sell` and `refund` try the server first (with the client's retries) and keep the sale or refund in the queue file
(offline_queue.py) with its idempotency key and the till's time (`occurred_at`, with offset) when the server cannot
be reached or answers 503. `upload` sends the queue in order through POST /v1/purchases/batch and
POST /v1/refunds/batch: recorded and replayed items leave the queue, refused ones stay with the server's reason.
Every item keeps its key from the moment it is made, so a sale whose online answer was lost, or an upload that
crashed before the queue was updated, is replayed by the server, never recorded twice.

`AsyncOfflineTill` is the same over an `AsyncClient` (the queue file is local: it is written in place).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from coalition_client import models as m
from coalition_client.aio import AsyncClient
from coalition_client.client import Client
from coalition_client.errors import ServiceUnavailable, TransportError, problem_for
from coalition_client.offline_queue import OfflineQueue, Queued, runs
from coalition_client.wire import to_json

Json = dict[str, Any]
# The server cannot be reached, or says it cannot answer now: the till keeps the item for later.
OUT_OF_REACH: tuple[type[Exception], ...] = (TransportError, ServiceUnavailable)


@dataclass(frozen=True)
class UploadReport:
    recorded: int  # recorded by this upload
    replayed: int  # the server had them already (an upload repeated after a crash, a sale whose answer was lost)
    refused: list[Queued]  # refused by the server: kept in the queue with its reason (`problem`)
    waiting: int  # still in the queue to send: the server went out of reach again during the upload

    @property
    def complete(self) -> bool:
        return self.waiting == 0


@dataclass(frozen=True)
class _Sale:
    key: str
    purchase: m.Purchase
    occurred_at: datetime


def _sale(purchase: m.Purchase, key: str | None) -> _Sale:
    occurred_at = purchase.occurred_at or datetime.now().astimezone()  # the till's own time, with its offset
    return _Sale(key or str(uuid.uuid4()), replace(purchase, occurred_at=occurred_at), occurred_at)


@dataclass(frozen=True)
class _RefundItem:
    key: str
    refund: m.Refund
    occurred_at: datetime
    item: Json  # the purchase's reference and the refund, as the queue and POST /v1/refunds/batch take it

    def batch(self) -> m.RefundBatch:
        return m.RefundBatch(refunds=[{**self.item, "idempotency_key": self.key}])


def _refund(
    body: m.Refund, purchase_id: str | None, purchase_key: str | None, purchase_receipt: str | None, key: str | None
) -> _RefundItem:
    reference = _reference(purchase_id, purchase_key, purchase_receipt)
    occurred_at = body.occurred_at or datetime.now().astimezone()
    refund = replace(body, occurred_at=occurred_at)
    return _RefundItem(key or str(uuid.uuid4()), refund, occurred_at, {**reference, **to_json(refund)})


def _reference(purchase_id: str | None, purchase_key: str | None, purchase_receipt: str | None) -> Json:
    given = {
        name: value
        for name, value in (
            ("purchase_id", purchase_id),
            ("purchase_key", purchase_key),
            ("purchase_receipt", purchase_receipt),
        )
        if value is not None
    }
    if len(given) != 1:
        raise ValueError("name the purchase by one of purchase_id, purchase_key or purchase_receipt")
    return given


def _single_refund(answer: m.RefundBatchAnswer) -> m.RefundAnswer:
    (result,) = answer.results
    if result.body is None or result.status >= 400:
        raise problem_for(result.status, result.problem or {"title": "refused"})
    return result.body


class _Tally:
    def __init__(self) -> None:
        self.recorded = self.replayed = 0
        self.refused: list[Queued] = []

    def settle(self, queue: OfflineQueue, run: list[Queued], results: list[tuple[int, bool, Json | None]]) -> None:
        """One batch's answers, item by item (status, replayed, problem), into the queue."""
        done: list[str] = []
        refused: list[tuple[str, Json]] = []
        for item, (status, replayed, problem) in zip(run, results, strict=True):
            if status < 300:
                done.append(item.idempotency_key)
                self.replayed += bool(replayed)
                self.recorded += not replayed
            elif status < 500:  # refused: kept with the reason; a 5xx item stays waiting
                refused.append((item.idempotency_key, problem or {"status": status}))
                self.refused.append(replace(item, problem=problem or {"status": status}))
        queue.settle(done, refused)

    def report(self, queue: OfflineQueue) -> UploadReport:
        return UploadReport(self.recorded, self.replayed, self.refused, len(queue.pending()))


def _batch(run: list[Queued]) -> m.Batch | m.RefundBatch:
    items = [item.item() for item in run]
    return m.Batch(purchases=items) if run[0].kind == "purchase" else m.RefundBatch(refunds=items)


def _results(answer: m.BatchAnswer | m.RefundBatchAnswer) -> list[tuple[int, bool, Json | None]]:
    return [(result.status, bool(result.replayed), result.problem) for result in answer.results]


class _Till:
    """What both tills do with their queue file (local: written in place, by the async till too)."""

    def __init__(self, queue_path: str | Path) -> None:
        self.queue = OfflineQueue(queue_path)

    def close(self) -> None:
        self.queue.close()

    def pending(self) -> list[Queued]:
        return self.queue.pending()

    def refused(self) -> list[Queued]:
        return self.queue.refused()

    def _keep_sale(self, sale: _Sale) -> Queued:
        return self.queue.add("purchase", sale.key, sale.occurred_at, to_json(sale.purchase), sale.purchase.receipt)

    def _keep_refund(self, refund: _RefundItem) -> Queued:
        return self.queue.add("refund", refund.key, refund.occurred_at, refund.item)

    def _behind_its_sale(self, purchase_id: str | None, purchase_key: str | None, receipt: str | None) -> bool:
        """The refund's purchase is still in the queue: the refund waits behind it."""
        return purchase_id is None and self.queue.holds_purchase(key=purchase_key, receipt=receipt)


class OfflineTill(_Till):
    def __init__(self, client: Client, queue_path: str | Path) -> None:
        super().__init__(queue_path)
        self.client = client
        self._uploading = threading.Lock()

    def sell(self, purchase: m.Purchase, *, idempotency_key: str | None = None) -> m.PurchaseAnswer | Queued:
        """The server's answer, or the sale kept in the queue when the server is out of reach. A refusal (a bad
        amount, an unknown card) is raised as it is online: it is the cashier's to handle, not the queue's."""
        sale = _sale(purchase, idempotency_key)
        try:
            return self.client.purchase(sale.purchase, idempotency_key=sale.key)
        except OUT_OF_REACH:
            return self._keep_sale(sale)

    def refund(
        self,
        body: m.Refund,
        *,
        purchase_id: str | None = None,
        purchase_key: str | None = None,
        purchase_receipt: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.RefundAnswer | Queued:
        """A refund of a purchase named by the server's id, by the key the till sold it with (a sale kept offline:
        `Queued.idempotency_key`) or by its receipt. A refund of a sale still in the queue waits behind it."""
        refund = _refund(body, purchase_id, purchase_key, purchase_receipt, idempotency_key)
        if self._behind_its_sale(purchase_id, purchase_key, purchase_receipt):
            return self._keep_refund(refund)
        try:
            if purchase_id is not None:
                return self.client.refund(purchase_id, refund.refund, idempotency_key=refund.key)
            return _single_refund(self.client.refund_batch(refund.batch()))
        except OUT_OF_REACH:
            return self._keep_refund(refund)

    def upload(self) -> UploadReport:
        """Send the queue in order; stop (items kept) when the server goes out of reach again."""
        with self._uploading:
            tally = _Tally()
            for run in runs(self.queue.pending()):
                try:
                    batch = _batch(run)
                    if isinstance(batch, m.Batch):
                        answer: m.BatchAnswer | m.RefundBatchAnswer = self.client.purchase_batch(batch)
                    else:
                        answer = self.client.refund_batch(batch)
                except OUT_OF_REACH:
                    break
                tally.settle(self.queue, run, _results(answer))
            return tally.report(self.queue)


class AsyncOfflineTill(_Till):
    def __init__(self, client: AsyncClient, queue_path: str | Path) -> None:
        super().__init__(queue_path)
        self.client = client
        self._uploading = asyncio.Lock()

    async def sell(self, purchase: m.Purchase, *, idempotency_key: str | None = None) -> m.PurchaseAnswer | Queued:
        sale = _sale(purchase, idempotency_key)
        try:
            return await self.client.purchase(sale.purchase, idempotency_key=sale.key)
        except OUT_OF_REACH:
            return self._keep_sale(sale)

    async def refund(
        self,
        body: m.Refund,
        *,
        purchase_id: str | None = None,
        purchase_key: str | None = None,
        purchase_receipt: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.RefundAnswer | Queued:
        refund = _refund(body, purchase_id, purchase_key, purchase_receipt, idempotency_key)
        if self._behind_its_sale(purchase_id, purchase_key, purchase_receipt):
            return self._keep_refund(refund)
        try:
            if purchase_id is not None:
                return await self.client.refund(purchase_id, refund.refund, idempotency_key=refund.key)
            return _single_refund(await self.client.refund_batch(refund.batch()))
        except OUT_OF_REACH:
            return self._keep_refund(refund)

    async def upload(self) -> UploadReport:
        async with self._uploading:
            tally = _Tally()
            for run in runs(self.queue.pending()):
                try:
                    batch = _batch(run)
                    if isinstance(batch, m.Batch):
                        answer: m.BatchAnswer | m.RefundBatchAnswer = await self.client.purchase_batch(batch)
                    else:
                        answer = await self.client.refund_batch(batch)
                except OUT_OF_REACH:
                    break
                tally.settle(self.queue, run, _results(answer))
            return tally.report(self.queue)


__all__ = ["OUT_OF_REACH", "AsyncOfflineTill", "OfflineTill", "Queued", "UploadReport"]
