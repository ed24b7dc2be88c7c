"""Sessions, roles and CSRF for the web pages.

Each area has its own cookie, scoped to its path, so one browser can hold a cashier's terminal and a member's page
at once. Cookies are HttpOnly and SameSite=Lax, and Secure whenever the page is served over HTTPS (or
COALITION_COOKIE_SECURE=1 behind a proxy that terminates TLS). Every form carries a CSRF token: the session's own
once signed in, and before that a double-submit token from a cookie.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request, Response
from starlette.datastructures import FormData

from coalition.adapters.http.actors import request_id
from coalition.application.audit import Actor, act_as
from coalition.application.rate_limits import ProxyNetwork, client_address_of, parse_trusted_proxies
from coalition.application.web_sessions import Role, WebIdentity
from coalition.domain.errors import Forbidden, InvalidInput
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, has_control_character
from coalition.wiring import Services

Area = Literal["terminal", "console", "me"]
ANONYMOUS_CSRF_COOKIE = "coalition_csrf"


@dataclass(frozen=True)
class AreaSpec:
    cookie: str
    path: str
    roles: tuple[Role, ...]

    @property
    def sign_in_url(self) -> str:
        return f"{self.path}/login"


AREAS: dict[Area, AreaSpec] = {
    "terminal": AreaSpec("coalition_terminal", "/terminal", ("cashier",)),
    "console": AreaSpec("coalition_console", "/console", ("administrator", "owner")),
    "me": AreaSpec("coalition_me", "/me", ("member",)),
}


class SignInRequired(Exception):
    """No valid session for the area: the page answers with a redirect to the area's sign-in."""

    def __init__(self, area: Area, next_url: str) -> None:
        super().__init__(area)
        self.area, self.next_url = area, next_url


class CsrfRejected(Forbidden):
    code = "csrf-rejected"
    title = "The form is stale or was not sent by this site; reload the page and try again"


# a textarea, and the permissions matrix's checkboxes (outlet, counter and operation joined by tabs): tab and new lines
# are allowed in them
MULTILINE_FORM_FIELDS = frozenset({"draft", "allow", "slots", "body"})  # slots: a device's products, a line each


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def site_url(request: Request) -> str:
    """This server's address for links printed or shown to be opened elsewhere (the counter's QR code, the start
    sheet): COALITION_PUBLIC_URL when it was set, else the address this request came to."""
    settings = services_of(request).settings
    base = settings.public_url if settings.public_url_set and settings.public_url else str(request.base_url)
    return base.rstrip("/")


def client_address(request: Request) -> str:
    """The client's address: the peer, or behind a proxy named in COALITION_TRUSTED_PROXIES the right-most address
    of X-Forwarded-For that is not one of the proxies (application/rate_limits.py)."""
    peer = request.client.host if request.client else None
    return client_address_of(peer, request.headers.get("x-forwarded-for"), trusted_proxies(request))


def trusted_proxies(request: Request) -> tuple[ProxyNetwork, ...]:
    """Parsed once per application, from the settings of its services."""
    state = request.app.state
    found: tuple[ProxyNetwork, ...] | None = getattr(state, "trusted_proxy_networks", None)
    if found is None:
        found = parse_trusted_proxies(services_of(request).settings.trusted_proxies)
        state.trusted_proxy_networks = found
    return found


def with_retry_after(response: Response, error: Exception) -> Response:
    """A refusal for too many attempts tells when to come back, on a page as in the API."""
    seconds = getattr(error, "retry_after_seconds", None)
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https" or os.environ.get("COALITION_COOKIE_SECURE", "") == "1"


def set_session_cookie(response: Response, request: Request, area: Area, token: str) -> None:
    spec = AREAS[area]
    response.set_cookie(
        spec.cookie, token, path=spec.path, httponly=True, samesite="lax", secure=secure_cookies(request)
    )


def clear_session_cookie(response: Response, area: Area) -> None:
    spec = AREAS[area]
    response.delete_cookie(spec.cookie, path=spec.path)


def session_token(request: Request, area: Area) -> str | None:
    return request.cookies.get(AREAS[area].cookie)


async def identity_or_none(request: Request, area: Area) -> WebIdentity | None:
    return await services_of(request).web_sessions.identity(session_token(request, area))


def signed_in(area: Area, *roles: Role) -> Callable[[Request], Awaitable[WebIdentity]]:
    """A dependency: the session of `area`, whose role must be one of `roles` (any of the area's by default)."""
    allowed = roles or AREAS[area].roles

    async def dependency(request: Request) -> WebIdentity:
        identity = await identity_or_none(request, area)
        if identity is None or identity.role not in AREAS[area].roles:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(area, target)
        if identity.role not in allowed:
            raise Forbidden(f"this page is for the {' or '.join(allowed)}", field="role")
        request.state.identity = identity
        if area == "console":  # what a console user does is audited under their name
            user = str(identity.console_user_id)
            where, request_number = client_address(request), request_id(request)
            name = identity.console_login or identity.display_name
            act_as(Actor("console_user", user, name, identity.role, where, request_number))
        return identity

    return dependency


def anonymous_csrf_token(request: Request) -> str:
    """The double-submit token for forms shown before sign-in: the cookie's, or a new one to keep in it."""
    return request.cookies.get(ANONYMOUS_CSRF_COOKIE) or secrets.token_urlsafe(32)


def keep_anonymous_csrf(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(ANONYMOUS_CSRF_COOKIE) != token:
        response.set_cookie(ANONYMOUS_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(request))


def safe_next(target: str | None, default: str) -> str:
    """Where to go after signing in: only a path on this site, never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _check(expected: str | None, sent: Any) -> None:
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise CsrfRejected("the form's security token is missing or stale; reload the page", field="csrf_token")


async def checked_form(request: Request, identity: WebIdentity | None, *, clean: bool = True) -> FormData:
    """The posted form, after checking its CSRF token against the session's (or, before sign-in, the cookie's) and
    (unless `clean` is False: the caller calls `refuse_control_characters` where it can show the form again) that
    no field holds a control character."""
    form = await request.form()
    expected = identity.csrf_token if identity else request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    _check(expected, form.get("csrf_token") or request.headers.get("x-csrf-token"))
    if clean:
        refuse_control_characters(form)
    return form


def refuse_control_characters(form: FormData) -> None:
    """A field holding a control character (NUL and the like) is a 422 naming it; PostgreSQL cannot store NUL."""
    for name, value in form.multi_items():
        if has_control_character(name) or (
            isinstance(value, str) and has_control_character(value, multiline=name in MULTILINE_FORM_FIELDS)
        ):
            raise InvalidInput(CONTROL_CHARACTER_MESSAGE, field=name)
