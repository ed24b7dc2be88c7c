"""The operator's console at /operator (issue 18, point 6; docs/plans.md): every network on the server with its
customers, plan, trial and suspension; the plan and trial set, a network suspended or resumed.

The operator signs in with the operator token (COALITION_OPERATOR_TOKEN; without it the console does not exist). The
session is a cookie signed with that token (HMAC-SHA256 over its expiry), so changing the token signs everybody out;
the forms' CSRF token is derived the same way. Failed sign-ins are counted per address: past `MAX_FAILURES` in
`FAILURE_WINDOW` the address waits.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.body_limits import is_operator
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.pagination import decode_cursor, encode_cursor
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import (
    anonymous_csrf_token,
    checked_form,
    client_address,
    keep_anonymous_csrf,
    refuse_control_characters,
    secure_cookies,
    services_of,
)
from coalition.adapters.web.templating import error_text, render
from coalition.domain.errors import DomainError, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from coalition.domain.input_text import without_control_characters
from coalition.domain.plans import PLANS

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)
COOKIE = "coalition_operator"
LIFETIME_SECONDS = 8 * 3600
PAGE = 50
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 600
_failures: dict[str, list[float]] = {}
NetworkId = Path(ge=1, le=2**63 - 1)


@dataclass(frozen=True, slots=True)
class Operator:
    """What the base template shows of whoever is signed in."""

    display_name: str
    csrf_token: str


def _token(request: Request) -> str:
    token = services_of(request).settings.operator_token
    if not token:
        raise NotFound("the operator console is off: set COALITION_OPERATOR_TOKEN")
    return token


def _mac(token: str, purpose: str, expires: int) -> str:
    return hmac.new(token.encode(), f"{purpose}:{expires}".encode(), hashlib.sha256).hexdigest()


def _operator(request: Request) -> Operator | None:
    token = _token(request)
    expires_text, _, mac = request.cookies.get(COOKIE, "").partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return None
    expires = int(expires_text)
    if not hmac.compare_digest(mac, _mac(token, "operator-session", expires)):
        return None
    act_for_request(request, client_address(request), "operator", key_fingerprint(token))
    return Operator("operator", _mac(token, "operator-csrf", expires))


async def _form(request: Request, *, clean: bool = True) -> tuple[Operator, FormData]:
    operator = _operator(request)
    if operator is None:
        raise Unauthorized("sign in to the operator console again")
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, operator.csrf_token):
        raise InvalidInput("the form's security token is missing or stale; reload the page", field="csrf_token")
    if clean:
        refuse_control_characters(form)
    return operator, form


def _sign_in_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    csrf_token = anonymous_csrf_token(request)
    context = {"csrf_token": csrf_token, "error": error, "signed_in": False}
    response = render(request, "operator.html", context, status_code=status_code)
    keep_anonymous_csrf(request, response, csrf_token)
    return response


@router.get("/operator")
async def operator_page(request: Request, cursor: str | None = None) -> Response:
    operator = _operator(request)
    if operator is None:
        return _sign_in_page(request)
    return await _networks_page(request, operator, cursor)


async def _networks_page(
    request: Request, operator: Operator, cursor: str | None, *, status_code: int = 200, **extra: Any
) -> Response:
    services = services_of(request)
    after = decode_cursor(cursor) if cursor else None
    found = await services.operator.networks(after, PAGE + 1)
    shown = found[:PAGE]
    next_cursor = encode_cursor(shown[-1].network_id) if len(found) > PAGE else None
    now = services.clock.now()
    context = {"me": operator, "area": "operator", "signed_in": True, "networks": shown, "now": now}
    context |= {"plans": PLANS, "next_cursor": next_cursor, "plan_form": None} | extra
    response = render(request, "operator.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/operator/sign-in")
async def operator_sign_in(request: Request) -> Response:
    token = _token(request)
    form = await checked_form(request, None)
    address = client_address(request)
    now = time.monotonic()
    recent = [at for at in _failures.get(address, []) if now - at < FAILURE_WINDOW_SECONDS]
    if len(recent) >= MAX_FAILURES:
        raise TooManyAttempts("too many wrong tokens from this address; wait ten minutes", field="token")
    sent = form.get("token")
    if not isinstance(sent, str) or not is_operator(token, sent.strip()):
        _failures[address] = [*recent, now]
        return _sign_in_page(request, error_text(request, "this operator token is wrong"), status_code=401)
    _failures.pop(address, None)
    expires = int(time.time()) + LIFETIME_SECONDS
    response = RedirectResponse("/operator", 303)
    response.set_cookie(
        COOKIE,
        f"{expires}.{_mac(token, 'operator-session', expires)}",
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/operator",
    )
    return response


@router.post("/operator/logout")
async def operator_sign_out(request: Request) -> Response:
    await _form(request)
    response = RedirectResponse("/operator", 303)
    response.delete_cookie(COOKIE, path="/operator")
    return response


def _trial_end(text: object) -> datetime | None:
    """A date typed in the form: the trial ends at that day's start, UTC; empty: no trial."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
    except ValueError:
        raise InvalidInput("write the trial's end as a date, such as 2027-03-06", field="trial_ends") from None
    return day.replace(tzinfo=UTC)


@router.post("/operator/networks/{network_id}/plan")
async def set_plan(request: Request, network_id: int = NetworkId) -> Response:
    """A refused plan form (a garbled date, a control character) comes back with what was typed and its field named."""
    operator, form = await _form(request, clean=False)
    plan = without_control_characters(str(form.get("plan", "")))
    trial_ends = without_control_characters(str(form.get("trial_ends", "")))
    try:
        refuse_control_characters(form)
        await services_of(request).operator.set_plan(
            network_id, str(form.get("plan", "")), trial_ends_at=_trial_end(form.get("trial_ends")), change_trial=True
        )
    except DomainError as error:
        typed = {"network_id": network_id, "plan": plan, "trial_ends": trial_ends}
        typed |= {"error": error_text(request, error.detail), "field": error.field}
        return await _networks_page(request, operator, None, status_code=status_of(error), plan_form=typed)
    return RedirectResponse(f"/operator#network-{network_id}", 303)


@router.post("/operator/networks/{network_id}/suspend")
async def suspend(request: Request, network_id: int = NetworkId) -> Response:
    await _form(request)
    await services_of(request).operator.suspend(network_id)
    return RedirectResponse(f"/operator#network-{network_id}", 303)


@router.post("/operator/networks/{network_id}/resume")
async def resume(request: Request, network_id: int = NetworkId) -> Response:
    await _form(request)
    await services_of(request).operator.resume(network_id)
    return RedirectResponse(f"/operator#network-{network_id}", 303)
