"""The web terminal offline (docs/terminal.md "Offline"): an installable page whose service worker keeps the sale's
and the refund's first screens, and the upload of the sales and refunds the page queued while the network was down.

- `GET /terminal/manifest.webmanifest` and `GET /terminal/sw.js` are public (a browser fetches a manifest without
  cookies, and a service worker's script is the same for everyone): they say nothing about any network. The worker is
  served from under /terminal with `Service-Worker-Allowed: /terminal`, so its scope covers `/terminal` itself.
- `GET /terminal/refund` finds a purchase of the outlet by its receipt (or id) for its refund form; kept offline, it
  records a refund for upload instead.
- `POST /terminal/offline-sales` takes the queue (JSON, the session's CSRF token in `X-CSRF-Token`): its sales are
  recorded through the same batch path as `POST /v1/purchases/batch`, then its refunds through the refund batch of
  `POST /v1/refunds/batch` (terminal_offline_refunds.py), for the signed-in cashier at their outlet's terminal. Each
  sale and refund carries the key the page made for it (a UUID) and the moment it was made (with its offset): the
  server prices it at that moment, a replayed upload replays each answer and doubles nothing, and one refused item
  leaves the others recorded. Offline sales only earn: no points are spent on them. A refund may name a sale of the
  same queue: the sales are recorded first.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.pos_answers import stored_result
from coalition.adapters.http.problems import status_of
from coalition.adapters.http.schemas import TillMoment
from coalition.adapters.web.sessions import CsrfRejected, services_of, signed_in
from coalition.adapters.web.templating import gettext, language_of
from coalition.adapters.web.terminal import Till, _till, explain, field_of, read_amount
from coalition.adapters.web.terminal_offline_refunds import (
    MAX_OFFLINE_REFUNDS,
    UUID_PATTERN,
    OfflineRefund,
    by_receipt_instead,
    judge_refund,
    naming_problem,
    refund_answer,
)
from coalition.application.commands import PurchaseInput, fingerprint
from coalition.application.pos_results import CommandResult
from coalition.application.purchases.batch import BatchItem
from coalition.application.purchases.results import PurchaseResult
from coalition.application.refund_batch import RefundBatchItem, RefundOutcome
from coalition.application.web_sessions import WebIdentity
from coalition.domain import errors
from coalition.domain.money import format_minor

MAX_OFFLINE_SALES = 100  # per upload: the page sends its queue in parts of 50
_UUID = UUID_PATTERN
MAX_RECEIPT = 100  # the longest receipt a purchase records
SCOPE = "/terminal"
WORKER_SOURCE = Path(__file__).parent / "static" / "terminal_sw.js"


async def _cashier_with_csrf(
    request: Request, me: Annotated[WebIdentity, Depends(signed_in("terminal"))]
) -> WebIdentity:
    """The signed-in cashier, whose page sent the session's CSRF token in its header (checked before the body)."""
    sent = request.headers.get("x-csrf-token", "")
    if not me.csrf_token or not hmac.compare_digest(me.csrf_token.encode(), sent.encode()):
        raise CsrfRejected("the form's security token is missing or stale; reload the page", field="csrf_token")
    return me


Cashier = Annotated[WebIdentity, Depends(_cashier_with_csrf)]
SignedIn = Annotated[WebIdentity, Depends(signed_in("terminal"))]
router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)


class OfflineSale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: StrictStr = Field(pattern=_UUID, description="the UUID the page made when it queued the sale")
    customer: StrictStr = Field(min_length=1, max_length=256, description="the card number or phone typed")
    amount: StrictStr = Field(min_length=1, max_length=32, description="the check's amount as typed")
    occurred_at: TillMoment


class OfflineSales(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sales: list[OfflineSale] = Field(default_factory=list, max_length=MAX_OFFLINE_SALES)
    refunds: list[OfflineRefund] = Field(default_factory=list, max_length=MAX_OFFLINE_REFUNDS)


@dataclass(frozen=True)
class _Judged:
    sale: OfflineSale
    item: BatchItem | None = None
    refused: errors.DomainError | None = None


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    """What installs the terminal as an app: its name in the reader's language, its scope and icons."""
    body = {
        "name": gettext(request, "Coalition terminal"),
        "short_name": gettext(request, "Terminal"),
        "lang": language_of(request),
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f5f7",
        "theme_color": "#1a1f24",
        "icons": [
            {"src": "/static/terminal-icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/terminal-icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/terminal-icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
async def service_worker() -> Response:
    """The service worker, with the scope /terminal (one level above its own folder) allowed."""
    headers = {"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"}
    return Response(WORKER_SOURCE.read_bytes(), media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/refund")
async def refund_page(request: Request, me: SignedIn, purchase: str = "") -> Response:
    """The refund's first screen: a purchase of this outlet found by its receipt (or id), then its refund form.
    Kept by the service worker (its bare address only: it holds no customer's data), where it becomes the offline
    refund (terminal_offline.js) while the server cannot be reached."""
    till = await _till(request, me)
    typed = purchase.strip()
    if not typed:
        return till.page("refund_find.html", values={})
    try:
        if len(typed) > MAX_RECEIPT:
            raise errors.NotFound("this outlet has no purchase with this receipt", field="purchase")
        found = await services_of(request).web_terminal.outlet_purchase_named(till.ctx, typed)
    except errors.NotFound:
        message = till._("This outlet has no purchase with this receipt.")
        return till.page("refund_find.html", 404, values={"purchase": typed}, errors={"purchase": message})
    return RedirectResponse(f"/terminal/purchases/{found.purchase.id}/refund", 303)


@router.post("/offline-sales")
async def upload(request: Request, body: OfflineSales, me: Cashier) -> JSONResponse:
    """The page's queued sales, then its queued refunds, each answered by its key: recorded, replayed (uploaded
    before) or refused (why)."""
    if not body.sales and not body.refunds:
        raise errors.InvalidInput("send at least one sale or refund", field="sales")
    malformed = naming_problem(body.refunds)
    if malformed is not None:
        raise malformed
    till = await _till(request, me)
    services = services_of(request)
    cashier = await services.web_terminal.cashier_login(me.cashier_id or 0)
    results = await _record_sales(till, body.sales, cashier) if body.sales else []
    if body.refunds:
        results += await _record_refunds(till, body.refunds, cashier)
    counts = {kind: sum(1 for r in results if r["outcome"] == kind) for kind in ("recorded", "replayed", "refused")}
    return JSONResponse({"results": results, **counts})


async def _record_sales(till: Till, sales: list[OfflineSale], cashier: str) -> list[dict[str, Any]]:
    pos = services_of(till.request).pos
    judged = [_judge(till, sale, cashier) for sale in sales]
    items = [each.item for each in judged if each.item is not None]
    recorded = await pos.purchase_batch(till.ctx, items) if items else []
    # a sale's receipt is its key's: taken meanwhile means the same sale was being recorded by another upload at
    # that moment (a second tab, a retry racing the first), whose answer is stored now: sent once more, it replays
    racing = [index for index, outcome in enumerate(recorded) if _receipt_taken(outcome)]
    if racing:
        again = await pos.purchase_batch(till.ctx, [items[index] for index in racing])
        for index, replayed in zip(racing, again, strict=True):
            recorded[index] = replayed
    outcomes = iter(recorded)
    return [_answer(till, each.sale, each.refused or next(outcomes)) for each in judged]


async def _record_refunds(till: Till, refunds: list[OfflineRefund], cashier: str) -> list[dict[str, Any]]:
    """Each refund through the refund batch, in order; a text tried as a purchase id and found as none is tried
    once more as a receipt (a refused refund wrote nothing, so its key is still free)."""
    pos = services_of(till.request).pos
    judged = [judge_refund(till, refund, cashier) for refund in refunds]
    items = [each.item for each in judged if each.item is not None]
    recorded: list[RefundOutcome] = await pos.refund_batch(till.ctx, items) if items else []
    sent = [each for each in judged if each.item is not None]
    retry: list[tuple[int, RefundBatchItem]] = []
    for index, each in enumerate(sent):
        instead = by_receipt_instead(each, recorded[index])
        if instead is not None:
            retry.append((index, instead))
    if retry:
        again = await pos.refund_batch(till.ctx, [item for _, item in retry])
        for (index, _), outcome in zip(retry, again, strict=True):
            recorded[index] = outcome
    outcomes = iter(recorded)
    return [refund_answer(till, each.refund, each.refused or next(outcomes)) for each in judged]


def _judge(till: Till, sale: OfflineSale, cashier: str) -> _Judged:
    """The sale as a batch item (no points spent, this cashier, its own moment), or why it is refused now."""
    try:
        amount_minor = read_amount(till, sale.amount)
    except errors.DomainError as error:
        return _Judged(sale, refused=error)
    amount = format_minor(amount_minor, till.terms.currency)
    purchase = PurchaseInput(
        sale.customer.strip(),
        amount,
        redeem_points=0,
        receipt=f"web-{sale.key}",
        cashier=cashier,
        occurred_at=sale.occurred_at,
    )
    intent = {"customer": purchase.customer, "amount": amount, "at": sale.occurred_at.isoformat(), "by": cashier}
    request_hash = fingerprint("web terminal offline sale", json.dumps(intent, sort_keys=True).encode())
    return _Judged(sale, item=BatchItem(sale.key, request_hash, purchase))


def _receipt_taken(outcome: CommandResult[Any] | errors.DomainError) -> bool:
    return isinstance(outcome, errors.Conflict) and outcome.field == "receipt"


def _answer(till: Till, sale: OfflineSale, outcome: CommandResult[Any] | errors.DomainError) -> dict[str, Any]:
    if isinstance(outcome, errors.DomainError):
        return {
            "key": sale.key,
            "outcome": "refused",
            "status": status_of(outcome),
            "field": field_of(outcome),
            "reason": explain(till, outcome),
        }
    paid = stored_result(PurchaseResult, outcome.body)
    return {
        "key": sale.key,
        "kind": "sale",
        "outcome": "replayed" if outcome.replayed else "recorded",
        "status": outcome.status_code,
        "points_earned": paid.points_earned if paid else None,
        "receipt_url": f"/terminal/receipts/{sale.key}",
    }
