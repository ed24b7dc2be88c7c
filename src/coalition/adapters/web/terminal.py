"""The cashier's terminal at /terminal: the brief's five steps on a phone, refunds and the day's list (enrolment is
terminal_enrol.py, the customer's gifts, cards and wallet terminal_gifts.py, terminal_cards.py, terminal_wallet.py).

The steps are plain forms (they work without JavaScript); the state of a sale travels in hidden fields and is checked
again at every step. Writes carry an idempotency key made when their form is shown, so a double tap or a retry after a
dropped connection books once and answers with the first result; the result pages read that stored answer.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, replace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.datastructures import FormData

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.pos_answers import stored_result
from coalition.adapters.http.problems import PROBLEM_TYPE_BASE, status_of
from coalition.adapters.web import formatting
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, language_of, render
from coalition.adapters.web.terminal_money import (
    card_refused,
    gift_card_of,
    gift_card_refusal,
    tender_facts,
    tenders_of,
    wallet_facts,
    wallet_refusal,
)
from coalition.application.commands import PurchaseInput, fingerprint
from coalition.application.ports import StoredResponse, TerminalContext
from coalition.application.pos_results import Refunded
from coalition.application.purchases.results import PurchaseResult
from coalition.application.refunds import RefundInput
from coalition.application.web_sessions import WebIdentity
from coalition.application.web_terminal import ProgramTerms
from coalition.domain import errors
from coalition.domain.coupons import normalize_codes
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.rules.builtin import BUILTIN_VERSION
from coalition.domain.rules.terms import TermsInForce

T = TypeVar("T")

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)
Cashier = Annotated[WebIdentity, Depends(signed_in("terminal"))]

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # what people type between thousands: 1 500,00 or 1'500.00
_CODE_SEPARATORS = re.compile(r"[\s,;]+")  # several coupon codes typed or scanned one after another
_CARD_STATE_MESSAGES = {
    "issued": "This card has not been activated yet; it cannot earn or pay with points.",
    "blocked": "This card is blocked; it cannot earn or pay with points.",
    "lost": "This card was reported lost; it cannot earn or pay with points.",
    "replaced": "This card was replaced by a new one; ask for the new card.",
}


class FieldError(errors.InvalidInput):
    """A message already written for the cashier (translated), shown beside `field`."""


@dataclass(frozen=True)
class Till:
    """Everything a page of the terminal needs about where it runs."""

    request: Request
    me: WebIdentity
    ctx: TerminalContext
    terms: ProgramTerms

    def _(self, message: str, **values: Any) -> str:
        return gettext(self.request, message, **values)

    def page(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        values = {"me": self.me, "outlet": self.ctx.outlet_name, "terms": self.terms, **context}
        return render(
            self.request,
            f"terminal/{template}",
            values,
            status_code=status_code,
            currency=self.terms.currency,
            timezone=self.ctx.timezone,
        )


async def _till(request: Request, me: WebIdentity) -> Till:
    services = services_of(request)
    if me.terminal_id is None:
        raise errors.Unauthorized("this session has no terminal; sign in again")
    ctx = await services.pos.terminal(me.terminal_id)
    return Till(request, me, ctx, await services.web_terminal.program_terms(me.network_id))


# --- reading what people type --------------------------------------------------------------------------------


def read_amount(till: Till, text: str, field: str = "amount") -> int:
    """An amount as a person types it: '1500', '1 500,50', '1500.5'; minor units, never a float."""
    cleaned = _SPACES.sub("", text).replace(",", ".")
    if not cleaned:
        raise FieldError(till._("Enter the amount."), field=field)
    try:
        amount_minor = parse_amount_minor(cleaned, till.terms.currency, field=field)
    except errors.InvalidInput:
        raise FieldError(till._("Enter an amount such as 1500.00."), field=field) from None
    if amount_minor <= 0:
        raise FieldError(till._("The amount must be greater than zero."), field=field)
    return amount_minor


def read_points(till: Till, text: str) -> int:
    cleaned = _SPACES.sub("", text)
    if not cleaned:
        return 0
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 12:
        raise FieldError(till._("Enter the points as a whole number, such as 100."), field="points")
    return int(cleaned)


def read_coupons(text: str) -> tuple[str, ...]:
    """The coupon codes typed or scanned (separated by spaces, commas or semicolons), checked as the API checks them:
    a malformed code is refused naming it."""
    return normalize_codes([code for code in _CODE_SEPARATORS.split(text) if code])


def read_key(till: Till, form: FormData) -> str:
    key = str(form.get("key", ""))
    if not _KEY.match(key):
        raise FieldError(till._("This form is out of date; go back and start again."), field="key")
    return key


def new_key() -> str:
    return secrets.token_urlsafe(16)


def text_of(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


def explain(till: Till, error: errors.DomainError) -> str:
    """The cashier's words for a refusal, in their language."""
    if isinstance(error, FieldError):
        return error.detail
    if isinstance(error, errors.MemberNotFound):
        return till._("No customer has this card number or phone.")
    if isinstance(error, errors.CardNotActive):
        return till._("This card cannot be used now: it is blocked, lost or replaced.")
    if isinstance(error, errors.InvalidInput) and error.field in ("customer", "identifier"):
        return till._("This is not a card number or a phone number.")
    if isinstance(error, errors.RefundNotAllowed):
        return till._("The refund is larger than what is left of this purchase.")
    return error_text(till.request, error.detail)


def field_of(error: errors.DomainError) -> str:
    """Which input of the terminal's forms an error belongs beside."""
    names = {
        "identifier": "customer",
        "redeem_points": "points",
        "identifiers": "card_number",
        "profile.phone": "phone",
        "profile.email": "email",
        "profile.name": "name",
        "profile.consent_data_processing": "consent_data_processing",
        "profile": "kind",
    }
    field = error.field or "form"
    if field.startswith("coupons"):  # coupons[2]: the third code typed in the one coupon field
        return "coupons"
    if field.startswith("tenders"):  # the sale's one tender: the wallet
        return "wallet"
    return names.get(field, field)


# --- the five steps -----------------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    return till.page("home.html", values={})


async def _member(till: Till, customer: str) -> dict[str, Any]:
    """The member's summary for the screen: name, card, balance and its money value, tier."""
    if not customer:
        raise FieldError(till._("Enter the card number or the phone."), field="customer")
    summary = await services_of(till.request).member_lookups.summary(till.ctx, customer)  # budgeted per till
    card = summary.card
    state = str(card.state) if card else "active"
    terms = summary.terms  # of the rule set in force: the published one, else the program's own rules
    gifts = [
        {"id": gift.id, "name": gift.name, "outlets": gift.outlets, "valid_until": gift.valid_until, "key": new_key()}
        for gift in summary.gifts
    ]  # each with the key of an attempt to hand it over
    return {
        "customer": customer,
        "name": summary.member.name,
        "kind": summary.member.kind,
        "card_number": card.number if card else None,
        "card_problem": till._(_CARD_STATE_MESSAGES[state]) if state in _CARD_STATE_MESSAGES else None,
        "points": summary.points_balance,
        "points_value_minor": till.terms.points_value_minor(max(summary.points_balance, 0)),
        "accrual_bp": terms.accrual_bp,
        "fixed_points": terms.fixed_points_per_check,
        "redeem_cap_bp": terms.redeem_cap_bp,
        "min_check_for_redeem_minor": terms.min_check_for_redeem_minor,
        "discount_bp": terms.discount_bp,
        "rules": _rule_names(terms) if terms.rule_set_version != BUILTIN_VERSION else [],
        "gifts": gifts,
        "cards": summary.cards,
        "card_key": new_key(),  # the attempt of a card action from this screen (one form is sent per screen)
        "wallet": await wallet_facts(till.request, till.ctx, customer),
    }


def _rule_names(terms: TermsInForce) -> list[str]:
    """The published rules that give the terms, by name (their code when unnamed), each once."""
    chosen = [*terms.accrual_rules, *filter(None, [terms.redemption_rule]), *terms.discount_rules]
    return list(dict.fromkeys(rule.name or rule.code for rule in chosen))


@router.post("/member")
async def identify(request: Request, me: Cashier) -> HTMLResponse:
    """Step 1: the customer's identifier → their balance."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer = text_of(form, "customer")
    try:
        member = await _member(till, customer)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    return till.page("member.html", member=member, values={})


async def _quote(
    till: Till,
    customer: str,
    amount_minor: int,
    points: int | None,
    coupons: tuple[str, ...] = (),
    wallet: str = "",
    gift_card: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The same service call as POST /v1/purchases/quote: the most points allowed, the amount to collect (with the
    wallet's part, terminal_money.py); with coupons, what they change against the same sale without them."""
    amount = format_minor(amount_minor, till.terms.currency)
    pos = services_of(till.request).pos
    tenders = tenders_of(wallet, gift_card)
    sale = PurchaseInput(customer, amount, redeem_points=points, coupons=coupons, tenders=tenders)
    quoted = await pos.quote(till.ctx, sale)
    effect: dict[str, Any] = {}
    if coupons:
        try:
            without = await pos.quote(till.ctx, PurchaseInput(customer, amount, redeem_points=points))
            effect = {
                "coupon_discount_minor": quoted.discount_minor - without.discount_minor,
                "coupon_points": quoted.points_to_earn - without.points_to_earn,
            }
        except errors.DomainError:  # these points need the coupon's discount: its effect is the whole quote
            effect = {"coupon_discount_minor": quoted.discount_minor, "coupon_points": 0}
    effect |= tender_facts(quoted, wallet, gift_card)
    return effect | {
        "coupons": " ".join(coupons),
        "coupons_used": quoted.coupons_used,
        "amount": amount,
        "amount_minor": amount_minor,
        "max_points": quoted.max_redeemable_points,
        "max_points_value_minor": till.terms.points_value_minor(quoted.max_redeemable_points),
        "points": quoted.redeem_points,
        "points_value_minor": till.terms.points_value_minor(quoted.redeem_points),
        "discount_minor": quoted.discount_minor,
        "due_minor": quoted.amount_due_minor,
        "points_to_earn": quoted.points_to_earn,
    }


@router.post("/quote")
async def quote(request: Request, me: Cashier) -> HTMLResponse:
    """Step 2: the purchase amount and any coupons → the most points the rules let pay it, the coupons' effect."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer, amount_text, coupons_text = text_of(form, "customer"), text_of(form, "amount"), text_of(form, "coupons")
    try:
        member = await _member(till, customer)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    try:
        priced = await _quote(till, customer, read_amount(till, amount_text), None, read_coupons(coupons_text))
    except errors.DomainError as error:
        values = {"amount": amount_text, "coupons": coupons_text}
        return _refused(till, "member.html", error, member=member, values=values)
    return till.page("quote.html", member=member, sale=priced, values={})


async def _too_many_points(till: Till, member: dict[str, Any], amount_minor: int, coupons: tuple[str, ...] = ()) -> str:
    """A redemption the rules refuse, said with the figure the cashier needs: how many points may pay."""
    allowed = await _quote(till, member["customer"], amount_minor, None, coupons)
    minimum_minor = member["min_check_for_redeem_minor"]  # of the rule set in force
    if allowed["max_points"] == 0 and amount_minor < minimum_minor:
        return till._("Points pay only checks from %(minimum)s.", minimum=_money(till, minimum_minor))
    return till._("At most %(points)s points can pay this check.", points=allowed["max_points"])


def _money(till: Till, amount_minor: int) -> str:
    return formatting.money(amount_minor, till.terms.currency, language_of(till.request))


@router.post("/review")
async def review(request: Request, me: Cashier) -> HTMLResponse:
    """Steps 3–4: the points to use → the amount to collect; the confirm button carries a new attempt's key."""
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer, amount_text, points_text = text_of(form, "customer"), text_of(form, "amount"), text_of(form, "points")
    coupons_text = text_of(form, "coupons")
    try:
        member = await _member(till, customer)
        amount_minor = read_amount(till, amount_text)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    try:
        coupons = read_coupons(coupons_text)
        priced = await _quote(till, customer, amount_minor, None, coupons)
    except errors.DomainError as error:  # a coupon used up or expired since the quote: back to the amount
        values = {"amount": amount_text, "coupons": coupons_text}
        return _refused(till, "member.html", error, member=member, values=values)
    try:
        confirmed = await _quote(till, customer, amount_minor, read_points(till, points_text), coupons)
    except (errors.RedeemNotAllowed, errors.InsufficientPoints):
        message = await _too_many_points(till, member, amount_minor, coupons)
        return till.page(
            "quote.html", 422, member=member, sale=priced, values={"points": points_text}, errors={"points": message}
        )
    except errors.DomainError as error:
        return _refused(till, "quote.html", error, member=member, sale=priced, values={"points": points_text})
    return till.page("confirm.html", member=member, sale=confirmed, key=new_key(), values={})


def _refused(till: Till, template: str, error: errors.DomainError, **context: Any) -> HTMLResponse:
    return till.page(template, status_of(error), errors={field_of(error): explain(till, error)}, **context)


@router.post("/purchases")
async def confirm(request: Request, me: Cashier) -> Response:
    """Step 5: book the purchase once per key. A form post is answered with the receipt; the terminal's script
    (fetch) gets the receipt's address, or a problem with the cashier's words."""
    form = await checked_form(request, me)
    by_script = request.headers.get("x-requested-with") == "fetch"
    till = await _till(request, me)
    customer = text_of(form, "customer")
    try:
        key = read_key(till, form)
        amount_minor = read_amount(till, text_of(form, "amount"))
        points = read_points(till, text_of(form, "points"))
        coupons, wallet = read_coupons(text_of(form, "coupons")), text_of(form, "wallet")
        cashier = await services_of(request).web_terminal.cashier_login(me.cashier_id or 0)
        amount = format_minor(amount_minor, till.terms.currency)
        intent: dict[str, Any] = {"customer": customer, "amount": amount, "points": points, "cashier": cashier}
        intent |= ({"coupons": list(coupons)} if coupons else {}) | ({"wallet": wallet} if wallet else {})
        card = gift_card_of(form)  # its number and amount are the attempt's; its PIN is not (never stored)
        intent |= {"gift_card": [card["gift_card"], card["gift_card_amount"]]} if card else {}
        purchase = PurchaseInput(
            customer, amount, redeem_points=points, receipt=f"web-{key}", cashier=cashier, coupons=coupons
        )
        purchase = replace(purchase, tenders=tenders_of(wallet, card))
        await services_of(request).pos.purchase(till.ctx, purchase, key, _hash("purchase", intent))
    except errors.DomainError as error:
        if by_script:
            return _problem(till, error, await _confirm_message(till, form, error))
        return await _confirm_refused(till, form, error)
    receipt_url = f"/terminal/receipts/{key}"
    if by_script:
        return JSONResponse({"receipt_url": receipt_url})
    return RedirectResponse(receipt_url, 303)


async def _confirm_refused(till: Till, form: FormData, error: errors.DomainError) -> HTMLResponse:
    customer, coupons_text = text_of(form, "customer"), text_of(form, "coupons")
    try:
        member = await _member(till, customer)
        amount_minor = read_amount(till, text_of(form, "amount"))
    except errors.DomainError as again:
        return _refused(till, "home.html", again, values={"customer": customer})
    values = {"amount": text_of(form, "amount"), "coupons": coupons_text}
    if field_of(error) == "coupons":  # used up or expired meanwhile: the coupon field, beside its code
        return _refused(till, "member.html", error, member=member, values=values)
    paying = field_of(error) == "wallet"  # spent or closed meanwhile: the same sale without the tenders, and why
    try:
        points = read_points(till, text_of(form, "points")) if paying else None
        sale = await _quote(till, customer, amount_minor, points, read_coupons(coupons_text))
    except errors.DomainError as again:
        return _refused(till, "member.html", again, member=member, values=values)
    message = await _confirm_message(till, form, error, member)
    if paying:
        errors_shown = {"gift_card" if card_refused(form, error) else "wallet": message}
        return till.page("confirm.html", status_of(error), member=member, sale=sale, key=new_key(), errors=errors_shown)
    values = {"points": text_of(form, "points")}
    return till.page(
        "quote.html", status_of(error), member=member, sale=sale, values=values, errors={"points": message}
    )


async def _confirm_message(
    till: Till, form: FormData, error: errors.DomainError, member: dict[str, Any] | None = None
) -> str:
    """Why a confirm was refused; for points no longer allowed (spent elsewhere meanwhile), how many still are; for a
    wallet that can no longer pay, what it can."""
    points_refused = isinstance(error, (errors.RedeemNotAllowed, errors.InsufficientPoints))
    if card_refused(form, error):
        return gift_card_refusal(till.request, error)
    if points_refused or field_of(error) == "wallet":
        try:
            amount_minor = read_amount(till, text_of(form, "amount"))
            member = member or await _member(till, text_of(form, "customer"))  # its terms say the minimum check
            coupons = read_coupons(text_of(form, "coupons"))
            if points_refused:
                return await _too_many_points(till, member, amount_minor, coupons)
            points = read_points(till, text_of(form, "points"))
            due_minor = (await _quote(till, member["customer"], amount_minor, points, coupons))["due_minor"]
            return wallet_refusal(till.request, error, member["wallet"], due_minor)
        except errors.DomainError:
            pass
    return explain(till, error)


def _problem(till: Till, error: errors.DomainError, message: str) -> JSONResponse:
    status = status_of(error)
    body = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": till._(error.title),
        "status": status,
        "detail": message,
        "field": field_of(error),
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _hash(operation: str, intent: dict[str, Any]) -> str:
    """A retry of an attempt must ask for the same thing: what the form asked, in canonical form."""
    return fingerprint(f"web terminal {operation}", json.dumps(intent, sort_keys=True).encode())


async def _stored_result(till: Till, key: str, kind: type[T]) -> T:
    """The typed result of an attempt made through this terminal (a purchase, a refund, an enrolment), read from its
    stored answer; not found when the key answered something else or was refused."""
    found: StoredResponse = await services_of(till.request).web_terminal.stored_answer(till.ctx, key)
    result = stored_result(kind, found.body) if found.status_code < 400 else None
    if result is None:
        raise errors.NotFound("no such receipt at this terminal", field="key")
    return result


@router.get("/receipts/{key}")
async def receipt(request: Request, key: str, me: Cashier) -> HTMLResponse:
    """The purchase's typed answer as first given (a replay shows the same), read from its stored answer."""
    till = await _till(request, me)
    paid = await _stored_result(till, key, PurchaseResult)
    return till.page(
        "receipt.html",
        paid=paid,
        spent_value_minor=till.terms.points_value_minor(paid.points_redeemed),
        balance_value_minor=till.terms.points_value_minor(max(paid.points_balance, 0)),
    )


# --- the day's own purchases and refunds --------------------------------------------------------------------


@router.get("/today")
async def today(request: Request, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    services = services_of(request)
    cashier = await services.web_terminal.cashier_login(me.cashier_id or 0)
    day = await services.web_terminal.cashier_day(till.ctx, cashier)
    return till.page("today.html", day=day, totals=day.totals)


@router.get("/purchases/{purchase_id}/refund")
async def refund_form(request: Request, purchase_id: str, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    found = await services_of(request).web_terminal.outlet_purchase(till.ctx, purchase_id)
    return till.page("refund.html", purchase=found.purchase, key=new_key(), values={})


@router.post("/purchases/{purchase_id}/refund")
async def refund(request: Request, purchase_id: str, me: Cashier) -> Response:
    form = await checked_form(request, me)
    till = await _till(request, me)
    services = services_of(request)
    found = await services.web_terminal.outlet_purchase(till.ctx, purchase_id)
    amount_text = text_of(form, "amount")
    whole = form.get("whole") == "1"
    try:
        key = read_key(till, form)
        if await _answered(till, key):
            return RedirectResponse(f"/terminal/refunds/{key}", 303)
        left = found.purchase.refundable_minor
        amount_minor = left if whole else read_amount(till, amount_text)
        if left <= 0:
            raise FieldError(till._("This purchase is refunded in full already."), field="amount")
        if amount_minor > left:
            raise FieldError(till._("At most %(amount)s can be refunded.", amount=_money(till, left)), field="amount")
        intent = {"purchase": purchase_id, "whole": whole, "amount": "" if whole else amount_text}
        amount = format_minor(amount_minor, till.terms.currency)
        cashier = await services.web_terminal.cashier_login(till.me.cashier_id or 0)
        refund = RefundInput(amount=amount, cashier=cashier)
        await services.pos.refund(till.ctx, purchase_id, refund, key, _hash("refund", intent))
    except errors.DomainError as error:
        return _refused(
            till, "refund.html", error, purchase=found.purchase, key=new_key(), values={"amount": amount_text}
        )
    return RedirectResponse(f"/terminal/refunds/{key}", 303)


async def _answered(till: Till, key: str) -> bool:
    try:
        await services_of(till.request).web_terminal.stored_answer(till.ctx, key)
    except errors.NotFound:
        return False
    return True


@router.get("/refunds/{key}")
async def refund_done(request: Request, key: str, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    refunded = await _stored_result(till, key, Refunded)
    return till.page("refund_done.html", refunded=refunded)
