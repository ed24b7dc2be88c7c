"""A small shop signs itself up at /console/register (when the operator opens registration): its network, shop,
till with its terminal key, first cashier and the owner's console login, then the owner is signed in and shown
once what to do next: both keys, the cashier's sign-in and a printable one-page start sheet (the same page printed:
static/start_sheet.css keeps only the sheet on paper)."""

from __future__ import annotations

import functools
from typing import Any

from babel import Locale
from fastapi import APIRouter, Request, Response

from coalition.adapters.http.actors import act_for_request
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.card_codes import qr_svg
from coalition.adapters.web.sessions import (
    anonymous_csrf_token,
    checked_form,
    client_address,
    keep_anonymous_csrf,
    refuse_control_characters,
    services_of,
    set_session_cookie,
    site_url,
)
from coalition.adapters.web.templating import error_text, gettext, language_of, render
from coalition.application.registration import ShopRegistration
from coalition.domain.errors import DomainError, NotFound
from coalition.domain.identifiers import countries

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)
FIELDS = (
    "shop_name",
    "network_code",
    "currency",
    "country",
    "timezone",
    "owner_name",
    "owner_login",
    "owner_password",
    "cashier_login",
    "cashier_password",
)
DEFAULTS = {"currency": "RUB", "country": "RU", "timezone": "Europe/Moscow"}


@functools.lru_cache(maxsize=8)
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name in the reader's language) of every country whose phone numbers are read, by name."""
    names = Locale.parse(language).territories
    return tuple(sorted(((code, names.get(code, code)) for code in countries()), key=lambda choice: choice[1]))


def _require_open(request: Request) -> None:
    if not services_of(request).settings.open_registration:
        raise NotFound("registration is closed on this server; ask its operator for a network")


def _form_page(
    request: Request, values: dict[str, str], error: DomainError | None = None, status_code: int = 200
) -> Response:
    csrf_token = anonymous_csrf_token(request)
    context: dict[str, Any] = {
        "values": values,
        "error": error_text(request, error.detail) if error else None,
        "error_field": error.field if error else None,
        "csrf_token": csrf_token,
        "countries": country_choices(language_of(request)),
    }
    response = render(request, "console/register.html", context, status_code=status_code)
    keep_anonymous_csrf(request, response, csrf_token)
    return response


@router.get("/console/register")
async def register_page(request: Request) -> Response:
    _require_open(request)
    return _form_page(request, {**dict.fromkeys(FIELDS, ""), **DEFAULTS})


@router.post("/console/register")
async def register(request: Request) -> Response:
    _require_open(request)
    form = await checked_form(request, None, clean=False)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    services = services_of(request)
    # not signed in yet: the registrant is named by the login they chose
    act_for_request(request, client_address(request), "registrant", name=values["owner_login"].strip()[:100])
    try:
        refuse_control_characters(form)
        created = await services.registration.register_shop(ShopRegistration(**values))
    except DomainError as error:
        shown = {name: value for name, value in values.items() if not name.endswith("password")}
        return _form_page(request, shown, error, status_of(error))
    signed = await services.web_sessions.sign_in_console(
        created["network_code"], values["owner_login"].strip(), values["owner_password"], client_address(request)
    )
    base = site_url(request)
    sheet = {
        "shop_name": values["shop_name"].strip(),
        "network_code": created["network_code"],
        "admin_key": created["admin_key"],
        "terminal_key": created["terminal_key"],
        "outlet_id": created["outlet_id"],
        "owner_login": created["owner_login"],
        "cashier_login": created["cashier_login"],
        "cashier_password": values["cashier_password"],  # typed by the owner a moment ago; shown once, never stored
        "terminal_url": f"{base}/terminal/login?outlet={created['outlet_id']}",
        "console_url": f"{base}/console",
        "api_url": f"{base}/v1/purchases",
    }
    response = render(
        request,
        "console/registered.html",
        {
            "me": signed.identity,
            "created": created,
            "sheet": sheet,
            "terminal_qr": qr_svg(sheet["terminal_url"], title=gettext(request, "The web terminal's address")),
        },
        status_code=201,
        currency=signed.identity.currency,
    )
    response.headers["Cache-Control"] = "no-store"  # the keys and the cashier's password are on it, once
    set_session_cookie(response, request, "console", signed.token)
    return response
