"""The POS API: what tills, kiosks and card-issuing terminals call with a terminal key."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from coalition.adapters.http.batch_items import batch_item
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import (
    PosWriteOf,
    Svc,
    Terminal,
    answer,
    pos_write_doc,
    terminal_doc,
    till_write,
)
from coalition.adapters.http.pos_answers import (
    CardChangedAnswer,
    CardIssuedAnswer,
    DeviceUseAnswer,
    EnrolmentAnswer,
    GiftHonouredAnswer,
    MemberSummaryAnswer,
    RefundAnswer,
    VisitAnswer,
    VisitEndedAnswer,
    VisitStartedAnswer,
)
from coalition.adapters.http.problems import problem_body, status_of
from coalition.adapters.http.purchase_answers import BatchAnswer, PurchaseAnswer, QuoteAnswer
from coalition.adapters.http.schemas import (
    BatchBody,
    CardBody,
    DeviceUseBody,
    EnrolBody,
    PurchaseBody,
    QuoteBody,
    RefundBody,
    ReplaceCardBody,
    VisitBody,
)
from coalition.adapters.http.usual_purchase import PurchaseRoute
from coalition.application.pos_results import CommandResult
from coalition.application.purchases.batch import BatchItem
from coalition.domain.cards import CardAction
from coalition.domain.errors import DomainError
from coalition.domain.input_text import may_hold_control_characters

router = APIRouter(prefix="/v1", tags=["POS"], route_class=CheckedRoute)


@router.get(
    "/members/{identifier}",
    response_model=MemberSummaryAnswer,
    summary="Identify a member: name, card state, tier and balances",
    openapi_extra=terminal_doc(),
)
async def get_member(identifier: str, svc: Svc, ctx: Terminal) -> MemberSummaryAnswer:
    """No phone, e-mail or birth date. Lookups per terminal are budgeted (README "Rate limits"): 429 past it."""
    return MemberSummaryAnswer.of(await svc.member_lookups.summary(ctx, identifier))


@till_write(router, "/members", EnrolmentAnswer, "Enrol a member (personal or anonymous), optionally with a card", 201)
async def enrol(body: EnrolBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.enrol(w.ctx, body.to_input(), w.key, w.fingerprint))


@router.post(
    "/purchases/quote",
    summary="What a purchase would do under the rules; changes nothing",
    response_model=QuoteAnswer,
    openapi_extra=terminal_doc(),
)
async def quote(body: QuoteBody, svc: Svc, ctx: Terminal) -> JSONResponse:
    return JSONResponse((await svc.pos.quote(ctx, body.to_input())).json())


async def purchase(body: PurchaseBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.purchase(w.ctx, body.to_input(), w.key, w.fingerprint))


router.add_api_route(  # PurchaseRoute: the usual request skips FastAPI's per-request resolution (usual_purchase.py)
    "/purchases",
    purchase,
    methods=["POST"],
    status_code=201,
    summary="Record a purchase: spend and earn points",
    response_model=PurchaseAnswer,
    openapi_extra=pos_write_doc(),
    route_class_override=PurchaseRoute,
)
PURCHASE_ROUTE = next(route for route in router.routes if isinstance(route, PurchaseRoute))


@router.post(
    "/purchases/batch",
    summary="Record many purchases in one request; each gets its own answer",
    response_model=BatchAnswer,
    openapi_extra=terminal_doc(),
)
async def purchase_batch(body: BatchBody, request: Request, svc: Svc, ctx: Terminal) -> Response:
    """For offline tills uploading a day's sales and for integrations. Each purchase carries its own
    `idempotency_key`; a purchase refused by the rules writes nothing and does not stop the others."""
    suspect = may_hold_control_characters(await request.body())  # most batches cannot: no walk of each item
    judged = [batch_item(raw, suspect) for raw in body.purchases]  # the raw items: each is validated alone
    items = [item for item in judged if isinstance(item, BatchItem)]
    # every item refused at the door: nothing to record (the service refuses an empty batch as a whole)
    recorded = iter(await svc.pos.purchase_batch(ctx, items) if items else [])
    outcomes = [item if isinstance(item, DomainError) else next(recorded) for item in judged]
    committed = replayed = refused = 0
    parts: list[str] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, DomainError):
            refused += 1
        elif outcome.replayed:
            replayed += 1
        elif outcome.status_code == 201:
            committed += 1
        if not isinstance(outcome, DomainError) and outcome.status_code >= 400:
            refused += 1
        parts.append(_batch_result(index, outcome))
    counts = f'"committed":{committed},"replayed":{replayed},"refused":{refused}'
    return Response(f'{{"results":[{",".join(parts)}],{counts}}}', media_type="application/json")


def _result_json(value: object) -> str:
    return orjson.dumps(value).decode()  # compact and UTF-8, as the JSONEncoder it replaces was set up


def _batch_result(index: int, outcome: CommandResult | DomainError) -> str:
    """One item's answer as JSON: a committed or replayed purchase's body is the JSON stored with its key, spliced
    in as it is (each answer is encoded once per batch)."""
    if isinstance(outcome, DomainError):
        return _result_json({"index": index, "status": status_of(outcome), "problem": problem_body(outcome)})
    head = f'{{"index":{index},"status":{outcome.status_code},"replayed":{"true" if outcome.replayed else "false"}'
    body = outcome.body_json if outcome.body_json is not None else _result_json(outcome.body)
    return f'{head},"body":{body}}}'


@till_write(router, "/purchases/{purchase_id}/refunds", RefundAnswer, "Refund a purchase in full or in part", 201)
async def refund(purchase_id: str, body: RefundBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.refund(w.ctx, purchase_id, body.to_input(), w.key, w.fingerprint))


@till_write(router, "/cards", CardIssuedAnswer, "Issue a card: to an existing member, or as a new anonymous card", 201)
async def issue_card(body: CardBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.issue_card(w.ctx, body.number, body.member, w.key, w.fingerprint, body.card_type))


@till_write(
    router, "/cards/{number}/replace", CardChangedAnswer, "Replace a card; balance and history stay with the member"
)
async def replace_card(number: str, body: ReplaceCardBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.change_card(w.ctx, number, CardAction.REPLACE, body.new_number, w.key, w.fingerprint))


@till_write(router, "/cards/{number}/{action}", CardChangedAnswer, "activate, block, unblock or report-lost a card")
async def change_card(number: str, action: CardAction, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.change_card(w.ctx, number, action, None, w.key, w.fingerprint))


@till_write(
    router,
    "/gifts/{gift_id}/honour",
    GiftHonouredAnswer,
    "Hand a member's gift over at this outlet (once, where allowed)",
)
async def honour_gift(gift_id: str, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.pos.honour_gift(w.ctx, gift_id, w.key, w.fingerprint))


@till_write(
    router, "/visits", VisitStartedAnswer, "A member enters a closed venue: the visit starts (entry turnstile)", 201
)
async def start_visit(body: VisitBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.visits.start(w.ctx, body.customer, w.key, w.fingerprint))


@till_write(
    router,
    "/visits/{visit_id}/end",
    VisitEndedAnswer,
    "The member leaves: the visit ends and its unused balances reset",
)
async def end_visit(visit_id: str, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.visits.end(w.ctx, visit_id, w.key, w.fingerprint))


@till_write(router, "/device-uses", DeviceUseAnswer, "A member used a device: its outlet's device_use rules fire", 201)
async def device_use(body: DeviceUseBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.devices.record_use(w.ctx, body.customer, w.key, w.fingerprint))


@router.get(
    "/visits/{visit_id}",
    response_model=VisitAnswer,
    summary="A visit: where and when it started and ended",
    openapi_extra=terminal_doc(),
)
async def show_visit(visit_id: str, svc: Svc, ctx: Terminal) -> VisitAnswer:
    return VisitAnswer.of(await svc.visits.show(ctx, visit_id))
