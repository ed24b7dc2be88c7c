"""The member's page at /me: balance, points about to expire, gifts, recent purchases and visits.

A member signs in with their card number and either a PIN (set on this page) or a one-time code e-mailed to the
address in their profile. Which network: on a server with one network (a shop, or one company's coalition) the page
never asks; on a server hosting several, the member types the network's code, which a shop can put in the link it
prints (`/me/login?network=demo`) so that its customers do not have to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import domain_problem, status_of
from coalition.adapters.web.card_codes import barcode_svg, qr_svg
from coalition.adapters.web.sessions import (
    anonymous_csrf_token,
    checked_form,
    client_address,
    identity_or_none,
    keep_anonymous_csrf,
    refuse_control_characters,
    safe_next,
    services_of,
    set_session_cookie,
    signed_in,
    with_retry_after,
)
from coalition.adapters.web.sign_in import sign_out
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.adapters.web.wallet_pass import PassCard, PassSigner, build_pkpass
from coalition.application.member_page import CodeMail, MemberNetwork
from coalition.application.web_sessions import SignedIn, WebIdentity
from coalition.domain.errors import DomainError, InvalidInput, NotFound

router = APIRouter(prefix="/me", include_in_schema=False, route_class=CheckedRoute)
network_router = APIRouter(prefix="/me/n/{code}", include_in_schema=False, route_class=CheckedRoute)
Member = Annotated[WebIdentity, Depends(signed_in("me"))]
SIGN_IN_FIELDS = ("network", "card", "next")


@router.get("")
async def home(request: Request, member: Member, saved: str | None = None) -> HTMLResponse:
    notices = {
        "pin": gettext(request, "Your PIN is saved."),
        "gift_card": gettext(request, "The gift card is added."),
        "gift_card_removed": gettext(request, "The gift card is removed from your page."),
    }
    return await _home(request, member, notice=notices.get(saved or ""))


@router.post("/pin")
async def set_pin(request: Request, member: Member) -> Response:
    form = await checked_form(request, member)
    try:
        await services_of(request).member_page.set_pin(
            _member_id(member), str(form.get("pin", "")), str(form.get("pin_repeat", ""))
        )
    except DomainError as error:
        return await _home(request, member, error=error, status_code=status_of(error))
    return RedirectResponse("/me?saved=pin", 303)


@router.post("/gift-cards")
async def add_gift_card(request: Request, member: Member) -> Response:
    form = await checked_form(request, member)
    number = str(form.get("number", ""))
    try:
        await services_of(request).member_gift_cards.add(
            member.network_id, _member_id(member), number, str(form.get("pin", "")) or None
        )
    except DomainError as error:
        response = await _home(
            request, member, error=error, status_code=status_of(error), gift_card_number=number, form="gift_cards"
        )
        return with_retry_after(response, error)
    return RedirectResponse("/me?saved=gift_card#gift-cards-title", 303)


@router.post("/gift-cards/remove")
async def remove_gift_card(request: Request, member: Member) -> Response:
    form = await checked_form(request, member)
    try:
        await services_of(request).member_gift_cards.remove(
            member.network_id, _member_id(member), str(form.get("number", ""))
        )
    except DomainError as error:
        return await _home(request, member, error=error, status_code=status_of(error), form="gift_cards")
    return RedirectResponse("/me?saved=gift_card_removed#gift-cards-title", 303)


@router.get("/card.pkpass")
async def wallet_pass(request: Request, member: Member) -> Response:
    """The card as an Apple Wallet pass; a 404 problem where the operator configured no pass certificate."""
    signer = PassSigner.from_settings(services_of(request).settings)
    overview = await services_of(request).member_page.overview(member.network_id, _member_id(member))
    if signer is None or not overview.cards:
        why = "this server offers no wallet pass" if signer is None else "this member has no active card"
        return domain_problem(NotFound(why, field="card"))
    card = PassCard(member.network_code, member.network_name, overview.cards[0], overview.name, overview.points_balance)
    return Response(
        build_pkpass(card, signer),
        media_type="application/vnd.apple.pkpass",
        headers={"Content-Disposition": 'attachment; filename="card.pkpass"', "Cache-Control": "no-store"},
    )


@router.post("/logout")
async def member_sign_out(request: Request) -> Response:
    return await sign_out(request, "me")


@network_router.get("")
async def network_home(request: Request, code: str) -> Response:
    """A network's own address for its members: their page when signed in to this network, else its sign-in."""
    network = await services_of(request).member_page.network(code)
    member = await identity_or_none(request, "me")
    if member is not None and member.role == "member" and member.network_id == network.id:
        return await _home(request, member)
    values = {"network": network.code, "card": "", "next": f"/me/n/{network.code}"}
    return await _sign_in_page(request, values, fixed=network)


@router.get("/login")
async def sign_in_page(request: Request, network: str | None = None, next: str | None = None) -> Response:
    return await _sign_in_page(request, {"network": network or "", "card": "", "next": next or ""})


@router.post("/login")
async def sign_in(request: Request) -> Response:
    form = await checked_form(request, None, clean=False)
    values = {name: str(form.get(name, "")) for name in SIGN_IN_FIELDS}
    page = services_of(request).member_page
    try:
        refuse_control_characters(form)
        network = await _network(request, values["network"])
        if form.get("method") == "code":
            sent_to = await page.send_code(network, values["card"], client_address(request), _code_mail(request))
            return _code_page(request, values, sent_to=sent_to)
        signed = await page.sign_in_with_pin(network, values["card"], str(form.get("pin", "")), client_address(request))
    except DomainError as error:
        return with_retry_after(await _sign_in_page(request, values, error, status_of(error)), error)
    return _signed_in(request, signed, values["next"])


@router.post("/login/code")
async def sign_in_with_code(request: Request) -> Response:
    form = await checked_form(request, None, clean=False)
    values = {name: str(form.get(name, "")) for name in SIGN_IN_FIELDS}
    try:
        refuse_control_characters(form)
        network = await _network(request, values["network"])
        signed = await services_of(request).member_page.sign_in_with_code(
            network, values["card"], str(form.get("code", "")), client_address(request)
        )
    except DomainError as error:
        return with_retry_after(_code_page(request, values, error=error, status_code=status_of(error)), error)
    return _signed_in(request, signed, values["next"])


async def _home(
    request: Request,
    member: WebIdentity,
    *,
    notice: str | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
    gift_card_number: str = "",
    form: str = "pin",
) -> HTMLResponse:
    services = services_of(request)
    overview = await services.member_page.overview(member.network_id, _member_id(member))
    gift_cards = await services.member_gift_cards.cards(_member_id(member))
    card = overview.cards[0] if overview.cards else None
    context = {
        "card_number": card,
        "card_qr": qr_svg(card, title=gettext(request, "QR code of card %(number)s", number=card)) if card else None,
        "card_barcode": (
            barcode_svg(card, title=gettext(request, "Barcode of card %(number)s", number=card)) if card else None
        ),
        "network_address": f"/me/n/{member.network_code}",
        "wallet_pass": services.settings.wallet_pass_configured,
        "me": member,
        "overview": overview,
        "gift_cards": gift_cards,
        "gift_card_number": gift_card_number,
        "notice": notice,
        "error_form": form,  # which form's refusal it is: shown beside that form only
        **_error_context(request, error),
    }
    return render(
        request,
        "me/home.html",
        context,
        status_code=status_code,
        currency=overview.currency,
        timezone=overview.timezone,
    )


async def _network(request: Request, code: str) -> MemberNetwork:
    page = services_of(request).member_page
    if code.strip():
        return await page.network(code)
    only = await page.only_network()
    if only is None:
        raise InvalidInput("type the network code printed on your card or the shop's poster", field="network")
    return only


async def _sign_in_page(
    request: Request,
    values: dict[str, Any],
    error: DomainError | None = None,
    status_code: int = 200,
    fixed: MemberNetwork | None = None,
) -> Response:
    if fixed is None and values.get("next", "").startswith("/me/n/") and values.get("network"):
        # a refusal on a network's own sign-in (/me/n/<code>) keeps the form without the network field
        fixed = await services_of(request).member_page.network(values["network"])
    only = fixed or await services_of(request).member_page.only_network()
    context = {"values": values, "only_network": only, **_error_context(request, error)}
    return _anonymous_page(request, "me/sign_in.html", context, status_code)


def _code_page(
    request: Request,
    values: dict[str, Any],
    *,
    sent_to: str | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
) -> Response:
    context = {"values": values, "sent_to": sent_to, **_error_context(request, error)}
    return _anonymous_page(request, "me/code.html", context, status_code)


def _anonymous_page(request: Request, template: str, context: dict[str, Any], status_code: int) -> Response:
    csrf_token = anonymous_csrf_token(request)
    response = render(request, template, {**context, "csrf_token": csrf_token}, status_code=status_code)
    keep_anonymous_csrf(request, response, csrf_token)
    return response


def _error_context(request: Request, error: DomainError | None) -> dict[str, Any]:
    if error is None:
        return {"error": None, "error_field": None}
    return {"error": error_text(request, error.detail), "error_field": error.field}


def _signed_in(request: Request, signed: SignedIn, next_url: str) -> Response:
    response = RedirectResponse(safe_next(next_url, "/me"), 303)
    set_session_cookie(response, request, "me", signed.token)
    return response


def _code_mail(request: Request) -> CodeMail:
    def compose(code: str, minutes: int) -> tuple[str, str]:
        subject = gettext(request, "Your sign-in code: %(code)s", code=code)
        text = gettext(
            request,
            "Your code to open your card's page is %(code)s. It is valid for %(minutes)s minutes and works once.\n\n"
            "If you did not ask for it, ignore this message: nobody can sign in without the code.",
            code=code,
            minutes=minutes,
        )
        return subject, text

    return compose


def _member_id(member: WebIdentity) -> int:
    if member.member_id is None:
        raise InvalidInput("this session belongs to no member; sign in again", field="session")
    return member.member_id
