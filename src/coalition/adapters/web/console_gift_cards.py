"""Gift cards in the console (issue 14, point 5), at /console/gift-cards.

The administrator searches the network's cards (by a part of the number and by status) with their seller, balance,
validity and what purchases took from them; issues a card for a promotion (funded by the node), blocks and unblocks
a card, sets the gift-card breakage policy, and reads the outstanding liability — all through the same commands as
the admin API (application/gift_card_admin.py), each audited as the console user's. An owner sees the cards their
partner's outlets sold or took money from, and what their outlets took.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import network_of, partner_scope
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.gift_card_reports import GiftCardSearch, normalized_part
from coalition.application.gift_cards import GiftCardRequest
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]

DONE = {
    "issued": "The gift card %(number)s was issued.",
    "blocked": "The gift card %(number)s is blocked: nothing can be spent from it.",
    "unblocked": "The gift card %(number)s is unblocked.",
    "breakage": "The breakage policy was saved; the next expiry sweep follows it.",
}
ISSUE_FIELDS = ("amount", "pin", "valid_days", "number")


async def _page(
    request: Request, user: WebIdentity, failure: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    services = services_of(request)
    values = {name: request.query_params.get(name, "").strip() for name in ("q", "status")}
    scope = partner_scope(user)
    cards: list[Any] = []
    try:
        search = GiftCardSearch(normalized_part(values["q"]), values["status"], scope)
        cards = await services.gift_card_reports.cards(user.network_id, search, services.gift_cards.clock.now())
    except DomainError as error:
        failure = failure or {"form": "search", "field": error.field, "message": error_text(request, error.detail)}
        status_code = status_of(error)
    administrator = user.role == "administrator"
    done = request.query_params.get("done", "")
    notice = gettext(request, DONE[done], number=request.query_params.get("number", "")) if done in DONE else None
    context = {
        "me": user,
        "values": values,
        "cards": cards,
        "failure": failure,
        "notice": notice,
        "liability": await services.gift_card_reports.liability(user.network_id) if administrator else None,
        "breakage": await services.gift_cards.breakage(user.network_id) if administrator else None,
    }
    return render(request, "console/gift_cards.html", context, currency=user.currency, status_code=status_code)


@router.get("/gift-cards")
async def gift_cards_page(request: Request, user: ConsoleUser) -> Response:
    return await _page(request, user)


def _failure(request: Request, form: str, error: DomainError, values: dict[str, str]) -> dict[str, Any]:
    return {"form": form, "field": error.field, "message": error_text(request, error.detail), "values": values}


@router.post("/gift-cards")
async def issue(request: Request, me: Administrator) -> Response:
    """A card for a promotion: the node funds it (the same command as POST /v1/admin/gift-cards)."""
    form = await checked_form(request, me)
    typed = {name: str(form.get(name, "")).strip() for name in ISSUE_FIELDS}
    services = services_of(request)
    try:
        days = None
        if typed["valid_days"]:
            days = parse_whole_number(typed["valid_days"], field="valid_days", message="enter the days as a number")
        if not typed["amount"]:
            raise InvalidInput("enter the amount", field="amount")
        amount = typed["amount"].replace(",", ".")
        asked = GiftCardRequest(amount, None, typed["pin"] or None, days, typed["number"] or None)
        card = await services.gift_cards.issue(network_of(me), asked)
    except DomainError as error:
        typed.pop("pin")
        return await _page(request, me, _failure(request, "issue", error, typed), status_of(error))
    return RedirectResponse(f"/console/gift-cards?done=issued&number={quote(card.number)}&q={quote(card.number)}", 303)


@router.post("/gift-cards/{number}/{action}")
async def block_or_unblock(request: Request, me: Administrator, number: str, action: str) -> Response:
    await checked_form(request, me)
    try:
        if action not in ("block", "unblock"):
            raise InvalidInput("block or unblock", field="action")
        card = await services_of(request).gift_cards.set_blocked(me.network_id, number, action == "block")
    except DomainError as error:
        return await _page(request, me, _failure(request, "cards", error, {}), status_of(error))
    return RedirectResponse(f"/console/gift-cards?done={action}ed&number={quote(card.number)}", 303)


@router.post("/gift-card-breakage")
async def breakage(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    policy, share = str(form.get("policy", "")).strip(), str(form.get("share_bp", "")).strip()
    try:
        share_bp = None
        if policy == "shared":
            share_bp = parse_whole_number(share, field="share_bp", message="enter the share in basis points")
        await services_of(request).gift_cards.set_breakage(me.network_id, policy, share_bp)
    except DomainError as error:
        values = {"policy": policy, "share_bp": share}
        return await _page(request, me, _failure(request, "breakage", error, values), status_of(error))
    return RedirectResponse("/console/gift-cards?done=breakage#breakage-heading", 303)
