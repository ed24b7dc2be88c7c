"""Answers for a database out of reach: 503 with Retry-After on every route (problem+json on the API, an HTML page
on the pages), and for any other unexpected error a 500 in the same shapes, never a bare text."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response

from coalition.adapters.http import problems
from coalition.adapters.http.problems import RETRY_AFTER_SECONDS, UNAVAILABLE_DETAIL, UNAVAILABLE_TITLE
from coalition.adapters.storage.outage import OUTAGE_ERROR_KINDS, unavailable
from coalition.adapters.web.setup import error_page, is_page
from coalition.adapters.web.templating import gettext

FAILED_TITLE = "Something went wrong on the server"
FAILED_DETAIL = "the server could not answer this request; the error is logged"
logger = logging.getLogger("coalition.outage")


def _wants_page(request: Request) -> bool:
    return is_page(request) and request.headers.get("x-requested-with") != "fetch"


def unavailable_answer(request: Request) -> Response:
    if not _wants_page(request):
        return problems.unavailable_problem()
    title, detail = gettext(request, UNAVAILABLE_TITLE), gettext(request, UNAVAILABLE_DETAIL)
    response: Response = error_page(request, 503, title, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install(app: FastAPI) -> None:
    async def _outage(request: Request, error: Exception) -> Response:
        if not unavailable(error):
            raise error  # not an outage: the server error below answers it, and the server logs it
        logger.warning("database unavailable (%s %s): %r", request.method, request.url.path, error)
        return unavailable_answer(request)

    async def _server_error(request: Request, error: Exception) -> Response:
        # Starlette runs this for an error nothing else handled, then re-raises it for the server's log.
        if unavailable(error):
            return unavailable_answer(request)
        if _wants_page(request):
            return error_page(request, 500, gettext(request, FAILED_TITLE), gettext(request, FAILED_DETAIL))
        return problems.problem(500, "server-error", FAILED_TITLE, FAILED_DETAIL)

    for kind in OUTAGE_ERROR_KINDS:
        app.add_exception_handler(kind, _outage)
    app.add_exception_handler(Exception, _server_error)
