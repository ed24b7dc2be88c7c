"""A device's offline uses over HTTP (issue 15): POST /v1/devices/offline-uses with the device's own key.

Each use is judged alone (its shape, its control characters, then the service): a bad use is answered with its own
problem naming `uses[i].<field>` and the others are recorded. Each use carries its own key; an Idempotency-Key on
the whole upload is optional (with it, a retry of the upload answers the first answer as it was).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from coalition.adapters.http.clean_input import MULTILINE_FIELDS, CheckedRoute
from coalition.adapters.http.dependencies import (
    MAX_IDEMPOTENCY_KEY,
    Svc,
    Terminal,
    request_hash,
    terminal_doc,
)
from coalition.adapters.http.device_charge_routes import Customer, Product, WalletPart
from coalition.adapters.http.problems import field_path, problem_body
from coalition.adapters.http.schemas import Body
from coalition.application.device_offline import OfflineUseInput, Outcome
from coalition.domain.device_charges import MAX_SESSION_MINUTES
from coalition.domain.device_offline import MAX_UPLOAD_USES
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, first_control_character_path

router = APIRouter(prefix="/v1/devices", tags=["Devices"], route_class=CheckedRoute)


class OfflineUse(Body):
    key: StrictStr = Field(min_length=1, max_length=64, description="the device's own key for this use")
    customer: Customer
    product: Product = None
    minutes: StrictInt | None = Field(
        default=None, ge=1, le=MAX_SESSION_MINUTES, description="a timed table's use: the minutes played"
    )
    occurred_at: StrictStr = Field(
        min_length=1, max_length=64, examples=["2026-03-10T14:00:00+03:00"], description="when it happened, with offset"
    )


class OfflineUploadBody(Body):
    uses: list[Any] = Field(
        min_length=1,
        max_length=MAX_UPLOAD_USES,
        description="the uses, each {key, customer, product?, minutes?, occurred_at} (see OfflineUse); each is "
        "judged alone",
    )


class OfflineUseResult(BaseModel):
    index: int
    key: str | None
    result: str = Field(description="charged, short, replayed or refused")
    member: int | None = None
    product: str | None = None
    minutes: int | None = None
    occurred_at: str | None = None
    currency: str | None = None
    amount: str | None = Field(default=None, description="the use's price by the price list then")
    paid: str | None = Field(default=None, description="what the wallet paid")
    unpaid: str | None = Field(default=None, description="what it could not pay: the device's partner bears it")
    over_offline_limit: bool | None = Field(
        default=None, description="the card's uses of this upload so far exceed the device's offline limit"
    )
    transaction: int | None = Field(default=None, description="the device_charge transaction (none: nothing paid)")
    recorded_at: str | None = None
    wallet: WalletPart | None = None
    rewards: dict[str, Any] | None = None
    first: dict[str, Any] | None = Field(default=None, description="replayed: the use's first result")
    problem: dict[str, Any] | None = Field(default=None, description="refused: why (problem+json)")


class OfflineUploadAnswer(BaseModel):
    results: list[OfflineUseResult]
    charged: int
    short: int
    replayed: int
    refused: int


def _judged(index: int, raw: object) -> OfflineUseInput | InvalidInput:
    where = f"uses[{index}]"
    found = first_control_character_path(raw, multiline_fields=MULTILINE_FIELDS)
    if found is not None:
        return InvalidInput(CONTROL_CHARACTER_MESSAGE, field=f"{where}.{found}")
    try:
        use = OfflineUse.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = f"{where}.{field_path(('body', *first['loc']))}" if first["loc"] else where
        return InvalidInput(f"{field}: {first['msg']}", field=field)
    return OfflineUseInput(use.key, use.customer, use.occurred_at, use.product, use.minutes)


def _result(index: int, raw: object, outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, DomainError):
        key = raw.get("key") if isinstance(raw, dict) and isinstance(raw.get("key"), str) else None
        return {"index": index, "key": key, "result": "refused", "problem": problem_body(outcome)}
    return {"index": index, **outcome}


@router.post(
    "/offline-uses",
    response_model=OfflineUploadAnswer,
    summary="Upload the uses a device sold while offline: each charged at its time, by the prices then",
    openapi_extra=terminal_doc(),
)
async def offline_uses(body: OfflineUploadBody, request: Request, svc: Svc, ctx: Terminal) -> JSONResponse:
    """Each use gets its own result, in order: `charged`, `short` (the wallet paid what it could; `unpaid` is the
    device partner's), `replayed` (its key was uploaded before: `first` is its first result), or `refused` with a
    problem naming `uses[i].<field>`. An `Idempotency-Key` header is optional: with it, a retry of the whole upload
    answers the first answer."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} characters", field="Idempotency-Key")
    fingerprint = await request_hash(request) if key is not None else ""
    if key is not None:
        stored = await svc.device_offline.stored_upload(ctx, key, fingerprint)
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})
    judged = [_judged(index, raw) for index, raw in enumerate(body.uses)]
    uses = [use for use in judged if isinstance(use, OfflineUseInput)]
    recorded = iter(await svc.device_offline.upload(ctx, uses) if uses else [])
    results: list[dict[str, Any]] = []
    for index, (raw, use) in enumerate(zip(body.uses, judged, strict=True)):
        outcome = next(recorded) if isinstance(use, OfflineUseInput) else use
        if isinstance(outcome, DomainError) and isinstance(use, OfflineUseInput):  # named within the use: now
            outcome.field = f"uses[{index}].{outcome.field or 'key'}"  # within the upload
        results.append(_result(index, raw, outcome))
    counts = {
        name: sum(1 for r in results if r["result"] == name) for name in ("charged", "short", "replayed", "refused")
    }
    answer = {"results": results, **counts}
    if key is not None:
        await svc.device_offline.remember_upload(ctx, key, fingerprint, json.loads(json.dumps(answer)))
    return JSONResponse(answer)
