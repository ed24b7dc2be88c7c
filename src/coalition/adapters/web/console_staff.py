"""Outlets and cashiers in the console: an owner sees their partner's, the administrator every partner's.

An owner's partner is the scope of every call into the application (`partner_scope`), which treats another
partner's outlet or cashier as not found: the pages never filter what they were given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.admin import NetworkRef
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, Forbidden, InvalidInput
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]

# what a redirect after a change says on the next page (?done=…)
DONE_MESSAGES = {
    "outlet-added": "The outlet was added.",
    "cashier-added": "The cashier was added. Give them the outlet number, their login and the password.",
    "password-reset": "The password was changed; the cashier was signed out everywhere.",
    "blocked": "The cashier was blocked and signed out everywhere.",
    "unblocked": "The cashier can sign in again.",
}
# the application's field names → the form's
FORM_FIELDS = {"outlet_id": "outlet", "partner_id": "partner", "cashier_id": "cashier"}


def network_of(user: WebIdentity) -> NetworkRef:
    return NetworkRef(user.network_id, user.network_code, user.network_name, user.currency)


def partner_scope(user: WebIdentity) -> int | None:
    """The partner an owner is limited to; None for the administrator, who sees the whole network."""
    if user.role == "administrator":
        return None
    if user.partner_id is None:
        raise Forbidden("this console user belongs to no partner", field="role")
    return user.partner_id


def field_error(request: Request, error: DomainError) -> dict[str, str]:
    """The message to show beside the form field at fault (or above the form, with no field)."""
    field = FORM_FIELDS.get(error.field or "", error.field or "")
    return {"field": field, "message": error_text(request, error.detail)}


def done_message(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    return gettext(request, DONE_MESSAGES[key]) if key in DONE_MESSAGES else None


def _int(text: str, field: str, message: str) -> int:
    return parse_whole_number(text, field=field, message=message)


# --- outlets ---------------------------------------------------------------------------------------------------


@router.get("/outlets")
async def outlets(request: Request, user: ConsoleUser) -> Response:
    return await _outlets_page(request, user)


@router.post("/outlets")
async def add_outlet(request: Request, user: Administrator) -> Response:
    form = await checked_form(request, user)
    values = {name: str(form.get(name, "")).strip() for name in ("partner", "name", "timezone")}
    try:
        partner_id = _int(values["partner"], "partner", "choose the partner the outlet belongs to")
        await services_of(request).admin.create_outlet(network_of(user), partner_id, values["name"], values["timezone"])
    except DomainError as error:
        return await _outlets_page(request, user, values, field_error(request, error), status_of(error))
    return RedirectResponse("/console/outlets?done=outlet-added", 303)


async def _outlets_page(
    request: Request,
    user: WebIdentity,
    values: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    staff = await services_of(request).admin.staff(network_of(user), partner_scope(user))
    groups: dict[int, list[Any]] = {}
    for outlet in staff["outlets"]:
        groups.setdefault(outlet.partner_id, []).append(outlet)
    context = {
        "me": user,
        "groups": [(partner_id, staff["partners"][partner_id], found) for partner_id, found in groups.items()],
        "partners": staff["partners"],
        "values": values or {"partner": "", "name": "", "timezone": "Europe/Moscow"},
        "error": error,
        "done": done_message(request),
    }
    return render(request, "console/outlets.html", context, status_code=status_code, currency=user.currency)


# --- cashiers --------------------------------------------------------------------------------------------------


@router.get("/cashiers")
async def cashiers(request: Request, user: ConsoleUser) -> Response:
    return await _cashiers_page(request, user)


@router.post("/cashiers")
async def add_cashier(request: Request, user: ConsoleUser) -> Response:
    form = await checked_form(request, user)
    values = {name: str(form.get(name, "")).strip() for name in ("outlet", "login", "name")}
    try:
        outlet_id = _int(values["outlet"], "outlet", "choose the cashier's outlet")
        await services_of(request).admin.create_cashier(
            network_of(user),
            outlet_id,
            values["login"],
            values["name"],
            str(form.get("password", "")),
            partner_id=partner_scope(user),
        )
    except DomainError as error:
        return await _cashiers_page(request, user, values, field_error(request, error), status_of(error))
    return RedirectResponse("/console/cashiers?done=cashier-added", 303)


async def _cashiers_page(
    request: Request,
    user: WebIdentity,
    values: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    staff = await services_of(request).admin.staff(network_of(user), partner_scope(user))
    context = {
        "me": user,
        "outlets": staff["outlets"],
        "cashiers": staff["cashiers"],
        "partners": staff["partners"],
        "values": values or {"outlet": "", "login": "", "name": ""},
        "error": error,
        "done": done_message(request),
    }
    return render(request, "console/cashiers.html", context, status_code=status_code, currency=user.currency)


@router.get("/cashiers/{cashier_id}")
async def cashier(request: Request, user: ConsoleUser, cashier_id: int) -> Response:
    return await _cashier_page(request, user, cashier_id)


@router.post("/cashiers/{cashier_id}/password")
async def reset_password(request: Request, user: ConsoleUser, cashier_id: int) -> Response:
    form = await checked_form(request, user)
    services = services_of(request)
    try:
        await services.admin.set_cashier_password(
            network_of(user), cashier_id, str(form.get("password", "")), partner_id=partner_scope(user)
        )
    except DomainError as error:
        return await _cashier_page(request, user, cashier_id, field_error(request, error), status_of(error))
    await services.web_sessions.sign_out_cashier(cashier_id)  # the old password's sessions end with it
    return RedirectResponse(f"/console/cashiers/{cashier_id}?done=password-reset", 303)


@router.post("/cashiers/{cashier_id}/active")
async def set_active(request: Request, user: ConsoleUser, cashier_id: int) -> Response:
    form = await checked_form(request, user)
    if form.get("active") not in ("0", "1"):
        raise InvalidInput("active is 1 (unblock) or 0 (block)", field="active")
    active = form.get("active") == "1"
    services = services_of(request)
    await services.admin.set_cashier_active(network_of(user), cashier_id, active, partner_id=partner_scope(user))
    if not active:
        await services.web_sessions.sign_out_cashier(cashier_id)
    return RedirectResponse(f"/console/cashiers/{cashier_id}?done={'unblocked' if active else 'blocked'}", 303)


async def _cashier_page(
    request: Request, user: WebIdentity, cashier_id: int, error: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    found = await services_of(request).admin.cashier(network_of(user), cashier_id, partner_scope(user))
    context = {"me": user, "cashier": found, "error": error, "done": done_message(request)}
    return render(request, "console/cashiers_one.html", context, status_code=status_code, currency=user.currency)
