"""Many refunds in one request (POST /v1/refunds/batch): an offline till uploading the refunds it gave while the
network was down, beside its purchases (POST /v1/purchases/batch).

A till that was offline never learned the server's id of a purchase it sold offline, so a refund names its purchase
one of three ways: the server's `purchase_id`, the `purchase_key` (the idempotency key this terminal recorded the
purchase with) or the `purchase_receipt` (its receipt number at this terminal's outlet). Each refund is then the
single refund (application/refunds.py) under its own idempotency key, in its own unit of work, in input order: a
refund refused writes nothing and does not stop the others; a repeated key replays the first answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coalition.application.ports import TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult, Refunded
from coalition.application.purchases.batch import refusal
from coalition.application.refunds import RefundInput, refund
from coalition.domain.errors import DomainError, IdempotencyKeyReused, InvalidInput, PurchaseNotFound

MAX_REFUND_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class RefundBatchItem:
    idempotency_key: str
    request_hash: str
    refund: RefundInput
    purchase_id: str | None = None
    purchase_key: str | None = None
    purchase_receipt: str | None = None


RefundOutcome = CommandResult[Refunded] | DomainError


async def refund_batch(pos: PosParts, ctx: TerminalContext, items: Sequence[RefundBatchItem]) -> list[RefundOutcome]:
    if not 1 <= len(items) <= MAX_REFUND_BATCH_SIZE:
        raise InvalidInput(f"a batch has 1 to {MAX_REFUND_BATCH_SIZE} refunds", field="refunds")
    outcomes: list[RefundOutcome] = []
    for item in items:
        try:
            purchase_id = await _purchase_of(pos, ctx, item)
            outcomes.append(await refund(pos, ctx, purchase_id, item.refund, item.idempotency_key, item.request_hash))
        except IdempotencyKeyReused as reused:  # named as the item names it
            outcomes.append(IdempotencyKeyReused(str(reused), field="idempotency_key"))
        except DomainError as error:
            outcomes.append(refusal(error))
    return outcomes


async def _purchase_of(pos: PosParts, ctx: TerminalContext, item: RefundBatchItem) -> str:
    named = [name for name in (item.purchase_id, item.purchase_key, item.purchase_receipt) if name is not None]
    if len(named) != 1:
        raise InvalidInput(
            "name the purchase by one of purchase_id, purchase_key or purchase_receipt", field="purchase_id"
        )
    if item.purchase_id is not None:
        return item.purchase_id
    async with pos.unit_of_work() as uow:
        if item.purchase_key is not None:
            stored = (await uow.stored_responses(ctx.terminal_id, [item.purchase_key])).get(item.purchase_key)
            body = stored.body if stored is not None and stored.status_code == 201 else {}
            found = body.get("id") if "receipt" in body and "purchase_id" not in body else None  # a purchase's answer
            if not isinstance(found, str):
                raise PurchaseNotFound(
                    f"this terminal recorded no purchase with the idempotency key '{item.purchase_key}'",
                    field="purchase_key",
                )
            return found
        receipt = str(item.purchase_receipt).strip()
        by_receipt = await uow.purchase_id_by_receipt(ctx.outlet_id, receipt)
        if by_receipt is None:
            raise PurchaseNotFound(
                f"this outlet recorded no purchase with the receipt '{receipt}'", field="purchase_receipt"
            )
        return by_receipt
