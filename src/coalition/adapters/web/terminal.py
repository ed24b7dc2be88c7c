"""The cashier's terminal at /terminal: the brief's five steps on a phone, enrolment, refunds and the day's list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from coalition.adapters.web.sessions import signed_in
from coalition.adapters.web.templating import render
from coalition.application.web_sessions import WebIdentity

router = APIRouter(prefix="/terminal", include_in_schema=False)
Cashier = Annotated[WebIdentity, Depends(signed_in("terminal"))]


@router.get("")
async def home(request: Request, cashier: Cashier) -> HTMLResponse:
    return render(request, "terminal/home.html", {"me": cashier}, currency=cashier.currency)
