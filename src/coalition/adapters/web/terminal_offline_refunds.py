"""The refunds the web terminal kept offline (docs/terminal.md "Offline"), uploaded with its sales through
`POST /terminal/offline-sales` and recorded by the refund batch (application/refund_batch.py, POST /v1/refunds/batch's).

A queued refund carries its own key (a UUID), the device's time with its offset, an amount (none: all that is left of
the purchase when it is recorded) and names its purchase one of two ways:

- `sale_key`: a sale the page kept offline too. Its key is the idempotency key the upload recorded the sale with, so
  the batch finds it by `purchase_key` once the sale is recorded; the route records the upload's sales before its
  refunds.
- `purchase`: the receipt as printed (`web-…` for the terminal's own sales) or the purchase's id. Text shaped like a
  purchase id is tried as one, then as a receipt at this outlet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from coalition.adapters.http.pos_answers import stored_result
from coalition.adapters.http.problems import status_of
from coalition.adapters.http.schemas import TillMoment
from coalition.adapters.web.terminal import Till, explain, read_amount
from coalition.application.commands import fingerprint
from coalition.application.pos_results import Refunded
from coalition.application.refund_batch import RefundBatchItem, RefundOutcome
from coalition.application.refunds import RefundInput
from coalition.domain import errors
from coalition.domain.money import format_minor

MAX_OFFLINE_REFUNDS = 100  # per upload
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_PURCHASE_ID = re.compile(UUID_PATTERN)


class OfflineRefund(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: StrictStr = Field(pattern=UUID_PATTERN, description="the UUID the page made when it queued the refund")
    sale_key: StrictStr | None = Field(default=None, pattern=UUID_PATTERN, description="a sale kept offline: its key")
    purchase: StrictStr | None = Field(
        default=None, min_length=1, max_length=100, description="the purchase's receipt or id, as typed"
    )
    amount: StrictStr | None = Field(
        default=None, min_length=1, max_length=32, description="the part of the check refunded; none: all that is left"
    )
    occurred_at: TillMoment


@dataclass(frozen=True)
class JudgedRefund:
    refund: OfflineRefund
    item: RefundBatchItem | None = None
    refused: errors.DomainError | None = None


def naming_problem(refunds: list[OfflineRefund]) -> errors.InvalidInput | None:
    """A refund that names its purchase neither or both ways: the whole upload is malformed (its field named)."""
    for index, refund in enumerate(refunds):
        if (refund.sale_key is None) == (refund.purchase is None or not refund.purchase.strip()):
            return errors.InvalidInput(
                "name the purchase refunded by its sale_key or by its purchase (receipt or id), one of the two",
                field=f"refunds[{index}].purchase",
            )
    return None


def judge_refund(till: Till, refund: OfflineRefund, cashier: str) -> JudgedRefund:
    """The refund as an item of the refund batch (this cashier, its own moment), or why it is refused now."""
    amount: str | None = None
    if refund.amount is not None:
        try:
            amount = format_minor(read_amount(till, refund.amount), till.terms.currency)
        except errors.DomainError as error:
            return JudgedRefund(refund, refused=error)
    command = RefundInput(amount=amount, cashier=cashier, occurred_at=refund.occurred_at, whole=amount is None)
    typed = (refund.purchase or "").strip()
    intent = {
        "sale": refund.sale_key,
        "purchase": typed or None,
        "amount": amount or "all that is left",
        "at": refund.occurred_at.isoformat(),
        "by": cashier,
    }
    request_hash = fingerprint("web terminal offline refund", json.dumps(intent, sort_keys=True).encode())
    item = RefundBatchItem(refund.key, request_hash, command)
    if refund.sale_key is not None:
        return JudgedRefund(refund, item=replace(item, purchase_key=refund.sale_key))
    if _PURCHASE_ID.match(typed):
        return JudgedRefund(refund, item=replace(item, purchase_id=typed.lower()))
    return JudgedRefund(refund, item=replace(item, purchase_receipt=typed))


def by_receipt_instead(judged: JudgedRefund, outcome: RefundOutcome) -> RefundBatchItem | None:
    """A text tried as a purchase id that is none of this partner's: the same refund to try by receipt."""
    item = judged.item
    if item is None or item.purchase_id is None or not isinstance(outcome, errors.PurchaseNotFound):
        return None
    return replace(item, purchase_id=None, purchase_receipt=(judged.refund.purchase or "").strip())


def refund_answer(till: Till, refund: OfflineRefund, outcome: RefundOutcome) -> dict[str, Any]:
    """The page's answer about one refund: recorded, replayed or refused (with the cashier's words)."""
    if isinstance(outcome, errors.DomainError):
        return {
            "key": refund.key,
            "kind": "refund",
            "outcome": "refused",
            "status": status_of(outcome),
            "field": _field_of(refund, outcome),
            "reason": _explain(till, refund, outcome),
        }
    done = stored_result(Refunded, outcome.body)
    return {
        "key": refund.key,
        "kind": "refund",
        "outcome": "replayed" if outcome.replayed else "recorded",
        "status": outcome.status_code,
        "amount": format_minor(done.amount_minor, done.currency) if done else None,
        "points_clawed_back": done.points_clawed_back if done else None,
        "points_returned": done.points_returned if done else None,
        "receipt_url": f"/terminal/refunds/{refund.key}",
    }


def _field_of(refund: OfflineRefund, error: errors.DomainError) -> str:
    field = error.field or "form"
    if field in ("purchase_id", "purchase_key", "purchase_receipt"):
        return "sale_key" if refund.sale_key is not None else "purchase"
    return field


def _explain(till: Till, refund: OfflineRefund, error: errors.DomainError) -> str:
    if isinstance(error, errors.PurchaseNotFound):
        if refund.sale_key is not None:
            return till._("The sale this refund is for was not recorded.")
        return till._("This outlet has no purchase with this receipt.")
    if isinstance(error, errors.RefundNotAllowed) and refund.amount is None:
        return till._("This purchase is refunded in full already.")
    return explain(till, error)
