"""Signing in and out: cashiers at /terminal/login (outlet number, login, password), administrators and partner
owners at /console/login (network code, login, password). The member's sign-in lives with the member's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import (
    Area,
    anonymous_csrf_token,
    checked_form,
    clear_session_cookie,
    client_address,
    identity_or_none,
    keep_anonymous_csrf,
    refuse_control_characters,
    safe_next,
    services_of,
    session_token,
    set_session_cookie,
    with_retry_after,
)
from coalition.adapters.web.templating import error_text, render
from coalition.domain.errors import DomainError
from coalition.domain.input_text import parse_whole_number

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)
LAST_OUTLET_COOKIE = "coalition_outlet"  # the terminal remembers its outlet number, so a cashier types less


def _sign_in_page(
    request: Request, area: Area, values: dict[str, Any], error: str | None = None, status_code: int = 200
) -> Response:
    csrf_token = anonymous_csrf_token(request)
    context = {
        "values": values,
        "error": error,
        "csrf_token": csrf_token,
        "registration_open": services_of(request).settings.open_registration,
    }
    response = render(request, f"{area}/sign_in.html", context, status_code=status_code)
    keep_anonymous_csrf(request, response, csrf_token)
    return response


@router.get("/terminal/login")
async def terminal_sign_in_page(request: Request, next: str | None = None, outlet: str | None = None) -> Response:
    # `outlet` comes from a shop's start sheet (/terminal/login?outlet=12): only a number is taken from it
    typed = outlet if outlet is not None and outlet.isascii() and outlet.isdigit() and len(outlet) <= 18 else None
    values = {"outlet": typed or request.cookies.get(LAST_OUTLET_COOKIE, ""), "login": "", "next": next or ""}
    return _sign_in_page(request, "terminal", values)


@router.post("/terminal/login")
async def terminal_sign_in(request: Request) -> Response:
    form = await checked_form(request, None, clean=False)
    values = {name: str(form.get(name, "")) for name in ("outlet", "login", "next")}
    try:
        refuse_control_characters(form)
        outlet_id = _outlet_number(values["outlet"])
        signed = await services_of(request).web_sessions.sign_in_cashier(
            outlet_id, values["login"], str(form.get("password", "")), client_address(request)
        )
    except DomainError as error:
        page = _sign_in_page(request, "terminal", values, error_text(request, error.detail), status_of(error))
        return with_retry_after(page, error)
    response = RedirectResponse(safe_next(values["next"], "/terminal"), 303)
    set_session_cookie(response, request, "terminal", signed.token)
    response.set_cookie(LAST_OUTLET_COOKIE, str(outlet_id), max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


@router.get("/console/login")
async def console_sign_in_page(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, "console", {"network": "", "login": "", "next": next or ""})


@router.post("/console/login")
async def console_sign_in(request: Request) -> Response:
    form = await checked_form(request, None, clean=False)
    values = {name: str(form.get(name, "")) for name in ("network", "login", "next")}
    try:
        refuse_control_characters(form)
        signed = await services_of(request).web_sessions.sign_in_console(
            values["network"], values["login"], str(form.get("password", "")), client_address(request)
        )
    except DomainError as error:
        page = _sign_in_page(request, "console", values, error_text(request, error.detail), status_of(error))
        return with_retry_after(page, error)
    response = RedirectResponse(safe_next(values["next"], "/console"), 303)
    set_session_cookie(response, request, "console", signed.token)
    return response


@router.post("/terminal/logout")
async def terminal_sign_out(request: Request) -> Response:
    return await sign_out(request, "terminal")


@router.post("/console/logout")
async def console_sign_out(request: Request) -> Response:
    return await sign_out(request, "console")


async def sign_out(request: Request, area: Area) -> Response:
    identity = await identity_or_none(request, area)
    if identity is not None:
        await checked_form(request, identity)
        token = session_token(request, area)
        if token:
            await services_of(request).web_sessions.sign_out(token)
    response = RedirectResponse(f"/{area}/login", 303)
    clear_session_cookie(response, area)
    return response


def _outlet_number(text: str) -> int:
    return parse_whole_number(
        text, field="outlet", message="the outlet number is the number shown in the console, such as 3"
    )
