"""Customers join by the counter's QR code (issue 18): the administrator's page /console/join turns it on and shows the
QR code to print (SVG, segno); the code opens /join/<network code> on the customer's phone, whose form (name, phone,
consent) enrols them through the till's own command and shows the new card number large, with a link to their page.

The form is rate-limited per address and per network (in-memory token buckets, application/rate_limits.py): a
shop's counter shares one address among its customers, so the address's figure is a burst of a few sign-ups a minute,
and the network's bounds what a script could fill its member list with.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.card_codes import barcode_svg, qr_svg
from coalition.adapters.web.sessions import (
    anonymous_csrf_token,
    checked_form,
    client_address,
    keep_anonymous_csrf,
    refuse_control_characters,
    services_of,
    set_session_cookie,
    signed_in,
    site_url,
    with_retry_after,
)
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.rate_limits import Rate, TokenBuckets, retry_after_seconds
from coalition.application.self_signup import JoinForm, SignupNetwork
from coalition.application.sign_in_limits import Attempt
from coalition.application.web_sessions import NewSession, WebIdentity
from coalition.domain.errors import DomainError, RateLimited
from coalition.domain.input_text import without_control_characters

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
PER_ADDRESS = Rate(6, 60)  # sign-ups from one address: a queue at the counter on the shop's Wi-Fi
PER_NETWORK = Rate(300, 3600)  # sign-ups of one network in an hour
_ATTEMPT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FIELDS = ("name", "phone")


def join_url(request: Request, code: str) -> str:
    return f"{site_url(request)}/join/{code}"


# --- the administrator's page -------------------------------------------------------------------------------------


@router.get("/console/join")
async def join_settings(request: Request, me: Administrator) -> Response:
    network = await services_of(request).self_signup.network(me.network_code, require_open=False)
    url = join_url(request, network.code)
    context: dict[str, Any] = {
        "me": me,
        "network": network,
        "url": url,
        "qr": qr_svg(url, title=gettext(request, "QR code to join %(shop)s", shop=network.name), scale=8),
        "saved": request.query_params.get("saved"),
    }
    return render(request, "console/join.html", context)


@router.get("/console/join/qr.svg")
async def join_qr(request: Request, me: Administrator) -> Response:
    """The counter's QR code alone, to put into a poster of one's own."""
    url = join_url(request, me.network_code)
    svg = qr_svg(url, title=url, scale=10)
    return Response(
        str(svg), media_type="image/svg+xml", headers={"Content-Disposition": 'inline; filename="join.svg"'}
    )


@router.post("/console/join")
async def set_join(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    enabled = form.get("enabled") == "on"
    await services_of(request).self_signup.set_enabled(me.network_id, me.network_code, enabled)
    return RedirectResponse(f"/console/join?saved={'on' if enabled else 'off'}", 303)


# --- the customer's form ------------------------------------------------------------------------------------------


@router.get("/join/{code}")
async def join_page(request: Request, code: str) -> Response:
    network = await services_of(request).self_signup.network(code)
    values = {"name": "", "phone": "", "consent_newsletters": False}
    return _form(request, network, values, attempt=_new_attempt())


@router.post("/join/{code}")
async def join(request: Request, code: str) -> Response:
    services = services_of(request)
    network = await services.self_signup.network(code)
    form = await checked_form(request, None, clean=False)
    values: dict[str, Any] = {name: without_control_characters(str(form.get(name, ""))) for name in FIELDS}
    values["consent_newsletters"] = form.get("consent_newsletters") == "on"
    attempt = str(form.get("attempt", ""))
    attempt = attempt if _ATTEMPT.match(attempt) else _new_attempt()
    try:
        refuse_control_characters(form)
        _take(request, network)
        joined = await services.self_signup.join(
            network,
            JoinForm(
                values["name"],
                values["phone"],
                form.get("consent_data_processing") == "on",
                bool(values["consent_newsletters"]),
            ),
            attempt,
        )
    except DomainError as error:
        page = _form(request, network, values, attempt=attempt, error=error, status_code=status_of(error))
        return with_retry_after(page, error)
    context: dict[str, Any] = {"network": network, "joined": joined, "me_url": f"/me/n/{network.code}"}
    if joined.card_number:
        number = joined.card_number
        context["card_qr"] = qr_svg(number, title=gettext(request, "QR code of card %(number)s", number=number))
        context["card_barcode"] = barcode_svg(
            number, title=gettext(request, "Barcode of card %(number)s", number=number)
        )
    response = render(request, "me/joined.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    # the new member is signed in to their page at once (a card of a minute has no PIN or e-mail to sign in with)
    session = NewSession("member", network.id, joined.name, member_id=joined.member_id)
    signed = await services.web_sessions.open_session(session, Attempt(None, client_address(request), ()))
    set_session_cookie(response, request, "me", signed.token)
    return response


def _new_attempt() -> str:
    """The form's own key: a reload of the same form answers the same card (the enrolment's idempotency)."""
    return secrets.token_urlsafe(16)


def _take(request: Request, network: SignupNetwork) -> None:
    """One sign-up from this address and of this network, or RateLimited with the seconds to wait."""
    state = request.app.state
    if not hasattr(state, "join_buckets"):
        state.join_buckets = (TokenBuckets(PER_ADDRESS), TokenBuckets(PER_NETWORK))
    by_address, by_network = state.join_buckets
    now = time.monotonic()
    wait = by_address.take((network.id, client_address(request)), now)
    if not wait:
        wait = by_network.take(network.id, now)
        if wait:
            by_address.give_back((network.id, client_address(request)), now)
    if wait:
        raise RateLimited(
            "too many sign-ups from here just now; wait a minute and try again",
            field="phone",
            retry_after_seconds=retry_after_seconds(wait),
        )


def _form(
    request: Request,
    network: SignupNetwork,
    values: dict[str, Any],
    *,
    attempt: str,
    error: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    csrf_token = anonymous_csrf_token(request)
    context = {
        "network": network,
        "values": values,
        "attempt": attempt,
        "csrf_token": csrf_token,
        "error": error_text(request, error.detail) if error else None,
        "error_field": error.field if error else None,
    }
    response = render(request, "me/join.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    keep_anonymous_csrf(request, response, csrf_token)
    return response
