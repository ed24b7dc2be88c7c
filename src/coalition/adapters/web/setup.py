"""Mounts the web pages on the application: static files, each area's router, and HTML answers for errors."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from coalition.adapters.http import problems
from coalition.adapters.web import (
    console,
    console_audit,
    console_campaigns,
    console_catalogue,
    console_devices,
    console_exports,
    console_files,
    console_gift_cards,
    console_members,
    console_messages,
    console_money,
    console_network,
    console_program,
    console_reports,
    console_rules,
    console_sales_files,
    console_schedules,
    console_settlement,
    console_staff,
    console_webhooks,
    join,
    member,
    operator_console,
    register,
    sign_in,
    terminal,
    terminal_cards,
    terminal_enrol,
    terminal_gift_cards,
    terminal_gifts,
    terminal_offline,
    terminal_wallet,
    unsubscribe,
)
from coalition.adapters.web.sessions import AREAS, SignInRequired
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.domain import errors

STATIC_DIR = Path(__file__).parent / "static"
PAGE_PREFIXES = ("/terminal", "/console", "/me", "/join", "/static", "/unsubscribe", "/operator")
SECURITY_HEADERS = {  # on every page, static file and page error (adapters/http/security_headers.py adds them)
    # scripts only from our own files; inline styles are allowed for the charts' bar widths; the terminal's web app
    # manifest and service worker (terminal_offline.py) only from this site, named rather than left to default-src
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


# every module of pages, each with its router (the order is the routes' matching order)
PAGE_MODULES = (
    sign_in,
    register,
    terminal,
    terminal_enrol,
    terminal_cards,
    terminal_gifts,
    terminal_wallet,
    terminal_gift_cards,
    terminal_offline,
    console,
    console_staff,
    console_reports,
    console_files,  # before console_exports: /console/exports/members.csv is its own, not an {what} of exports
    console_sales_files,
    console_catalogue,
    console_exports,
    console_network,
    console_members,
    console_money,
    console_gift_cards,
    console_devices,
    console_webhooks,
    console_rules,
    console_program,
    console_settlement,
    console_audit,
    console_schedules,
    console_messages,
    console_campaigns,
    join,
    member,
    unsubscribe,
    operator_console,
)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGE_MODULES:
        app.include_router(module.router)
    app.include_router(member.network_router)  # /me/n/<network code>: each network's own address for its members

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, error: SignInRequired) -> Response:
        if request.headers.get("x-requested-with") == "fetch":
            return problems.problem(401, "unauthorized", "Sign in again", "the session ended; sign in again")
        return RedirectResponse(f"{AREAS[error.area].sign_in_url}?next={_safe_next(error.next_url)}", 303)

    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, error: errors.DomainError) -> Response:
        if not is_page(request) or request.headers.get("x-requested-with") == "fetch":
            return problems.domain_problem(error)
        title, detail = error_text(request, error.title), error_text(request, error.detail)
        return error_page(request, problems.status_of(error), title, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if not is_page(request):
            return problems.http_problem(error)
        title = gettext(request, "Page not found") if error.status_code == 404 else str(error.detail)
        response = error_page(request, error.status_code, title, str(error.detail))
        response.headers.update(error.headers or {})  # a 405's Allow
        return response


def error_page(request: Request, status_code: int, title: str, detail: str) -> Response:
    return render(
        request, "error.html", {"title": title, "detail": detail, "status": status_code}, status_code=status_code
    )


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    return quote(target if target.startswith("/") and not target.startswith("//") else "/", safe="/")
