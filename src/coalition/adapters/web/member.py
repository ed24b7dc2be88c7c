"""The member's page at /me: balance, points about to expire, gifts and recent visits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from coalition.adapters.web.sessions import signed_in
from coalition.adapters.web.templating import render
from coalition.application.web_sessions import WebIdentity

router = APIRouter(prefix="/me", include_in_schema=False)
Member = Annotated[WebIdentity, Depends(signed_in("me"))]


@router.get("")
async def home(request: Request, member: Member) -> HTMLResponse:
    return render(request, "me/home.html", {"me": member}, currency=member.currency)
