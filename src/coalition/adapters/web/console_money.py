"""Money on cards in the console (issue 14): the network's wallet liability (the administrator), top-ups and wallet
payments per outlet over a period (an owner: their partner's outlets), and on a member's page their wallet's limits
and its closing (the administrator, through the same command as PUT /v1/admin/members/{id}/wallet, audited).

The per-outlet figures are the sales reports' (application/reports.py), so this page, the reports and the owner's
e-mail agree to the cent. The gift cards' liability is a line of its own (their page: console_gift_cards.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_members import member_page_with
from coalition.adapters.web.console_reports import typed_date
from coalition.adapters.web.console_staff import field_error, network_of, partner_scope
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import render
from coalition.application.reports import Report
from coalition.application.wallet_admin import WalletAdmin
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
QUERY_FIELDS = ("from", "to", "partner")


@router.get("/money")
async def money_page(request: Request, user: ConsoleUser) -> Response:
    """The liability (administrator) and, per outlet, the period's top-ups, wallet payments and refunds into wallets
    beside the money taken at the till; by default this month so far."""
    services = services_of(request)
    values = {name: request.query_params.get(name, "").strip() for name in QUERY_FIELDS}
    scope = partner_scope(user)
    report: Report | None = None
    error: dict[str, str] | None = None
    status = 200
    try:
        if scope is None and values["partner"]:
            scope = parse_whole_number(values["partner"], field="partner", message="choose a partner from the list")
        first, last = typed_date(values["from"], "from"), typed_date(values["to"], "to")
        if first is None:
            today = await services.reports.today(user.network_id, scope)
            first, last = (last or today).replace(day=1), last or today
        report = await services.reports.report(user.network_id, scope, first, last or first)
    except DomainError as raised:
        error, status = field_error(request, raised), status_of(raised)
    partners: dict[int, str] = report.partners if report else {}
    if report is None and user.role == "administrator":
        partners = (await services.admin.staff(network_of(user)))["partners"]
    administrator = user.role == "administrator"
    context: dict[str, Any] = {
        "me": user,
        "values": values,
        "report": report,
        "partners": partners,
        "error": error,
        # the node's liability is the administrator's to see; an owner sees their outlets' takings
        "liability": await services.wallet_reports.liability(user.network_id) if administrator else None,
        "gift_cards": await services.gift_card_reports.liability(user.network_id) if administrator else None,
        "balances_query": f"to={report.last_day.isoformat()}" if report else "",
    }
    return render(request, "console/money.html", context, currency=user.currency, status_code=status)


@router.post("/members/{member_id}/wallet")
async def wallet_limits(request: Request, me: Administrator, member_id: int) -> Response:
    """The credit limit (0: none) and the daily spending limit (empty: none), as the admin API sets them."""
    form = await checked_form(request, me)
    credit = str(form.get("credit_limit", "")).strip()
    daily = str(form.get("daily_spend_limit", "")).strip()
    try:
        await WalletAdmin(services_of(request).pos).set_limits(
            me.network_id, me.currency, member_id, credit_limit=credit or "0", daily_spend_limit=daily or None
        )
    except DomainError as error:
        return await member_page_with(request, me, member_id, error)
    return RedirectResponse(f"/console/members/{member_id}?done=wallet-limits#wallet-heading", 303)


@router.post("/members/{member_id}/wallet/close")
async def close_wallet(request: Request, me: Administrator, member_id: int) -> Response:
    await checked_form(request, me)
    try:
        await WalletAdmin(services_of(request).pos).close(me.network_id, me.currency, member_id, None)
    except DomainError as error:
        return await member_page_with(request, me, member_id, error)
    return RedirectResponse(f"/console/members/{member_id}?done=wallet-closed#wallet-heading", 303)
