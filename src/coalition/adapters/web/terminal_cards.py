"""The terminal's card actions, from the customer's screen: activate, block, unblock, report lost, replace with a new
card, and add a card to the customer — the POS API's own commands (POST /v1/cards/{number}/{action}, POST /v1/cards)
with an attempt key made when the screen was shown, so a double tap or a retry acts once. Only the customer's own
cards are acted on; the answer is the customer's screen again, refreshed, with what was done or why it was refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.templating import error_text
from coalition.adapters.web.terminal import (
    Cashier,
    FieldError,
    Till,
    _answered,
    _hash,
    _member,
    _refused,
    _till,
    read_key,
    text_of,
)
from coalition.application.pos_results import CardChanged, CommandResult
from coalition.domain import errors
from coalition.domain.cards import CardAction

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)

_DONE = {
    CardAction.ACTIVATE: "Card %(number)s is active.",
    CardAction.BLOCK: "Card %(number)s is blocked.",
    CardAction.UNBLOCK: "Card %(number)s is unblocked.",
    CardAction.REPORT_LOST: "Card %(number)s is reported lost.",
    CardAction.REPLACE: "Card %(number)s is replaced by %(new)s.",
}


async def _customer(till: Till, form: FormData) -> tuple[str, dict[str, Any]]:
    customer = text_of(form, "customer")
    return customer, await _member(till, customer)


@router.post("/cards/{number}/{action}")
async def change_card(request: Request, number: str, action: str, me: Cashier) -> HTMLResponse:
    form = await checked_form(request, me)
    till = await _till(request, me)
    try:
        chosen = CardAction(action)
    except ValueError:
        raise errors.NotFound(f"no card action '{action}'", field="action") from None
    try:
        customer, member = await _customer(till, form)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": text_of(form, "customer")})
    new_number = text_of(form, "new_number") if chosen is CardAction.REPLACE else ""
    try:
        key = read_key(till, form)
        if number not in {card.number for card in member["cards"]} and not await _answered(till, key):
            raise FieldError(till._("This card is not this customer's."), field="card")
        if chosen is CardAction.REPLACE and not new_number:
            raise FieldError(till._("Enter the new card's number."), field="card")
        intent = {"card": number, "action": str(chosen), "new_number": new_number, "customer": customer}
        changed = await services_of(request).pos.change_card(
            till.ctx, number, chosen, new_number or None, key, _hash("card action", intent)
        )
    except errors.DomainError as error:
        return _card_refused(till, member, error, values={"new_number": new_number})
    replacement = _replacement(changed)
    notice = till._(_DONE[chosen], number=number, new=replacement or new_number)
    # a replaced card no longer pays: the screen goes on with the new one
    refreshed = await _member(till, replacement or customer)
    return till.page("member.html", member=refreshed, values={}, card_notice=notice)


@router.post("/cards")
async def add_card(request: Request, me: Cashier) -> HTMLResponse:
    form = await checked_form(request, me)
    till = await _till(request, me)
    try:
        customer, member = await _customer(till, form)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": text_of(form, "customer")})
    number = text_of(form, "new_card")
    try:
        key = read_key(till, form)
        if not number:
            raise FieldError(till._("Enter the new card's number."), field="card")
        intent = {"number": number, "customer": customer}
        added = await services_of(request).pos.issue_card(till.ctx, number, customer, key, _hash("add card", intent))
    except errors.DomainError as error:
        return _card_refused(till, member, error, values={"new_card": number})
    issued = added.result.number if added.result is not None else str(added.body.get("number", number))  # or replayed
    notice = till._("Card %(number)s is added to this customer.", number=issued)
    return till.page("member.html", member=await _member(till, customer), values={}, card_notice=notice)


def _replacement(changed: CommandResult[CardChanged]) -> str | None:
    """The new card's number of a replacement, from the typed result (or, replayed, the answer first stored)."""
    if changed.result is not None:
        return changed.result.replaced_by.number if changed.result.replaced_by else None
    stored = changed.body.get("replaced_by")
    return str(stored["number"]) if isinstance(stored, dict) else None


def _card_refused(
    till: Till, member: dict[str, Any], error: errors.DomainError, values: dict[str, str]
) -> HTMLResponse:
    """The customer's screen with the card actions open and why the action was refused."""
    message = error.detail if isinstance(error, FieldError) else error_text(till.request, error.detail)
    return till.page("member.html", status_of(error), member=member, values=values, errors={"card": message})
