"""The terminal's enrolment (/terminal/enrol): a personal customer (with consent) or an anonymous card, through the
POS API's own command (POST /v1/members) with an attempt key made when the form is shown; then the welcome page,
read from the stored answer."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.terminal import (
    _KEY,
    Cashier,
    FieldError,
    Till,
    _hash,
    _refused,
    _stored_result,
    _till,
    new_key,
    read_key,
    text_of,
)
from coalition.application.enrolment import EnrolInput
from coalition.application.ports import Profile
from coalition.application.pos_results import Enrolment
from coalition.domain import errors

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENROL_FIELDS = ("kind", "card_number", "first_purchase", "name", "phone", "email", "birth_date")


@router.get("/enrol")
async def enrol_form(request: Request, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    return till.page("enrol.html", key=new_key(), values={"kind": "personal"})


@router.post("/enrol")
async def enrol(request: Request, me: Cashier) -> Response:
    form = await checked_form(request, me)
    till = await _till(request, me)
    values: dict[str, Any] = {name: text_of(form, name) for name in _ENROL_FIELDS}
    values |= {name: form.get(name) == "on" for name in ("consent_data_processing", "consent_newsletters")}
    try:
        key = read_key(till, form)
        enrolment = _enrolment(till, values)
        await services_of(request).pos.enrol(till.ctx, enrolment, key, _hash("enrol", values))
    except errors.DomainError as error:
        # a refused enrolment stored nothing: the same attempt may go again once corrected
        key = text_of(form, "key")
        return _refused(till, "enrol.html", error, key=key if _KEY.match(key) else new_key(), values=values)
    return RedirectResponse(f"/terminal/enrolled/{key}", 303)


def _enrolment(till: Till, values: dict[str, Any]) -> EnrolInput:
    """What the form asks, checked field by field in the cashier's words."""
    kind = values["kind"] if values["kind"] in ("personal", "anonymous") else "personal"
    card_number = values["card_number"] or None
    if kind == "anonymous":
        if not card_number:
            raise FieldError(till._("An anonymous card needs its card number."), field="card_number")
        return EnrolInput("anonymous", card_number, first_purchase=values["first_purchase"] or None)
    if not card_number and not values["phone"]:
        raise FieldError(till._("Enter the card number or the customer's phone."), field="card_number")
    if len(values["name"]) > 200:
        raise FieldError(till._("A name has at most 200 characters."), field="name")
    if values["email"] and (len(values["email"]) > 254 or not _EMAIL.match(values["email"])):
        raise FieldError(till._("This is not an e-mail address."), field="email")
    if not values["consent_data_processing"]:
        raise FieldError(
            till._("A personal card needs the customer's consent to data processing."), field="consent_data_processing"
        )
    profile = Profile(
        name=values["name"] or None,
        phone=values["phone"] or None,
        email=values["email"] or None,
        birth_date=_birth_date(till, values["birth_date"]),
        consent_data_processing=True,
        consent_newsletters=bool(values["consent_newsletters"]),
    )
    return EnrolInput("personal", card_number, profile, first_purchase=values["first_purchase"] or None)


def _birth_date(till: Till, text: str) -> date | None:
    if not text:
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise FieldError(till._("Enter the birth date as a date, such as 1990-05-31."), field="birth_date") from None
    if born > services_of(till.request).web_terminal.local_today(till.ctx) or born.year < 1900:
        raise FieldError(till._("This birth date is not possible."), field="birth_date")
    return born


@router.get("/enrolled/{key}")
async def enrolled(request: Request, key: str, me: Cashier) -> HTMLResponse:
    till = await _till(request, me)
    enrolment = await _stored_result(till, key, Enrolment)
    card_number = enrolment.card.number if enrolment.card else None
    identifiers = enrolment.identifiers
    welcome = {
        "name": enrolment.member.name,
        "card_number": card_number,
        "customer": card_number or (identifiers[0].value if identifiers else ""),
        "bonus": enrolment.bonus.points if enrolment.bonus else 0,
        "points_balance": enrolment.points_balance,
    }
    return till.page("enrolled.html", welcome=welcome)
