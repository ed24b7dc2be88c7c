"""Campaigns in the console (issue 16, point 3; docs/messages.md "Campaigns"): administrators see the network's
campaigns with their counts, create one (segment fields, channels, subject and text checked like a template), see
the audience count before scheduling it (the "Count" button; with scripts on, as the segment's fields change:
static/campaigns.js asks `/console/messages/campaigns/audience` for the count), preview its message, schedule or
cancel it. The same commands as /v1/admin/campaigns, audited the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import field_error
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import gettext, render
from coalition.application.campaigns import Campaign, CampaignCounts
from coalition.application.web_sessions import WebIdentity
from coalition.domain.campaigns import SEGMENT_FIELDS
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import has_control_character, parse_whole_number

router = APIRouter(prefix="/console/messages/campaigns", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
FORM_FIELDS = ("name", *SEGMENT_FIELDS, "subject", "body", "scheduled_at")
LISTED = 50


def _local_moment(text: str, zone_name: str) -> str | None:
    """A datetime-local field (the reader's wall clock) as an ISO moment with its offset."""
    text = text.strip()
    if not text:
        return None
    try:
        wall = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("a date and time", field="scheduled_at") from None
    if wall.tzinfo is None:
        wall = wall.replace(tzinfo=ZoneInfo(zone_name))
    return wall.isoformat()


def _segment(values: dict[str, str]) -> dict[str, str]:
    return {name: values[name] for name in SEGMENT_FIELDS if values.get(name, "").strip()}


async def _listing(request: Request, me: WebIdentity) -> list[tuple[Campaign, CampaignCounts]]:
    campaigns = services_of(request).campaigns
    found = await campaigns.listing(me.network_id, LISTED)
    return [(campaign, await campaigns.counts(me.network_id, campaign.id)) for campaign in found]


async def _page(
    request: Request,
    me: WebIdentity,
    *,
    values: dict[str, Any] | None = None,
    audience: int | None = None,
    error: DomainError | None = None,
) -> Response:
    context = {
        "me": me,
        "campaigns": await _listing(request, me),
        "values": values or {"channels": ["email"]},
        "audience": audience,
        "error": field_error(request, error) if error else None,
    }
    return render(request, "console/campaigns.html", context, status_code=status_of(error) if error else 200)


@router.get("")
async def campaigns_page(request: Request, me: Administrator) -> Response:
    return await _page(request, me)


@router.get("/audience")
async def audience_fragment(request: Request, me: Administrator) -> Response:
    """The audience count of the segment in the query (the form's fields), as the fragment the page shows."""
    values = {name: request.query_params.get(name, "")[:40] for name in SEGMENT_FIELDS}
    if any(has_control_character(value) for value in values.values()):
        raise InvalidInput("control characters are not allowed", field="segment")
    try:
        count = await services_of(request).campaigns.audience(me.network_id, _segment(values))
    except DomainError as raised:
        shown = field_error(request, raised)
        return render(request, "console/_campaign_audience.html", {"me": me, "error": shown}, status_code=200)
    return render(request, "console/_campaign_audience.html", {"me": me, "audience": count})


@router.post("")
async def create_campaign(request: Request, me: Administrator) -> Response:
    """One form, two buttons: Count shows the segment's audience (nothing saved), Create stores the campaign (a
    draft, or scheduled when a time is given)."""
    form = await checked_form(request, me)
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in FORM_FIELDS}
    values["channels"] = [str(value) for value in form.getlist("channels")]
    campaigns = services_of(request).campaigns
    try:
        if form.get("action") == "count":
            count = await campaigns.audience(me.network_id, _segment(values))
            return await _page(request, me, values=values, audience=count)
        data = {
            "name": values["name"],
            "segment": _segment(values),
            "channels": values["channels"],
            "subject": values["subject"],
            "body": values["body"],
            "scheduled_at": _local_moment(values["scheduled_at"], me.timezone),
        }
        created = await campaigns.create(me.network_id, data)
    except DomainError as raised:
        return await _page(request, me, values=values, error=raised)
    return RedirectResponse(f"/console/messages/campaigns/{created.id}?done=created", 303)


async def _one(
    request: Request,
    me: WebIdentity,
    campaign_id: int,
    *,
    preview: dict[str, Any] | None = None,
    member_id: str = "",
    error: DomainError | None = None,
) -> Response:
    campaigns = services_of(request).campaigns
    campaign = await campaigns.show(me.network_id, campaign_id)
    done = {
        "created": "The campaign was created.",
        "scheduled": "The campaign was scheduled.",
        "cancelled": "The campaign was cancelled.",
    }.get(request.query_params.get("done", ""))
    context = {
        "me": me,
        "campaign": campaign,
        "counts": await campaigns.counts(me.network_id, campaign_id),
        "audience_now": await campaigns.audience_of(campaign),
        "preview": preview,
        "member_id": member_id,
        "error": field_error(request, error) if error else None,
        "done": gettext(request, done) if done else None,
    }
    return render(request, "console/campaign.html", context, status_code=status_of(error) if error else 200)


def _campaign_id(text: str) -> int:
    return parse_whole_number(text, field="campaign_id", message="a campaign's number")


@router.get("/{campaign_id}")
async def campaign_page(request: Request, me: Administrator, campaign_id: str) -> Response:
    return await _one(request, me, _campaign_id(campaign_id))


@router.post("/{campaign_id}/preview")
async def preview_campaign(request: Request, me: Administrator, campaign_id: str) -> Response:
    number = _campaign_id(campaign_id)
    form = await checked_form(request, me)
    member = str(form.get("member_id", "")).strip()
    try:
        member_id = parse_whole_number(member, field="member_id", message="a member's number") if member else None
        shown = await services_of(request).campaigns.preview(me.network_id, number, member_id)
    except DomainError as raised:
        return await _one(request, me, number, member_id=member, error=raised)
    return await _one(request, me, number, preview=shown, member_id=member)


@router.post("/{campaign_id}/schedule")
async def schedule_campaign(request: Request, me: Administrator, campaign_id: str) -> Response:
    number = _campaign_id(campaign_id)
    form = await checked_form(request, me)
    try:
        moment = _local_moment(str(form.get("scheduled_at", "")), me.timezone)
        await services_of(request).campaigns.schedule(me.network_id, number, moment)
    except DomainError as raised:
        return await _one(request, me, number, error=raised)
    return RedirectResponse(f"/console/messages/campaigns/{number}?done=scheduled", 303)


@router.post("/{campaign_id}/cancel")
async def cancel_campaign(request: Request, me: Administrator, campaign_id: str) -> Response:
    number = _campaign_id(campaign_id)
    await checked_form(request, me)
    try:
        await services_of(request).campaigns.cancel(me.network_id, number)
    except DomainError as raised:
        return await _one(request, me, number, error=raised)
    return RedirectResponse(f"/console/messages/campaigns/{number}?done=cancelled", 303)
