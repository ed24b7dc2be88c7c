"""The synchronous client. `AsyncClient` (coalition_client.aio) has the same methods, awaited.

    with Client("http://127.0.0.1:8000", api_key="term_demo_corner_shop") as till:
        sale = till.purchase(Purchase(customer="2000000000001", amount=Decimal("1000.00"), receipt="R-1"))

Every write carries an Idempotency-Key (a fresh one per call unless given) and is retried with the same key on
503, 429, 502/504 and lost connections; calls that change nothing are retried too; other writes never are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any, TypeVar

import httpx

from coalition_client import admin_models as admin
from coalition_client import models as m
from coalition_client import routes as r
from coalition_client._catalogue import CatalogueCalls
from coalition_client._core import (
    Retries,
    auth_headers,
    page_cursor,
    page_items,
    prepare,
    read,
    retry_after_seconds,
    should_retry,
)
from coalition_client._devices import DeviceCalls
from coalition_client._files import (
    CHUNK_BYTES,
    DOWNLOAD_ACCEPT,
    IMPORT_TIMEOUT_SECONDS,
    Destination,
    Source,
    Upload,
    broken,
    download,
    export_query,
    target,
)
from coalition_client._guarded import GuardedEdits
from coalition_client._keys_rules import KeyAndRuleCalls
from coalition_client._messages import MessageCalls
from coalition_client._money import MoneyCalls
from coalition_client._network import NetworkCalls
from coalition_client._plans_jobs import PlanAndJobCalls
from coalition_client._versions import VersionCalls
from coalition_client.errors import TransportError

A = TypeVar("A")
Json = dict[str, Any]
USER_AGENT = "coalition-client/1"


class Client(
    CatalogueCalls,
    DeviceCalls,
    PlanAndJobCalls,
    NetworkCalls,
    MoneyCalls,
    MessageCalls,
    KeyAndRuleCalls,
    VersionCalls,
    GuardedEdits,
):
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        retries: Retries | None = None,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """`http`: an httpx client of yours to send through (its base URL and transport); closed with this one."""
        self.retries = retries or Retries()
        self._headers = auth_headers(api_key, USER_AGENT)
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout_seconds, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        route: r.Route[A],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> A:
        """Any route of coalition_client.routes; the named methods below are this with the route filled in.
        `if_match`: the ETag of the version an edit is made on (`etag`); a resource changed since raises
        PreconditionFailed (412)."""
        sent = self.send(route, body, path=path, query=query, idempotency_key=idempotency_key, if_match=if_match)
        return read(route, sent)

    def pages(
        self,
        route: r.Route[Any],
        items: str,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[list[Any]]:
        """Every page of a list route, following `next_cursor` (docs/api.md "Conventions"): yields each page's
        `items` (e.g. `for page in client.pages(routes.COUPONS, "coupons", limit=500): ...`)."""
        cursor: str | None = None
        while True:
            page = self.call(route, path=path, query={**(query or {}), "limit": limit, "cursor": cursor})
            yield page_items(page, items)
            cursor = page_cursor(page)
            if cursor is None:
                return

    def send(
        self,
        route: r.Route[Any],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        """The call with its key and retries, but the last answer as it came (a refusal is not raised): for a
        program that reports status codes, such as the device simulator."""
        prepared = prepare(route, body, path, query, idempotency_key, if_match)
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = self._http.request(
                    prepared.method,
                    prepared.url,
                    headers=self._headers | prepared.headers,
                    json=prepared.json,
                    params=prepared.params,
                )
            except httpx.TransportError as error:
                if not should_retry(route, None, attempt, self.retries.attempts):
                    raise TransportError(f"{prepared.method} {prepared.url}: {error}") from error
                response = None
            if response is not None and not should_retry(route, response, attempt, self.retries.attempts):
                return response
            time.sleep(self._wait(attempt, response))
            attempt += 1

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        return self.retries.delay(attempt, None if response is None else retry_after_seconds(response))

    # ---- till (POS) ----
    def member(self, identifier: str) -> m.MemberSummary:
        return self.call(r.MEMBER, path={"identifier": identifier})

    def enrol(self, body: m.Enrol, *, idempotency_key: str | None = None) -> m.Enrolment:
        return self.call(r.ENROL, body, idempotency_key=idempotency_key)

    def quote(self, body: m.Quote) -> m.QuoteAnswer:
        return self.call(r.QUOTE, body)

    def purchase(self, body: m.Purchase, *, idempotency_key: str | None = None) -> m.PurchaseAnswer:
        return self.call(r.PURCHASE, body, idempotency_key=idempotency_key)

    def purchase_batch(self, body: m.Batch) -> m.BatchAnswer:
        return self.call(r.BATCH, body)

    def refund(self, purchase_id: str, body: m.Refund, *, idempotency_key: str | None = None) -> m.RefundAnswer:
        return self.call(r.REFUND, body, path={"purchase_id": purchase_id}, idempotency_key=idempotency_key)

    def refund_batch(self, body: m.RefundBatch) -> m.RefundBatchAnswer:
        return self.call(r.REFUND_BATCH, body)

    def issue_card(self, body: m.CardIssue, *, idempotency_key: str | None = None) -> m.CardIssued:
        return self.call(r.ISSUE_CARD, body, idempotency_key=idempotency_key)

    def replace_card(self, number: str, new_number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        """The balance and history stay with the member; the old card is `replaced`."""
        body = m.CardReplacement(new_number=new_number)
        return self.call(r.REPLACE_CARD, body, path={"number": number}, idempotency_key=idempotency_key)

    def block_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return self._card(number, "block", idempotency_key)

    def unblock_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return self._card(number, "unblock", idempotency_key)

    def report_card_lost(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return self._card(number, "report-lost", idempotency_key)

    def activate_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return self._card(number, "activate", idempotency_key)

    def _card(self, number: str, action: str, idempotency_key: str | None) -> m.CardChanged:
        path = {"number": number, "action": action}
        return self.call(r.CHANGE_CARD, path=path, idempotency_key=idempotency_key)

    def start_visit(self, body: m.Visit, *, idempotency_key: str | None = None) -> m.VisitChanged:
        return self.call(r.START_VISIT, body, idempotency_key=idempotency_key)

    def end_visit(self, visit_id: str, *, idempotency_key: str | None = None) -> m.VisitChanged:
        return self.call(r.END_VISIT, path={"visit_id": visit_id}, idempotency_key=idempotency_key)

    def visit(self, visit_id: str) -> m.VisitAnswer:
        return self.call(r.VISIT, path={"visit_id": visit_id})

    def top_up(self, body: m.TopUp, *, idempotency_key: str | None = None) -> m.ToppedUp:
        return self.call(r.TOP_UP, body, idempotency_key=idempotency_key)

    def wallet(self, identifier: str) -> m.Wallet:
        return self.call(r.WALLET, path={"identifier": identifier})

    def sell_gift_card(self, body: m.GiftCardSale, *, idempotency_key: str | None = None) -> m.GiftCard:
        return self.call(r.SELL_GIFT_CARD, body, idempotency_key=idempotency_key)

    def gift_card(self, card_number: str) -> m.GiftCard:
        return self.call(r.GIFT_CARD, path={"card_number": card_number})

    # ---- admin ----
    def network(self) -> Json:
        return self.call(r.NETWORK)

    def create_network(self, body: admin.Network) -> Json:
        return self.call(r.CREATE_NETWORK, body)

    def create_partner(self, body: admin.Partner, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_PARTNER, body, idempotency_key=idempotency_key)

    def create_outlet(self, body: admin.Outlet, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_OUTLET, body, idempotency_key=idempotency_key)

    def create_terminal(self, body: admin.Terminal, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_TERMINAL, body, idempotency_key=idempotency_key)

    def revoke_terminal(self, terminal_id: int) -> Json:
        return self.call(r.REVOKE_TERMINAL, path={"terminal_id": terminal_id})

    def member_statement(
        self,
        identifier: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Json:
        """A page of a member's statement: the newest `limit` transactions, oldest first; `next_cursor` reads the
        older ones (times as ISO 8601 with their offset)."""
        query = {"limit": limit, "cursor": cursor, "since": since, "until": until}
        return self.call(r.MEMBER_STATEMENT, path={"identifier": identifier}, query=query)

    def members(
        self,
        *,
        q: str | None = None,
        tier: str | None = None,
        segment: str | None = None,
        enrolled_since: str | None = None,
        enrolled_until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.MemberList:
        """A page of the network's members, newest first: by a part of the name or an identifier, tier, segment and
        enrolment time (ISO 8601 with the offset)."""
        query = {
            "q": q,
            "tier": tier,
            "segment": segment,
            "enrolled_since": enrolled_since,
            "enrolled_until": enrolled_until,
            "limit": limit,
            "cursor": cursor,
        }
        return self.call(r.MEMBERS, query=query)

    def rule_sets(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return self.call(r.RULE_SETS, query={"limit": limit, "cursor": cursor})

    def rule_set(self, version: int) -> Json:
        return self.call(r.RULE_SET, path={"version": version})

    def draft_rule_set(self) -> Json:
        return self.call(r.DRAFT_RULE_SET)

    def publish_rule_set(self) -> Json:
        return self.call(r.PUBLISH_RULE_SET)

    def close_period(self, body: admin.ClosePeriod) -> Json:
        return self.call(r.CLOSE_PERIOD, body)

    def statements(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return self.call(r.STATEMENTS, query={"limit": limit, "cursor": cursor})

    def statement(self, number: str) -> Json:
        return self.call(r.STATEMENT, path={"number": number})

    def partner_statement(self, number: str, partner_id: int) -> Json:
        return self.call(r.PARTNER_STATEMENT, path={"number": number, "partner_id": partner_id})

    def create_device(self, body: admin.Device, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_DEVICE, body, idempotency_key=idempotency_key)

    def devices(self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return self.call(r.DEVICES, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    def create_cashier(self, body: admin.Cashier) -> admin.CashierAnswer:
        return self.call(r.CREATE_CASHIER, body)

    def create_coupons(self, body: admin.Coupons) -> admin.CouponsCreated:
        return self.call(r.CREATE_COUPONS, body)

    def permissions(self) -> admin.PermissionsAnswer:
        return self.call(r.PERMISSIONS)

    def create_webhook(self, body: admin.Webhook) -> admin.WebhookCreated:
        return self.call(r.CREATE_WEBHOOK, body)

    def webhooks(self, *, limit: int | None = None, cursor: str | None = None) -> admin.WebhookList:
        return self.call(r.WEBHOOKS, query={"limit": limit, "cursor": cursor})

    def transactions(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        outlet_id: int | None = None,
        member_id: int | None = None,
        kind: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """A page of the ledger's transactions (times as ISO 8601 with their offset)."""
        query = {
            "since": since,
            "until": until,
            "outlet_id": outlet_id,
            "member_id": member_id,
            "kind": kind,
            "limit": limit,
            "cursor": cursor,
        }
        return self.call(r.TRANSACTIONS, query=query)

    def coupons(
        self,
        *,
        campaign: str | None = None,
        member_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.CouponList:
        query = {"campaign": campaign, "member_id": member_id, "limit": limit, "cursor": cursor}
        return self.call(r.COUPONS, query=query)

    def webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return self.call(r.WEBHOOK, path={"subscription_id": subscription_id})

    def pause_webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return self.call(r.PAUSE_WEBHOOK, path={"subscription_id": subscription_id})

    def resume_webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return self.call(r.RESUME_WEBHOOK, path={"subscription_id": subscription_id})

    def rotate_webhook_secret(self, subscription_id: int) -> admin.WebhookCreated:
        return self.call(r.ROTATE_WEBHOOK_SECRET, path={"subscription_id": subscription_id})

    def webhook_deliveries(
        self,
        subscription_id: int,
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        before_id: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """A page, newest first; `since`/`until`: created in that window (ISO 8601 with the offset)."""
        query = {"since": since, "until": until, "limit": limit, "before_id": before_id, "cursor": cursor}
        return self.call(r.WEBHOOK_DELIVERIES, path={"subscription_id": subscription_id}, query=query)

    # ---- files (docs/files.md, docs/exports.md) ----
    def import_members(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.MemberImport:
        """A members file (CSV or XLSX: a path, bytes or a binary file; `filename` names bytes). A file with a bad
        row is refused whole (FileRefused: `file_errors` names each row and column) unless `options.partial`."""
        return self._upload(r.IMPORT_MEMBERS, source, options, filename, timeout_seconds)

    def import_purchases(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.SalesImport:
        """Purchases made elsewhere; each row recorded once by its terminal and receipt, whatever is sent again."""
        return self._upload(r.IMPORT_PURCHASES, source, options, filename, timeout_seconds)

    def import_refunds(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.SalesImport:
        """Refunds of recorded purchases, each naming its purchase's receipt (`original_receipt`)."""
        return self._upload(r.IMPORT_REFUNDS, source, options, filename, timeout_seconds)

    def export_members(self, destination: Destination, *, output: admin.ExportFormat | None = None) -> admin.Download:
        """The members file (the columns the import reads, balances included), written to a path or binary file."""
        query = {"format": (output or admin.ExportFormat()).format}
        return self._download(r.EXPORT_MEMBERS, destination, {}, query)

    def export_transactions(
        self,
        destination: Destination,
        first_day: date,
        last_day: date | None = None,
        *,
        scope: admin.ExportScope | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """The ledger's postings of the period's days (in the scope's time zone), streamed to `destination`."""
        query = export_query(first_day=first_day, last_day=last_day, scope=scope, output=output)
        return self._download(r.EXPORT, destination, {"what": "transactions"}, query)

    def export_balances(
        self,
        destination: Destination,
        day: date,
        *,
        scope: admin.ExportScope | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """Every member's balances at the end of `day`, streamed to `destination`."""
        query = export_query(last_day=day, scope=scope, output=output)
        return self._download(r.EXPORT, destination, {"what": "balances"}, query)

    def export_statement(
        self,
        destination: Destination,
        number: int,
        *,
        partner: int | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """A settlement statement (one partner's lines when `partner` is given)."""
        query = export_query(scope=admin.ExportScope(partner=partner), output=output, number=number)
        return self._download(r.EXPORT, destination, {"what": "statement"}, query)

    def export_report(
        self,
        report: str,
        destination: Destination,
        first_day: date,
        last_day: date | None = None,
        *,
        scope: admin.ExportScope | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """A console report by name (sales-by-outlet, sales-by-cashier, sales-chart, day-transactions, anomalies,
        wallet-liability, gift-cards, gift-card-liability; docs/exports.md) for the period's days."""
        query = export_query(first_day=first_day, last_day=last_day, scope=scope, output=output)
        return self._download(r.EXPORT, destination, {"what": report}, query)

    def _upload(
        self,
        route: r.Route[A],
        source: Source,
        options: admin.ImportOptions | None,
        filename: str | None,
        timeout_seconds: float,
    ) -> A:
        upload = Upload(source, filename)
        try:
            attempt = 0
            while True:
                try:
                    response: httpx.Response | None = self._http.request(
                        route.method,
                        route.path,
                        headers=self._headers,
                        timeout=timeout_seconds,
                        **upload.parts(route.upload or "file", options),
                    )
                except httpx.TransportError as error:
                    if not should_retry(route, None, attempt, self.retries.attempts):
                        raise TransportError(f"{route.method} {route.path}: {error}") from error
                    response = None
                if response is not None and not should_retry(route, response, attempt, self.retries.attempts):
                    return read(route, response)
                time.sleep(self._wait(attempt, response))
                attempt += 1
        finally:
            upload.close()

    def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        """The file streamed to `destination` a chunk at a time; a refusal before its first byte is raised typed."""
        prepared = prepare(route, None, path, query)
        attempt = 0
        while True:
            try:
                with self._http.stream(
                    prepared.method, prepared.url, headers=self._headers | DOWNLOAD_ACCEPT, params=prepared.params
                ) as response:
                    if response.status_code < 400:
                        return self._write(response, destination)
                    response.read()
                    if not should_retry(route, response, attempt, self.retries.attempts):
                        read(route, response)  # raises the problem, typed
                    wait = self._wait(attempt, response)
            except httpx.TransportError as error:
                if not should_retry(route, None, attempt, self.retries.attempts):
                    raise TransportError(f"{prepared.method} {prepared.url}: {error}") from error
                wait = self._wait(attempt, None)
            time.sleep(wait)
            attempt += 1

    @staticmethod
    def _write(response: httpx.Response, destination: Destination) -> admin.Download:
        written = 0
        with target(destination) as out:
            try:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
            except httpx.TransportError as error:
                raise broken(response, error) from error
        return download(response, written)
