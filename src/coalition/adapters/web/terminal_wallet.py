"""The terminal's wallet (issue 14): a top-up from the customer's screen, and the sale paid in part or whole by the
wallet.

A top-up is two steps: the amount (typed as the check's amount is, "1 500,50" too), checked — positive, within the
network's limit, the permissions matrix allowing `top_up` here — before the cashier takes the money; then the confirm,
which carries an attempt key made when it was shown and is the POS API's own command (POST /v1/wallets/top-ups), so a
double tap or a retry tops up once. Its receipt is read from the stored answer.

Paying by wallet is a choice on the collect screen (step 4): all the wallet can pay of what is left after the points,
or an amount. The quote with that tender (terminal_money.py) gives the wallet's part and what is left to collect; the
confirm sends the same tender, so the server checks funds, the daily limit and the matrix again, and a refusal
(insufficient funds, a closed wallet, an outlet the matrix forbids) writes nothing and says why on the same screen.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.http.wallet_routes import ToppedUpAnswer
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.terminal import (
    Cashier,
    FieldError,
    Till,
    _hash,
    _member,
    _quote,
    _refused,
    _till,
    explain,
    new_key,
    read_amount,
    read_coupons,
    read_key,
    read_points,
    text_of,
)
from coalition.adapters.web.terminal_money import WALLET_ALL, gift_card_of, wallet_refusal
from coalition.application import wallets_pos
from coalition.domain import errors
from coalition.domain.money import format_minor

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)


# --- top-up ---------------------------------------------------------------------------------------------------


async def _top_up_amount(till: Till, text: str) -> int:
    """The amount typed, within what a top-up may be here (the command checks it again)."""
    amount = format_minor(read_amount(till, text, field="top_up"), till.terms.currency)
    return await wallets_pos.check_top_up(services_of(till.request).pos, till.ctx, amount)


def _top_up_refused(till: Till, member: dict[str, Any], error: errors.DomainError, typed: str) -> HTMLResponse:
    """The customer's screen with the top-up open, what was typed kept and why it was refused beside it."""
    shown = {"values": {"top_up": typed}, "errors": {"top_up": explain(till, error)}}
    return till.page("member.html", status_of(error), member=member, **shown)


@router.post("/top-up")
async def top_up_review(request: Request, me: Cashier) -> HTMLResponse:
    """The amount → what to take from the customer and the balance after it; the confirm carries a new key."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer, typed = text_of(form, "customer"), text_of(form, "top_up")
    try:
        member = await _member(till, customer)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    try:
        amount_minor = await _top_up_amount(till, typed)
    except errors.DomainError as error:
        return _top_up_refused(till, member, error, typed)
    top_up = {"amount": format_minor(amount_minor, till.terms.currency), "amount_minor": amount_minor}
    return till.page("top_up.html", member=member, top_up=top_up, key=new_key())


@router.post("/top-ups")
async def top_up(request: Request, me: Cashier) -> Response:
    """The top-up, once per key: the receipt, or the customer's screen with why it was refused (nothing written)."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    services = services_of(request)
    customer, typed = text_of(form, "customer"), text_of(form, "top_up")
    try:
        member = await _member(till, customer)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    try:
        key = read_key(till, form)
        amount = format_minor(read_amount(till, typed, field="top_up"), till.terms.currency)
        cashier = await services.web_terminal.cashier_login(me.cashier_id or 0)
        intent = {"customer": customer, "amount": amount, "cashier": cashier}
        request_input = wallets_pos.TopUpInput(customer, amount, cashier=cashier)
        await wallets_pos.top_up(services.pos, till.ctx, request_input, key, _hash("top up", intent))
    except errors.DomainError as error:
        return _top_up_refused(till, member, error, typed)
    return RedirectResponse(f"/terminal/top-ups/{key}", 303)


@router.get("/top-ups/{key}")
async def top_up_done(request: Request, key: str, me: Cashier) -> HTMLResponse:
    """The top-up as first answered (a replay shows the same), read from its stored answer."""
    till = await _till(request, me)
    found = await services_of(request).web_terminal.stored_answer(till.ctx, key)
    try:
        topped = ToppedUpAnswer.model_validate(found.body).result() if found.status_code < 400 else None
    except ValidationError:
        topped = None
    if topped is None:
        raise errors.NotFound("no such top-up at this terminal", field="key")
    return till.page("top_up_done.html", topped=topped)


# --- paying by wallet -----------------------------------------------------------------------------------------


def _wallet_choice(till: Till, form: FormData) -> str:
    """`all`, or the amount typed for the wallet to pay, as the sale's forms carry it."""
    if text_of(form, "wallet") == WALLET_ALL:
        return WALLET_ALL
    return format_minor(read_amount(till, text_of(form, "wallet_amount"), field="wallet"), till.terms.currency)


@router.post("/pay-by-wallet")
async def pay_by_wallet(request: Request, me: Cashier) -> HTMLResponse:
    """Step 4 with the wallet: its part and what is left to collect; refused, the same step without it and why."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer = text_of(form, "customer")
    try:
        member = await _member(till, customer)
        amount_minor = read_amount(till, text_of(form, "amount"))
        points, coupons = read_points(till, text_of(form, "points")), read_coupons(text_of(form, "coupons"))
        card = gift_card_of(form)  # a gift card chosen first pays before the wallet
        plain = await _quote(till, customer, amount_minor, points, coupons, gift_card=card)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    typed = {"wallet_amount": text_of(form, "wallet_amount")}
    try:
        choice = _wallet_choice(till, form)
        sale = await _quote(till, customer, amount_minor, points, coupons, wallet=choice, gift_card=card)
    except errors.DomainError as error:
        message = error.detail if isinstance(error, FieldError) else None
        left_minor = plain["to_collect_minor"]  # after the gift card, if one pays
        message = message or wallet_refusal(request, error, member["wallet"], left_minor)
        page = {"member": member, "sale": plain, "key": new_key(), "values": typed}
        return till.page("confirm.html", status_of(error), errors={"wallet": message}, **page)
    return till.page("confirm.html", member=member, sale=sale, key=new_key(), values={})
