"""Gift cards over HTTP: the till sells a card and asks a card's balance (terminal key); the administrator issues
cards for promotions, looks one up, blocks and unblocks it, sets the network's gift-card breakage policy and runs the
expiry sweep (admin key). Redemption is a purchase's tender (MONEY.md), not a route of its own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import (
    NetworkAdmin,
    PosWriteOf,
    Svc,
    Terminal,
    answer,
    pos_write_doc,
    terminal_doc,
)
from coalition.adapters.http.gift_card_answers import (
    GiftCardAnswer,
    GiftCardBody,
    GiftCardBreakageAnswer,
    GiftCardBreakageBody,
    GiftCardExpiryAnswer,
    GiftCardSaleBody,
)

pos_router = APIRouter(prefix="/v1", tags=["POS"], route_class=CheckedRoute)
admin_router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)

PinHeader = Annotated[
    str | None, Header(alias="Gift-Card-PIN", max_length=32, description="the card's PIN, when it has one")
]


# --- the till -------------------------------------------------------------------------------------------------


@pos_router.post(
    "/gift-cards",
    status_code=201,
    response_model=GiftCardAnswer,
    summary="Sell a gift card at this outlet (the sale earns no points)",
    openapi_extra=pos_write_doc(),
)
async def sell_gift_card(body: GiftCardSaleBody, w: PosWriteOf) -> JSONResponse:
    """The outlet's partner took the money and owes it to the node until the card is spent; needs `top_up` on the
    `gift_card` counter in the permissions matrix."""
    return answer(await w.svc.gift_cards.sell(w.ctx, body.to_request(), w.key, w.fingerprint))


@pos_router.get(
    "/gift-cards/{card_number}",
    response_model=GiftCardAnswer,
    summary="A gift card's balance and validity (its PIN in the Gift-Card-PIN header, when it has one)",
    openapi_extra=terminal_doc(),
)
async def gift_card_balance(card_number: str, svc: Svc, ctx: Terminal, pin: PinHeader = None) -> GiftCardAnswer:
    """Five wrong PINs in a row stop the card's PIN checks for 15 minutes (429 with Retry-After)."""
    return GiftCardAnswer.of(await svc.gift_cards.enquiry(ctx, card_number, pin))


# --- the administrator ----------------------------------------------------------------------------------------


@admin_router.post(
    "/gift-cards", status_code=201, response_model=GiftCardAnswer, summary="Issue a gift card (a promotion)"
)
async def issue_gift_card(body: GiftCardBody, svc: Svc, admin: NetworkAdmin) -> GiftCardAnswer:
    """Funded by the node (its PREPAID account); when it expires, what is left is the node's whatever the policy."""
    return GiftCardAnswer.of(await svc.gift_cards.issue(admin, body.to_request()))


@admin_router.get("/gift-cards/{card_number}", response_model=GiftCardAnswer, summary="A gift card (no PIN needed)")
async def show_gift_card(card_number: str, svc: Svc, admin: NetworkAdmin) -> GiftCardAnswer:
    return GiftCardAnswer.of(await svc.gift_cards.show(admin.id, card_number))


@admin_router.post("/gift-cards/{card_number}/block", response_model=GiftCardAnswer, summary="Block a gift card")
async def block_gift_card(card_number: str, svc: Svc, admin: NetworkAdmin) -> GiftCardAnswer:
    return GiftCardAnswer.of(await svc.gift_cards.set_blocked(admin.id, card_number, True))


@admin_router.post("/gift-cards/{card_number}/unblock", response_model=GiftCardAnswer, summary="Unblock a gift card")
async def unblock_gift_card(card_number: str, svc: Svc, admin: NetworkAdmin) -> GiftCardAnswer:
    return GiftCardAnswer.of(await svc.gift_cards.set_blocked(admin.id, card_number, False))


@admin_router.get(
    "/gift-card-breakage",
    response_model=GiftCardBreakageAnswer,
    summary="What becomes of an expired gift card's balance",
)
async def gift_card_breakage(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gift_cards.breakage(admin.id)


@admin_router.put(
    "/gift-card-breakage",
    response_model=GiftCardBreakageAnswer,
    summary="Keep, return to the seller or share an expired gift card's balance",
)
async def set_gift_card_breakage(body: GiftCardBreakageBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gift_cards.set_breakage(admin.id, body.policy, body.share_bp)


@admin_router.post(
    "/jobs/expire-gift-cards",
    response_model=GiftCardExpiryAnswer,
    summary="Post the balance of every expired gift card to breakage, by the network's policy",
)
async def expire_gift_cards(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.gift_cards.expire(admin.id)
