"""The unsubscribe page (docs/messages.md, "Unsubscribe"): the link in every customer e-mail opens it without signing
in; the signed token says who and what, and the member confirms with one button (a POST, so that a mail scanner
following links unsubscribes nobody)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.sessions import anonymous_csrf_token, checked_form, keep_anonymous_csrf, services_of
from coalition.adapters.web.templating import render
from coalition.application.unsubscribe import UnsubscribePage
from coalition.domain.messages import MAX_TOKEN_CHARS

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)


def _page(request: Request, token: str, page: UnsubscribePage, done: bool) -> Response:
    csrf_token = anonymous_csrf_token(request)
    context = {"page": page, "token": token, "done": done, "csrf_token": csrf_token}
    response = render(request, "unsubscribe.html", context)
    response.headers["X-Robots-Tag"] = "noindex"
    keep_anonymous_csrf(request, response, csrf_token)
    return response


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(request: Request, token: str = Path(max_length=MAX_TOKEN_CHARS)) -> Response:
    page = await services_of(request).unsubscribes.page(token)
    return _page(request, token, page, done=False)


@router.post("/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str = Path(max_length=MAX_TOKEN_CHARS)) -> Response:
    await checked_form(request, None)
    page = await services_of(request).unsubscribes.confirm(token)
    return _page(request, token, page, done=True)
