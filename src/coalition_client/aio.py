"""The asyncio client: the methods of coalition_client.client.Client, awaited (tests check they match).

    async with AsyncClient("http://127.0.0.1:8000", api_key="term_demo_corner_shop") as till:
        sale = await till.purchase(Purchase(customer="2000000000001", amount=Decimal("1000.00"), receipt="R-1"))

Every write carries an Idempotency-Key (a fresh one per call unless given) and is retried with the same key on
503, 429, 502/504 and lost connections; calls that change nothing are retried too; other writes never are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, TypeVar

import httpx

from coalition_client import admin_models as admin
from coalition_client import models as m
from coalition_client import routes as r
from coalition_client._catalogue import AsyncCatalogueCalls
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
from coalition_client._devices import AsyncDeviceCalls
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
from coalition_client._guarded import AsyncGuardedEdits
from coalition_client._keys_rules import AsyncKeyAndRuleCalls
from coalition_client._messages import AsyncMessageCalls
from coalition_client._money import AsyncMoneyCalls
from coalition_client._network import AsyncNetworkCalls
from coalition_client._plans_jobs import AsyncPlanAndJobCalls
from coalition_client._versions import AsyncVersionCalls
from coalition_client.errors import TransportError

A = TypeVar("A")
Json = dict[str, Any]
USER_AGENT = "coalition-client/1"


class AsyncClient(
    AsyncCatalogueCalls,
    AsyncDeviceCalls,
    AsyncPlanAndJobCalls,
    AsyncNetworkCalls,
    AsyncMoneyCalls,
    AsyncMessageCalls,
    AsyncKeyAndRuleCalls,
    AsyncVersionCalls,
    AsyncGuardedEdits,
):
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """`http`: an httpx client of yours to send through (its base URL and transport); closed with this one."""
        self.retries = retries or Retries()
        self._headers = auth_headers(api_key, USER_AGENT)
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
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
        sent = await self.send(route, body, path=path, query=query, idempotency_key=idempotency_key, if_match=if_match)
        return read(route, sent)

    async def pages(
        self,
        route: r.Route[Any],
        items: str,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Every page of a list route, following `next_cursor` (docs/api.md "Conventions")."""
        cursor: str | None = None
        while True:
            page = await self.call(route, path=path, query={**(query or {}), "limit": limit, "cursor": cursor})
            yield page_items(page, items)
            cursor = page_cursor(page)
            if cursor is None:
                return

    async def send(
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
                response: httpx.Response | None = await self._http.request(
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
            await asyncio.sleep(self._wait(attempt, response))
            attempt += 1

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        return self.retries.delay(attempt, None if response is None else retry_after_seconds(response))

    # ---- till (POS) ----
    async def member(self, identifier: str) -> m.MemberSummary:
        return await self.call(r.MEMBER, path={"identifier": identifier})

    async def enrol(self, body: m.Enrol, *, idempotency_key: str | None = None) -> m.Enrolment:
        return await self.call(r.ENROL, body, idempotency_key=idempotency_key)

    async def quote(self, body: m.Quote) -> m.QuoteAnswer:
        return await self.call(r.QUOTE, body)

    async def purchase(self, body: m.Purchase, *, idempotency_key: str | None = None) -> m.PurchaseAnswer:
        return await self.call(r.PURCHASE, body, idempotency_key=idempotency_key)

    async def purchase_batch(self, body: m.Batch) -> m.BatchAnswer:
        return await self.call(r.BATCH, body)

    async def refund(self, purchase_id: str, body: m.Refund, *, idempotency_key: str | None = None) -> m.RefundAnswer:
        return await self.call(r.REFUND, body, path={"purchase_id": purchase_id}, idempotency_key=idempotency_key)

    async def refund_batch(self, body: m.RefundBatch) -> m.RefundBatchAnswer:
        return await self.call(r.REFUND_BATCH, body)

    async def issue_card(self, body: m.CardIssue, *, idempotency_key: str | None = None) -> m.CardIssued:
        return await self.call(r.ISSUE_CARD, body, idempotency_key=idempotency_key)

    async def replace_card(self, number: str, new_number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        """The balance and history stay with the member; the old card is `replaced`."""
        body = m.CardReplacement(new_number=new_number)
        return await self.call(r.REPLACE_CARD, body, path={"number": number}, idempotency_key=idempotency_key)

    async def block_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return await self._card(number, "block", idempotency_key)

    async def unblock_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return await self._card(number, "unblock", idempotency_key)

    async def report_card_lost(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return await self._card(number, "report-lost", idempotency_key)

    async def activate_card(self, number: str, *, idempotency_key: str | None = None) -> m.CardChanged:
        return await self._card(number, "activate", idempotency_key)

    async def _card(self, number: str, action: str, idempotency_key: str | None) -> m.CardChanged:
        path = {"number": number, "action": action}
        return await self.call(r.CHANGE_CARD, path=path, idempotency_key=idempotency_key)

    async def start_visit(self, body: m.Visit, *, idempotency_key: str | None = None) -> m.VisitChanged:
        return await self.call(r.START_VISIT, body, idempotency_key=idempotency_key)

    async def end_visit(self, visit_id: str, *, idempotency_key: str | None = None) -> m.VisitChanged:
        return await self.call(r.END_VISIT, path={"visit_id": visit_id}, idempotency_key=idempotency_key)

    async def visit(self, visit_id: str) -> m.VisitAnswer:
        return await self.call(r.VISIT, path={"visit_id": visit_id})

    async def top_up(self, body: m.TopUp, *, idempotency_key: str | None = None) -> m.ToppedUp:
        return await self.call(r.TOP_UP, body, idempotency_key=idempotency_key)

    async def wallet(self, identifier: str) -> m.Wallet:
        return await self.call(r.WALLET, path={"identifier": identifier})

    async def sell_gift_card(self, body: m.GiftCardSale, *, idempotency_key: str | None = None) -> m.GiftCard:
        return await self.call(r.SELL_GIFT_CARD, body, idempotency_key=idempotency_key)

    async def gift_card(self, card_number: str) -> m.GiftCard:
        return await self.call(r.GIFT_CARD, path={"card_number": card_number})

    # ---- admin ----
    async def network(self) -> Json:
        return await self.call(r.NETWORK)

    async def create_network(self, body: admin.Network) -> Json:
        return await self.call(r.CREATE_NETWORK, body)

    async def create_partner(self, body: admin.Partner, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_PARTNER, body, idempotency_key=idempotency_key)

    async def create_outlet(self, body: admin.Outlet, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_OUTLET, body, idempotency_key=idempotency_key)

    async def create_terminal(self, body: admin.Terminal, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_TERMINAL, body, idempotency_key=idempotency_key)

    async def revoke_terminal(self, terminal_id: int) -> Json:
        return await self.call(r.REVOKE_TERMINAL, path={"terminal_id": terminal_id})

    async def member_statement(
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
        return await self.call(r.MEMBER_STATEMENT, path={"identifier": identifier}, query=query)

    async def members(
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
        return await self.call(r.MEMBERS, query=query)

    async def rule_sets(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return await self.call(r.RULE_SETS, query={"limit": limit, "cursor": cursor})

    async def rule_set(self, version: int) -> Json:
        return await self.call(r.RULE_SET, path={"version": version})

    async def draft_rule_set(self) -> Json:
        return await self.call(r.DRAFT_RULE_SET)

    async def publish_rule_set(self) -> Json:
        return await self.call(r.PUBLISH_RULE_SET)

    async def close_period(self, body: admin.ClosePeriod) -> Json:
        return await self.call(r.CLOSE_PERIOD, body)

    async def statements(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return await self.call(r.STATEMENTS, query={"limit": limit, "cursor": cursor})

    async def statement(self, number: str) -> Json:
        return await self.call(r.STATEMENT, path={"number": number})

    async def partner_statement(self, number: str, partner_id: int) -> Json:
        return await self.call(r.PARTNER_STATEMENT, path={"number": number, "partner_id": partner_id})

    async def create_device(self, body: admin.Device, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_DEVICE, body, idempotency_key=idempotency_key)

    async def devices(
        self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Json:
        """One page (docs/api.md "Conventions"): its `next_cursor` is the next one's `cursor`; `pages` walks them."""
        return await self.call(r.DEVICES, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    async def create_cashier(self, body: admin.Cashier) -> admin.CashierAnswer:
        return await self.call(r.CREATE_CASHIER, body)

    async def create_coupons(self, body: admin.Coupons) -> admin.CouponsCreated:
        return await self.call(r.CREATE_COUPONS, body)

    async def permissions(self) -> admin.PermissionsAnswer:
        return await self.call(r.PERMISSIONS)

    async def create_webhook(self, body: admin.Webhook) -> admin.WebhookCreated:
        return await self.call(r.CREATE_WEBHOOK, body)

    async def webhooks(self, *, limit: int | None = None, cursor: str | None = None) -> admin.WebhookList:
        return await self.call(r.WEBHOOKS, query={"limit": limit, "cursor": cursor})

    async def transactions(
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
        return await self.call(r.TRANSACTIONS, query=query)

    async def coupons(
        self,
        *,
        campaign: str | None = None,
        member_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.CouponList:
        query = {"campaign": campaign, "member_id": member_id, "limit": limit, "cursor": cursor}
        return await self.call(r.COUPONS, query=query)

    async def webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return await self.call(r.WEBHOOK, path={"subscription_id": subscription_id})

    async def pause_webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return await self.call(r.PAUSE_WEBHOOK, path={"subscription_id": subscription_id})

    async def resume_webhook(self, subscription_id: int) -> admin.WebhookAnswer:
        return await self.call(r.RESUME_WEBHOOK, path={"subscription_id": subscription_id})

    async def rotate_webhook_secret(self, subscription_id: int) -> admin.WebhookCreated:
        return await self.call(r.ROTATE_WEBHOOK_SECRET, path={"subscription_id": subscription_id})

    async def webhook_deliveries(
        self,
        subscription_id: int,
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        before_id: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        query = {"since": since, "until": until, "limit": limit, "before_id": before_id, "cursor": cursor}
        return await self.call(r.WEBHOOK_DELIVERIES, path={"subscription_id": subscription_id}, query=query)

    # ---- files (docs/files.md, docs/exports.md) ----
    async def import_members(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.MemberImport:
        """A members file (CSV or XLSX: a path, bytes or a binary file; `filename` names bytes). A file with a bad
        row is refused whole (FileRefused: `file_errors` names each row and column) unless `options.partial`."""
        return await self._upload(r.IMPORT_MEMBERS, source, options, filename, timeout_seconds)

    async def import_purchases(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.SalesImport:
        """Purchases made elsewhere; each row recorded once by its terminal and receipt, whatever is sent again."""
        return await self._upload(r.IMPORT_PURCHASES, source, options, filename, timeout_seconds)

    async def import_refunds(
        self,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.SalesImport:
        """Refunds of recorded purchases, each naming its purchase's receipt (`original_receipt`)."""
        return await self._upload(r.IMPORT_REFUNDS, source, options, filename, timeout_seconds)

    async def export_members(
        self, destination: Destination, *, output: admin.ExportFormat | None = None
    ) -> admin.Download:
        """The members file (the columns the import reads, balances included), written to a path or binary file."""
        query = {"format": (output or admin.ExportFormat()).format}
        return await self._download(r.EXPORT_MEMBERS, destination, {}, query)

    async def export_transactions(
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
        return await self._download(r.EXPORT, destination, {"what": "transactions"}, query)

    async def export_balances(
        self,
        destination: Destination,
        day: date,
        *,
        scope: admin.ExportScope | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """Every member's balances at the end of `day`, streamed to `destination`."""
        query = export_query(last_day=day, scope=scope, output=output)
        return await self._download(r.EXPORT, destination, {"what": "balances"}, query)

    async def export_statement(
        self,
        destination: Destination,
        number: int,
        *,
        partner: int | None = None,
        output: admin.ExportFormat | None = None,
    ) -> admin.Download:
        """A settlement statement (one partner's lines when `partner` is given)."""
        query = export_query(scope=admin.ExportScope(partner=partner), output=output, number=number)
        return await self._download(r.EXPORT, destination, {"what": "statement"}, query)

    async def export_report(
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
        return await self._download(r.EXPORT, destination, {"what": report}, query)

    async def _upload(
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
                    response: httpx.Response | None = await self._http.request(
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
                await asyncio.sleep(self._wait(attempt, response))
                attempt += 1
        finally:
            upload.close()

    async def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        """The file streamed to `destination` a chunk at a time; a refusal before its first byte is raised typed."""
        prepared = prepare(route, None, path, query)
        attempt = 0
        while True:
            try:
                async with self._http.stream(
                    prepared.method, prepared.url, headers=self._headers | DOWNLOAD_ACCEPT, params=prepared.params
                ) as response:
                    if response.status_code < 400:
                        return await self._write(response, destination)
                    await response.aread()
                    if not should_retry(route, response, attempt, self.retries.attempts):
                        read(route, response)  # raises the problem, typed
                    wait = self._wait(attempt, response)
            except httpx.TransportError as error:
                if not should_retry(route, None, attempt, self.retries.attempts):
                    raise TransportError(f"{prepared.method} {prepared.url}: {error}") from error
                wait = self._wait(attempt, None)
            await asyncio.sleep(wait)
            attempt += 1

    @staticmethod
    async def _write(response: httpx.Response, destination: Destination) -> admin.Download:
        written = 0
        with target(destination) as out:
            try:
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
            except httpx.TransportError as error:
                raise broken(response, error) from error
        return download(response, written)
