"""POST /v1/refunds/batch: the refunds an offline till gave, uploaded beside its purchases (docs/client.md,
"Offline tills"). Each refund is judged alone: a malformed one is refused with its own 422 naming the field (relative
to the item, as in the purchase batch), the others are recorded; each carries its own idempotency key."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from coalition.adapters.http.clean_input import MULTILINE_FIELDS, CheckedRoute
from coalition.adapters.http.dependencies import Svc, Terminal, batch_refund_hash, terminal_doc
from coalition.adapters.http.pos_answers import RefundAnswer
from coalition.adapters.http.problems import field_path, problem_body, status_of
from coalition.adapters.http.schemas import BatchRefund, RefundBatchBody
from coalition.application.refund_batch import RefundBatchItem, RefundOutcome
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import (
    CONTROL_CHARACTER_MESSAGE,
    first_control_character_path,
    may_hold_control_characters,
)

router = APIRouter(prefix="/v1", tags=["POS"], route_class=CheckedRoute)


class RefundBatchItemAnswer(BaseModel):
    index: int
    status: int
    replayed: bool | None = None
    body: RefundAnswer | None = Field(default=None, description="the refund, when recorded or replayed")
    problem: dict[str, Any] | None = Field(default=None, description="why this refund was refused (problem+json)")


class RefundBatchAnswer(BaseModel):
    results: list[RefundBatchItemAnswer]
    committed: int
    replayed: int
    refused: int


def refund_item(raw: object, may_hold_controls: bool = True) -> RefundBatchItem | InvalidInput:
    """The refund to record, or why it is refused (its field named from the top of the item)."""
    found = first_control_character_path(raw, multiline_fields=MULTILINE_FIELDS) if may_hold_controls else None
    if found is not None:
        return InvalidInput(CONTROL_CHARACTER_MESSAGE, field=found)
    try:
        refund = BatchRefund.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = field_path(("body", *first["loc"]))
        return InvalidInput(f"{where}: {first['msg']}", field=where)
    if not refund.idempotency_key.strip():
        return InvalidInput("each refund needs an idempotency_key of 1–200 characters", field="idempotency_key")
    if not isinstance(raw, dict):  # model_validate takes only a mapping; this keeps the type checker informed
        return InvalidInput("a refund is an object", field="body")
    return RefundBatchItem(
        refund.idempotency_key,
        batch_refund_hash(raw),
        refund.to_input(),
        purchase_id=refund.purchase_id,
        purchase_key=refund.purchase_key,
        purchase_receipt=refund.purchase_receipt,
    )


@router.post(
    "/refunds/batch",
    summary="Record many refunds in one request (an offline till's); each gets its own answer",
    response_model=RefundBatchAnswer,
    openapi_extra=terminal_doc(),
)
async def refund_batch(body: RefundBatchBody, request: Request, svc: Svc, ctx: Terminal) -> Response:
    """Each refund carries its own `idempotency_key` and names its purchase by `purchase_id`, by `purchase_key` (the
    idempotency key this terminal recorded it with: a purchase sold offline, uploaded in an earlier batch or an
    earlier request) or by `purchase_receipt` (its receipt at this outlet). Refunds are recorded in order, each alone:
    a refused one writes nothing and does not stop the others."""
    suspect = may_hold_control_characters(await request.body())
    judged = [refund_item(raw, suspect) for raw in body.refunds]
    items = [item for item in judged if isinstance(item, RefundBatchItem)]
    recorded = iter(await svc.pos.refund_batch(ctx, items) if items else [])
    outcomes: list[RefundOutcome] = [item if isinstance(item, DomainError) else next(recorded) for item in judged]
    committed = replayed = refused = 0
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, DomainError):
            refused += 1
            results.append({"index": index, "status": status_of(outcome), "problem": problem_body(outcome)})
            continue
        if outcome.replayed:
            replayed += 1
        elif outcome.status_code < 400:
            committed += 1
        results.append(
            {"index": index, "status": outcome.status_code, "replayed": outcome.replayed, "body": outcome.body}
        )
    answer = {"results": results, "committed": committed, "replayed": replayed, "refused": refused}
    return Response(orjson.dumps(answer), media_type="application/json")
