"""Members and cards in the console: search by any identifier (or a name), a member's page with their cards, points,
lots about to expire, gifts and statement, and the card actions (block, unblock, report lost, replace).
For the network's administrator only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.pagination import PageRequest, decode_cursor, next_cursor_of
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.member_admin import MemberAdministration
from coalition.application.member_list import MemberFilter
from coalition.application.wallet_admin import WalletAdmin
from coalition.application.wallet_reports import WalletOverview
from coalition.application.web_sessions import WebIdentity
from coalition.domain.cards import CardAction
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.money import format_minor

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
STATEMENT_STEP = 50
CARD_NOTICES = {
    CardAction.BLOCK: "The card was blocked: it cannot earn or spend until it is unblocked.",
    CardAction.UNBLOCK: "The card was unblocked.",
    CardAction.REPORT_LOST: "The card was reported lost: it cannot be used any more.",
    CardAction.REPLACE: "The card was replaced: the balance and the history are on the new card.",
    CardAction.ACTIVATE: "The card was activated.",
}
WALLET_NOTICES = {
    "wallet-limits": "The wallet's limits were saved.",
    "wallet-closed": "The wallet was closed: it pays no more and takes no refunds.",
}


def members_of(request: Request) -> MemberAdministration:
    return MemberAdministration(services_of(request).pos)


@router.get("/members")
async def search_page(request: Request, me: Administrator, q: str = "", cursor: str = "") -> Response:
    context: dict[str, object] = {"me": me, "query": q, "results": None, "error": None, "newest": None}
    status = 200
    try:
        if q.strip():
            results = await members_of(request).search(me.network_id, q)
            if len(results) == 1:
                return RedirectResponse(f"/console/members/{results[0].member_id}", 303)
            context["results"] = results
        else:  # the newest members, a page at a time (issue 17, point 5)
            before = decode_cursor(cursor) if cursor else None
            found = await services_of(request).members.page(MemberFilter(me.network_id, before_id=before, limit=51))
            context["newest"], context["older"] = next_cursor_of(found, PageRequest(50, before), lambda m: m.id)
    except DomainError as error:
        context["error"], status = error_text(request, error.detail), status_of(error)
    return render(
        request, "console/members.html", context, currency=me.currency, timezone=me.timezone, status_code=status
    )


@router.get("/members/{member_id}")
async def member_page(request: Request, me: Administrator, member_id: int, lines: int = STATEMENT_STEP) -> Response:
    return await _member(request, me, member_id, lines)


async def _member(
    request: Request,
    me: WebIdentity,
    member_id: int,
    lines: int = STATEMENT_STEP,
    error: DomainError | None = None,
    failed_card: str | None = None,
) -> Response:
    overview = await members_of(request).overview(me.network_id, member_id, lines)
    wallet = await WalletAdmin(services_of(request).pos).overview(me.network_id, me.currency, member_id, me.timezone)
    notice = request.query_params.get("done", "")
    shown = CARD_NOTICES[CardAction(notice)] if notice in set(CardAction) else WALLET_NOTICES.get(notice)
    context = {
        "me": me,
        "member": overview,
        "wallet": wallet,
        "wallet_form": _wallet_form(wallet, me.currency),
        "lines": len(overview.statement),
        "more_lines": len(overview.statement) + STATEMENT_STEP,
        "notice": gettext(request, shown) if shown else None,
        "error": error_text(request, error.detail) if error else None,
        "error_field": error.field if error else None,
        "failed_card": failed_card,
    }
    status = status_of(error) if error else 200
    return render(
        request,
        "console/members_show.html",
        context,
        currency=me.currency,
        timezone=me.timezone,
        status_code=status,
    )


def _wallet_form(wallet: WalletOverview | None, currency: str) -> dict[str, str]:
    """The limits form's values: the wallet's as amounts (the daily limit empty when there is none)."""
    if wallet is None:
        return {"credit_limit": "0", "daily_spend_limit": ""}
    daily = wallet.view.daily_spend_limit_minor
    return {
        "credit_limit": format_minor(wallet.view.credit_limit_minor, currency),
        "daily_spend_limit": "" if daily is None else format_minor(daily, currency),
    }


async def member_page_with(request: Request, me: WebIdentity, member_id: int, error: DomainError) -> Response:
    """The member's page again with a refused change's message (the wallet's forms)."""
    return await _member(request, me, member_id, error=error)


@router.post("/members/{member_id}/cards")
async def change_card(request: Request, me: Administrator, member_id: int) -> Response:
    form = await checked_form(request, me)
    number, action_text = str(form.get("number", "")), str(form.get("action", ""))
    new_number = str(form.get("new_number", "")) or None
    try:
        if action_text not in set(CardAction):
            raise InvalidInput(f"'{action_text}' is not a card action", field="action")
        action = CardAction(action_text)
        await members_of(request).change_card(me.network_id, member_id, number, action, new_number)
    except DomainError as error:
        return await _member(request, me, member_id, error=error, failed_card=number)
    return RedirectResponse(f"/console/members/{member_id}?done={action.value}", 303)
