"""Customer messages in the console (issue 16; docs/messages.md), administrators only: the settings (which kind goes
on which channel, quiet hours, cap, threshold: /v1/admin/message-settings) and the templates: every kind × channel ×
language, one edited (saved only when it renders: the refusal names the line, beside its field) and previewed with
the sample or one of the network's members (the same commands as /v1/admin/message-templates)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import field_error
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import gettext, render
from coalition.application.message_templates import Key, parse_key
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError
from coalition.domain.input_text import parse_whole_number
from coalition.domain.message_settings import MessageSettings
from coalition.domain.messages import Channel, MessageKind

router = APIRouter(prefix="/console/messages", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]


@router.get("/templates")
async def templates_page(request: Request, me: Administrator) -> Response:
    listed = await services_of(request).message_templates.list(me.network_id)
    return render(request, "console/message_templates.html", {"me": me, "templates": listed})


async def _edit_page(
    request: Request,
    me: WebIdentity,
    key: Key,
    *,
    values: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
    error: DomainError | None = None,
) -> Response:
    shown = await services_of(request).message_templates.show(me.network_id, key)
    context = {
        "me": me,
        "template": shown,
        "values": values or {"subject": shown["subject"], "body": shown["body"], "member_id": ""},
        "preview": preview,
        "error": field_error(request, error) if error else None,
        "done": gettext(request, "The template was saved.") if request.query_params.get("done") == "saved" else None,
    }
    return render(request, "console/message_template.html", context, status_code=status_of(error) if error else 200)


@router.get("/templates/{kind}/{channel}/{language}")
async def template_page(request: Request, me: Administrator, kind: str, channel: str, language: str) -> Response:
    return await _edit_page(request, me, parse_key(kind, channel, language))


@router.post("/templates/{kind}/{channel}/{language}")
async def save_template(request: Request, me: Administrator, kind: str, channel: str, language: str) -> Response:
    """One form, two buttons: Preview renders what is typed (nothing saved), Save stores it."""
    key = parse_key(kind, channel, language)
    form = await checked_form(request, me)
    values = {name: str(form.get(name, "")) for name in ("subject", "body", "member_id")}
    templates = services_of(request).message_templates
    try:
        if form.get("action") == "preview":
            member = values["member_id"].strip()
            member_id = parse_whole_number(member, field="member_id", message="a member's number") if member else None
            shown = await templates.preview(
                me.network_id, key, member_id=member_id, subject=values["subject"], body=values["body"]
            )
            return await _edit_page(request, me, key, values=values, preview=shown)
        await templates.set(me.network_id, key, values["subject"], values["body"])
    except DomainError as raised:
        return await _edit_page(request, me, key, values=values, error=raised)
    return RedirectResponse(f"/console/messages/templates/{kind}/{channel}/{language}?done=saved", 303)


def _settings_values(settings: MessageSettings) -> dict[str, Any]:
    quiet = settings.quiet_hours
    return {
        "enabled": {(kind, channel) for kind, channels in settings.enabled_json().items() for channel in channels},
        "quiet_start": "" if quiet is None else quiet[0].strftime("%H:%M"),
        "quiet_end": "" if quiet is None else quiet[1].strftime("%H:%M"),
        "cap_per_day": str(settings.cap_per_day),
        "balance_threshold": "" if settings.balance_threshold is None else str(settings.balance_threshold),
        "expiring_days_before": str(settings.expiring_days_before),
        "version": str(settings.version),
    }


async def _settings_page(
    request: Request, me: WebIdentity, values: dict[str, Any] | None = None, error: DomainError | None = None
) -> Response:
    current = await services_of(request).customer_messages.current(me.network_id)
    context = {
        "me": me,
        "kinds": [kind.value for kind in MessageKind],
        "channels": [channel.value for channel in Channel],
        "values": values or _settings_values(current),
        "error": field_error(request, error) if error else None,
        "done": gettext(request, "The message settings were saved.") if request.query_params.get("done") else None,
    }
    return render(request, "console/message_settings.html", context, status_code=status_of(error) if error else 200)


@router.get("/settings")
async def settings_page(request: Request, me: Administrator) -> Response:
    return await _settings_page(request, me)


def _number(text: str, name: str) -> int:
    return parse_whole_number(text, field=name, message="a whole number")


@router.post("/settings")
async def save_settings(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    text = {name: str(form.get(name, "")).strip() for name in _FIELDS}
    enabled = {
        (kind.value, channel.value)
        for kind in MessageKind
        for channel in Channel
        if form.get(f"on_{kind.value}_{channel.value}")
    }
    values = dict(text) | {"enabled": enabled}
    try:
        changes: dict[str, Any] = {
            "enabled": {kind.value: [c for k, c in sorted(enabled) if k == kind.value] for kind in MessageKind},
            "quiet_start": text["quiet_start"] or None,
            "quiet_end": text["quiet_end"] or None,
            "cap_per_day": _number(text["cap_per_day"], "cap_per_day"),
            "balance_threshold": _number(text["balance_threshold"], "balance_threshold")
            if text["balance_threshold"]
            else None,
            "expiring_days_before": _number(text["expiring_days_before"], "expiring_days_before"),
        }
        version = _number(text["version"], "version") if text["version"] else None
        await services_of(request).customer_messages.set(me.network_id, changes, version)
    except DomainError as raised:
        return await _settings_page(request, me, values, raised)
    return RedirectResponse("/console/messages/settings?done=saved", 303)


_FIELDS = ("quiet_start", "quiet_end", "cap_per_day", "balance_threshold", "expiring_days_before", "version")
