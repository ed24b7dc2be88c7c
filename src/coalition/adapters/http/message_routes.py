"""Customer messages over HTTP (issue 16; docs/messages.md), admin key: the network's settings (which kind goes on
which channel, quiet hours, cap, threshold) and its templates: every kind × channel × language with the network's own
text or the built-in one, a text saved (refused with the line at fault when it would not render), reset to the
built-in one, and previewed with the sample or one member of the network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StrictInt, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.schemas import Body, RecordId
from coalition.application.message_templates import parse_key
from coalition.domain.message_settings import MAX_EXPIRING_DAYS_BEFORE, MAX_THRESHOLD, MessageSettings
from coalition.domain.message_templates import LANGUAGES, MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from coalition.domain.messages import MAX_CAP_PER_DAY, Channel, MessageKind

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)

Kind = Annotated[str, Path(max_length=32, description=f"one of {', '.join(MessageKind)}")]
ChannelName = Annotated[str, Path(max_length=8, description=f"one of {', '.join(Channel)}")]
Language = Annotated[str, Path(max_length=8, description=f"one of {', '.join(LANGUAGES)}")]
PATH = "/message-templates/{kind}/{channel}/{language}"


class TemplateBody(Body):
    subject: StrictStr = Field(default="", max_length=MAX_SUBJECT_CHARS, description="e-mail only; empty for an SMS")
    body: StrictStr = Field(max_length=MAX_BODY_CHARS, description="Jinja2 text; the kind's variables only")


class PreviewBody(Body):
    member_id: RecordId | None = Field(default=None, description="a member of the network; none: the sample")
    subject: StrictStr | None = Field(default=None, max_length=MAX_SUBJECT_CHARS, description="unsaved text to try")
    body: StrictStr | None = Field(default=None, max_length=MAX_BODY_CHARS, description="unsaved text to try")


@router.get("/message-templates", summary="Every message template: kind, channel, language, text, variables")
async def list_templates(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return {"templates": await svc.message_templates.list(admin.id)}


@router.get(PATH, summary="One message template (the network's own, else the built-in one)")
async def show_template(
    kind: Kind, channel: ChannelName, language: Language, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    return await svc.message_templates.show(admin.id, parse_key(kind, channel, language))


@router.put(PATH, summary="Save a template; refused (422, the line at fault) when it would not render")
async def set_template(
    kind: Kind, channel: ChannelName, language: Language, body: TemplateBody, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    return await svc.message_templates.set(admin.id, parse_key(kind, channel, language), body.subject, body.body)


@router.delete(PATH, summary="Back to the built-in template")
async def reset_template(
    kind: Kind, channel: ChannelName, language: Language, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    return await svc.message_templates.reset(admin.id, parse_key(kind, channel, language))


@router.post(PATH + "/preview", summary="A template rendered for the sample or a member of the network")
async def preview_template(
    kind: Kind, channel: ChannelName, language: Language, body: PreviewBody, svc: Svc, admin: NetworkAdmin
) -> dict[str, Any]:
    return await svc.message_templates.preview(
        admin.id,
        parse_key(kind, channel, language),
        member_id=body.member_id,
        subject=body.subject,
        body=body.body,
    )


class SettingsBody(Body):
    """The fields to change; those left out keep their value. `null` turns quiet hours or the threshold off."""

    enabled: dict[StrictStr, list[StrictStr]] | None = Field(
        default=None, description='kind → channels, e.g. {"thank_you": ["email", "sms"]}; a kind left out is off'
    )
    quiet_start: StrictStr | None = Field(default=None, max_length=5, description="HH:MM local time; null: none")
    quiet_end: StrictStr | None = Field(default=None, max_length=5, description="HH:MM local time; null: none")
    cap_per_day: StrictInt | None = Field(default=None, ge=1, le=MAX_CAP_PER_DAY)
    balance_threshold: StrictInt | None = Field(default=None, ge=1, le=MAX_THRESHOLD, description="null: off")
    expiring_days_before: StrictInt | None = Field(default=None, ge=1, le=MAX_EXPIRING_DAYS_BEFORE)
    version: StrictInt | None = Field(default=None, ge=0, description="the version read: refused (409) if changed")


class SettingsAnswer(BaseModel):
    enabled: dict[str, list[str]] = Field(description="kind → the channels it goes on (every kind listed)")
    quiet_start: str | None
    quiet_end: str | None
    cap_per_day: int
    balance_threshold: int | None
    expiring_days_before: int
    version: int = Field(description="0: never saved (the server's defaults)")
    updated_at: datetime | None


def settings_answer(settings: MessageSettings) -> SettingsAnswer:
    quiet = settings.quiet_hours
    return SettingsAnswer(
        enabled=settings.enabled_json(),
        quiet_start=None if quiet is None else quiet[0].strftime("%H:%M"),
        quiet_end=None if quiet is None else quiet[1].strftime("%H:%M"),
        cap_per_day=settings.cap_per_day,
        balance_threshold=settings.balance_threshold,
        expiring_days_before=settings.expiring_days_before,
        version=settings.version,
        updated_at=settings.updated_at,
    )


@router.get("/message-settings", summary="The network's customer-message settings", response_model=SettingsAnswer)
async def show_settings(svc: Svc, admin: NetworkAdmin) -> SettingsAnswer:
    return settings_answer(await svc.customer_messages.current(admin.id))


@router.put(
    "/message-settings",
    summary="Change the network's customer-message settings (audited: message_settings.set)",
    response_model=SettingsAnswer,
)
async def set_settings(body: SettingsBody, svc: Svc, admin: NetworkAdmin) -> SettingsAnswer:
    changes = {name: getattr(body, name) for name in body.model_fields_set if name != "version"}
    return settings_answer(await svc.customer_messages.set(admin.id, changes, body.version))
