"""Customer messages' templates over HTTP (issue 16; docs/messages.md): every kind × channel × language with the
network's own text or the built-in one, a text saved (refused with the line at fault when it would not render), reset
to the built-in one, and previewed with the sample or one member of the network (admin key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, paged
from coalition.adapters.http.schemas import Body, RecordId
from coalition.application.message_templates import parse_key
from coalition.domain.message_templates import LANGUAGES, MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from coalition.domain.messages import Channel, MessageKind

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


@router.get(
    "/message-templates",
    summary="Every message template, in pages: kind, channel, language, text, variables",
    responses=PAGE_RESPONSES,
)
async def list_templates(
    request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging
) -> dict[str, Any]:
    # no ids: a template's place in the fixed order (kind, channel, language) is its position
    found = list(enumerate(await svc.message_templates.list(admin.id), start=1))
    return paged(request, response, "templates", found, page, lambda item: item[0], lambda item: item[1])


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
