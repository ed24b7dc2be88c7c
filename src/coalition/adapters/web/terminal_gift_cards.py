"""The terminal's gift cards (issue 14, point 5): sell a card and ask a card's balance, at /terminal/gift-cards.

A sale is two steps, like a top-up: the amount (typed as the check's amount is), checked — within the network's
limit, the permissions matrix letting this outlet sell (`top_up` on `gift_card`) — before the cashier takes the
money; then the confirm ("Take RUB 1,000.00"), where the customer may type a PIN, carrying an attempt key made when
it was shown. The confirm is the POS API's own command (POST /v1/gift-cards), so a double tap or a retry sells once;
the receipt, with the card's number, is read from the stored answer. The PIN is never put in a page or a hidden field
and is not part of the attempt's fingerprint (a stored hash of a 4-digit PIN would give it away).

Paying by gift card is a choice on the collect screen (step 4), beside the wallet: the card's number, the PIN the
customer types, and all it can pay of what is left or an amount. The quote with that tender gives the card's part
and what is left to collect; the confirm sends the same tender (the PIN carried to it in the form, never stored),
so the server checks the card, its PIN and the matrix (`spend` on `gift_card`) again, and a refusal writes nothing.

The balance enquiry is GET /v1/gift-cards/{number}'s: the number and, for a card with one, its PIN (wrong PINs
counted, five in a row stop its checks for a while). Refusals come back beside the field at fault, nothing written.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.gift_card_answers import GiftCardAnswer
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.terminal import (
    Cashier,
    FieldError,
    Till,
    _hash,
    _member,
    _quote,
    _till,
    explain,
    new_key,
    read_amount,
    read_coupons,
    read_key,
    read_points,
    text_of,
)
from coalition.adapters.web.terminal import _refused as _sale_refused
from coalition.adapters.web.terminal_money import WALLET_ALL, gift_card_refusal
from coalition.application.gift_card_checks import check_sale
from coalition.application.gift_cards import GiftCardRequest, GiftCardView
from coalition.domain import errors
from coalition.domain.money import format_minor

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)

# the API's fields → the page's inputs (the sale's amount, the enquiry's number and PIN, the confirm's PIN)
_SELL_FIELDS = {"amount": "sell_amount", "currency": "sell_amount", "pin": "sell_pin", "key": "key"}
_ENQUIRY_FIELDS = {"card_number": "number", "number": "number", "pin": "pin"}


def _message(till: Till, error: errors.DomainError) -> str:
    if isinstance(error, errors.TooManyAttempts):
        return till._("Too many wrong PINs: this card's PIN cannot be checked for a while.")
    return explain(till, error)


def _page(till: Till, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("values", {})
    return till.page("gift_cards.html", status_code, **context)


def _refused(
    till: Till, error: errors.DomainError, fields: dict[str, str], default: str, **context: Any
) -> HTMLResponse:
    field = fields.get(error.field or "", default)
    return _page(till, status_of(error), errors={field: _message(till, error)}, **context)


@router.get("/gift-cards")
async def gift_cards(request: Request, me: Cashier) -> HTMLResponse:
    """Sell a card, or ask a card's balance."""
    return _page(await _till(request, me))


async def _sale_amount(till: Till, typed: str) -> int:
    amount = format_minor(read_amount(till, typed, field="sell_amount"), till.terms.currency)
    return await check_sale(services_of(till.request).gift_cards, till.ctx, amount, field="amount")


@router.post("/gift-cards/sell")
async def sell_review(request: Request, me: Cashier) -> HTMLResponse:
    """The amount → what to take from the customer; the confirm carries a new attempt's key."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    typed = text_of(form, "sell_amount")
    try:
        amount_minor = await _sale_amount(till, typed)
    except errors.DomainError as error:
        return _refused(till, error, _SELL_FIELDS, "sell_amount", values={"sell_amount": typed})
    sale = {"amount": format_minor(amount_minor, till.terms.currency), "amount_minor": amount_minor}
    return till.page("gift_card_sell.html", sale=sale, key=new_key(), values={})


@router.post("/gift-cards")
async def sell(request: Request, me: Cashier) -> Response:
    """The sale, once per key: the receipt with the card's number, or why it was refused (nothing written)."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    services = services_of(request)
    typed, pin = text_of(form, "sell_amount"), text_of(form, "sell_pin")
    try:
        amount_minor = read_amount(till, typed, field="sell_amount")
    except errors.DomainError as error:
        return _refused(till, error, _SELL_FIELDS, "sell_amount", values={"sell_amount": typed})
    amount = format_minor(amount_minor, till.terms.currency)
    sale: dict[str, Any] = {"amount": amount, "amount_minor": amount_minor}
    key = str(form.get("key", ""))
    try:
        key = read_key(till, form)
        cashier = await services.web_terminal.cashier_login(me.cashier_id or 0)
        intent = {"amount": amount, "with_pin": bool(pin), "cashier": cashier}
        asked = GiftCardRequest(amount, pin=pin or None, cashier=cashier)
        await services.gift_cards.sell(till.ctx, asked, key, _hash("gift card sale", intent))
    except errors.DomainError as error:
        field = _SELL_FIELDS.get(error.field or "", "form")
        if field == "sell_amount":  # the matrix or the limit changed since the review: back to the amount
            return _refused(till, error, _SELL_FIELDS, "sell_amount", values={"sell_amount": typed})
        shown = {field: _message(till, error)}
        key = new_key() if field == "key" else key  # nothing was stored under it: a retry may use it again
        return till.page("gift_card_sell.html", status_of(error), sale=sale, key=key, errors=shown, values={})
    return RedirectResponse(f"/terminal/gift-cards/sold/{key}", 303)


@router.get("/gift-cards/sold/{key}")
async def sold(request: Request, key: str, me: Cashier) -> HTMLResponse:
    """The sale as first answered (a replay shows the same), read from its stored answer."""
    till = await _till(request, me)
    found = await services_of(request).web_terminal.stored_answer(till.ctx, key)
    try:
        card = GiftCardAnswer.model_validate(found.body) if found.status_code < 400 else None
    except ValidationError:
        card = None
    if card is None:
        raise errors.NotFound("no such gift card sale at this terminal", field="key")
    # the card's typed view (its first amount never changes); the stored answer says which card this attempt sold
    view = await services_of(request).gift_cards.show(till.ctx.network_id, card.number)
    facts = {
        "number": card.number,
        "grouped": " ".join(card.number[i : i + 4] for i in range(0, len(card.number), 4)),  # read out, wraps
        "amount_minor": view.initial_minor,
        "valid_until": card.valid_until,
        "has_pin": card.has_pin,
    }
    return till.page("gift_card_sold.html", card=facts)


@router.post("/gift-cards/balance")
async def enquiry(request: Request, me: Cashier) -> HTMLResponse:
    """A card's balance, status and validity (its PIN asked when it has one)."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    number, pin = text_of(form, "number"), text_of(form, "pin")
    try:
        if not number:
            raise FieldError(till._("Enter the gift card's number."), field="number")
        view: GiftCardView = await services_of(request).gift_cards.enquiry(till.ctx, number, pin or None)
    except errors.DomainError as error:
        return _refused(till, error, _ENQUIRY_FIELDS, "number", values={"number": number})
    return _page(till, card=view, values={"number": number})


# --- paying by gift card --------------------------------------------------------------------------------------


@router.post("/pay-by-gift-card")
async def pay_by_gift_card(request: Request, me: Cashier) -> HTMLResponse:
    """Step 4 with a gift card: its part and what is left to collect; refused, the same step without it and why."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer, wallet = text_of(form, "customer"), text_of(form, "wallet")
    try:
        member = await _member(till, customer)
        amount_minor = read_amount(till, text_of(form, "amount"))
        points, coupons = read_points(till, text_of(form, "points")), read_coupons(text_of(form, "coupons"))
        plain = await _quote(till, customer, amount_minor, points, coupons, wallet=wallet)
    except errors.DomainError as error:
        return _sale_refused(till, "home.html", error, values={"customer": customer})
    number, typed = text_of(form, "gift_card"), text_of(form, "gift_card_amount")
    try:
        if not number:
            raise FieldError(till._("Enter the gift card's number."), field="gift_card")
        amount = WALLET_ALL
        if text_of(form, "gift_card_all") != WALLET_ALL:
            amount = format_minor(read_amount(till, typed, field="gift_card_amount"), till.terms.currency)
        card = {"gift_card": number, "gift_card_pin": text_of(form, "gift_card_pin"), "gift_card_amount": amount}
        sale = await _quote(till, customer, amount_minor, points, coupons, wallet=wallet, gift_card=card)
    except errors.DomainError as error:
        message = error.detail if isinstance(error, FieldError) else gift_card_refusal(request, error)
        page = {"member": member, "sale": plain, "key": new_key(), "values": {"gift_card": number}}
        field = (
            "gift_card_amount" if isinstance(error, FieldError) and error.field == "gift_card_amount" else "gift_card"
        )
        return till.page("confirm.html", status_of(error), errors={field: message}, **page)
    return till.page("confirm.html", member=member, sale=sale, key=new_key(), values={})
