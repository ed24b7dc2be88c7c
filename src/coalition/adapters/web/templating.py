"""Jinja2 templates with the reader's language: `render` picks the language, translates and formats for it."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from coalition.adapters.web import formatting
from coalition.adapters.web.i18n import LANGUAGES, Translator, negotiate

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGE_COOKIE = "coalition_lang"
_translator: ContextVar[Translator | None] = ContextVar("translator", default=None)


def _current() -> Translator:
    return _translator.get() or Translator.for_language("en")


# Jinja's new-style gettext formats the result itself (`%(name)s` from the call's keywords, `num` and the `trans`
# block's own variables for plurals): these only look the message up.
def _gettext(message: str) -> str:
    return _current().gettext(message)


def _ngettext(singular: str, plural: str, count: int) -> str:
    return _current().ngettext(singular, plural, count)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
# `{{ finding.message|service_text }}`: a text a service wrote (an error, a conflict, an explanation), values and all
environment.filters["service_text"] = lambda text: _current().error(str(text))


def language_of(request: Request) -> str:
    return negotiate(
        request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def translator_for(request: Request) -> Translator:
    return Translator.for_language(language_of(request))


def gettext(request: Request, message: str, **values: Any) -> str:
    """A message translated for the request's reader, for text built in Python (flash messages, errors)."""
    text = translator_for(request).gettext(message)
    return text % values if values else text


def error_text(request: Request, detail: str) -> str:
    """A service's error message in the reader's language, values and all (see i18n's patterns)."""
    return translator_for(request).error(detail)


class Formats:
    """The formatting helpers a template sees as `fmt`, bound to the reader's language."""

    def __init__(self, language: str, currency: str = "", timezone: str = "UTC") -> None:
        self.language, self.currency, self.timezone = language, currency, timezone

    def money(self, amount_minor: int, currency: str | None = None) -> str:
        return formatting.money(amount_minor, currency or self.currency, self.language)

    def number(self, value: int) -> str:
        return formatting.number(value, self.language)

    def percent(self, value_bp: int) -> str:
        return formatting.basis_points(value_bp, self.language)

    def moment(self, value: datetime, timezone: str | None = None, style: str = "medium") -> str:
        return formatting.moment(value, timezone or self.timezone, self.language, style)

    def time(self, value: datetime, timezone: str | None = None) -> str:
        return formatting.clock_time(value, timezone or self.timezone, self.language)

    def day(self, value: date, style: str = "medium") -> str:
        return formatting.day(value, self.language, style)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    currency: str = "",
    timezone: str = "UTC",
) -> HTMLResponse:
    language = language_of(request)
    token = _translator.set(Translator.for_language(language))
    try:
        values = {
            "request": request,
            "language": language,
            "languages": LANGUAGES,
            "fmt": Formats(language, currency, timezone),
            "area": request.url.path.strip("/").split("/")[0],
            **(context or {}),
        }
        body = environment.get_template(template).render(values)
    finally:
        _translator.reset(token)
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Content-Language"] = language
    response.headers["Cache-Control"] = "no-store"
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
