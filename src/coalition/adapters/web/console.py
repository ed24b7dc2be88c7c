"""The console at /console: the network administrator's and the partner owners' pages, by role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.console_staff import partner_scope
from coalition.adapters.web.sessions import services_of, signed_in
from coalition.adapters.web.templating import render
from coalition.application.web_sessions import WebIdentity

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]


@router.get("")
async def home(request: Request, user: ConsoleUser) -> HTMLResponse:
    """The overview: today's key figures for the owner's partner (the administrator: the whole network)."""
    services = services_of(request)
    report = await services.reports.report(user.network_id, partner_scope(user))
    context = {"me": user, "report": report, "now": services.clock.now()}
    if user.role == "administrator":  # the network's plan and customers (issue 18, docs/plans.md)
        context["plan"] = await services.operator.network(user.network_id)
    return render(request, "console/home.html", context, currency=user.currency, timezone=user.timezone)
