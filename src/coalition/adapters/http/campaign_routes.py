"""Campaigns over HTTP (issue 16, point 3; docs/messages.md "Campaigns"): the administrator creates one (a segment,
channels, a subject and body checked like a template), previews its audience and its message, schedules or cancels
it, and reads what became of its messages (admin key). Every write is audited (`campaign.*`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import NEXT_CURSOR_DOC, PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.http.schemas import MAX_RECORD_ID, Body, RecordId
from coalition.application.campaigns import Campaign, CampaignCounts
from coalition.domain.campaigns import MAX_NAME_CHARS, MAX_WITHIN_DAYS
from coalition.domain.message_templates import MAX_BODY_CHARS, MAX_SUBJECT_CHARS
from coalition.domain.messages import Channel
from coalition.domain.money import format_minor

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)
CampaignId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]


class SegmentBody(Body):
    tier: StrictStr | None = Field(default=None, max_length=32, description="a tier the network's members hold")
    segment: StrictStr | None = Field(default=None, max_length=32, description="a segment label")
    last_visit_after: StrictStr | None = Field(default=None, max_length=10, description="YYYY-MM-DD: bought since")
    last_visit_before: StrictStr | None = Field(
        default=None, max_length=10, description="YYYY-MM-DD: bought before it, and not since"
    )
    visited_within_days: StrictInt | None = Field(default=None, description=f"1 to {MAX_WITHIN_DAYS}")
    spend_from: StrictStr | None = Field(default=None, max_length=24, description='lifetime spend ≥, e.g. "10000.00"')
    spend_to: StrictStr | None = Field(default=None, max_length=24, description="lifetime spend ≤ (inclusive)")

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class CampaignBody(Body):
    name: StrictStr = Field(max_length=MAX_NAME_CHARS)
    segment: SegmentBody = Field(default_factory=SegmentBody)
    channels: list[StrictStr] = Field(min_length=1, max_length=2, description=f"of {', '.join(Channel)}")
    subject: StrictStr = Field(default="", max_length=MAX_SUBJECT_CHARS, description="e-mail's; Jinja2")
    body: StrictStr = Field(max_length=MAX_BODY_CHARS, description="Jinja2; the campaign kind's variables")
    scheduled_at: StrictStr | None = Field(
        default=None, max_length=40, description="with its offset; given: scheduled at once, else a draft"
    )


class ScheduleBody(Body):
    scheduled_at: StrictStr = Field(max_length=40, description="with its offset, in the future")


class PreviewBody(Body):
    member_id: RecordId | None = Field(default=None, description="a member of the network; none: the sample")
    channel: StrictStr | None = Field(default=None, max_length=8, description="one of the campaign's channels")


class SegmentOut(BaseModel):
    tier: str | None
    segment: str | None
    last_visit_after: str | None
    last_visit_before: str | None
    visited_within_days: int | None
    spend_from: str | None
    spend_to: str | None


class CountsOut(BaseModel):
    delivered: int
    failed: int
    pending: int
    skipped_opted_out: int
    skipped_no_consent: int
    skipped_other: int
    total: int
    by_channel: dict[str, dict[str, int]]


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    segment: SegmentOut
    channels: list[str]
    subject: str
    body: str
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    send_started_at: datetime | None
    sent_at: datetime | None
    audience: int = Field(description="members whose message was queued")
    queued: int = Field(description="messages queued (one per member and channel turned on)")
    counts: CountsOut | None = None


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class AudienceOut(BaseModel):
    audience: int


class PreviewOut(BaseModel):
    channel: str
    member_id: int | None
    subject: str
    body: str


def counts_out(counts: CampaignCounts) -> CountsOut:
    return CountsOut(
        delivered=counts.delivered,
        failed=counts.failed,
        pending=counts.pending,
        skipped_opted_out=counts.skipped_opted_out,
        skipped_no_consent=counts.skipped_no_consent,
        skipped_other=counts.skipped_other,
        total=counts.total,
        by_channel={channel: dict(values) for channel, values in counts.by_channel.items()},
    )


def campaign_out(campaign: Campaign, currency: str, counts: CampaignCounts | None = None) -> CampaignOut:
    segment = campaign.segment

    def amount(minor: int | None) -> str | None:
        return None if minor is None else format_minor(minor, currency)

    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        segment=SegmentOut(
            tier=segment.tier,
            segment=segment.segment,
            last_visit_after=None if segment.last_visit_after is None else segment.last_visit_after.isoformat(),
            last_visit_before=None if segment.last_visit_before is None else segment.last_visit_before.isoformat(),
            visited_within_days=segment.visited_within_days,
            spend_from=amount(segment.spend_from_minor),
            spend_to=amount(segment.spend_to_minor),
        ),
        channels=[channel.value for channel in campaign.channels],
        subject=campaign.subject,
        body=campaign.body,
        scheduled_at=campaign.scheduled_at,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        send_started_at=campaign.send_started_at,
        sent_at=campaign.sent_at,
        audience=campaign.audience,
        queued=campaign.queued,
        counts=None if counts is None else counts_out(counts),
    )


@router.post("/campaigns", status_code=201, response_model=CampaignOut, summary="Create a campaign (a draft)")
async def create_campaign(body: CampaignBody, svc: Svc, admin: NetworkAdmin) -> CampaignOut:
    data = body.model_dump(exclude={"segment"}) | {"segment": body.segment.data()}
    campaign = await svc.campaigns.create(admin.id, data)
    return campaign_out(campaign, admin.currency)


@router.get(
    "/campaigns",
    response_model=CampaignList,
    summary="The network's campaigns, newest first, in pages, by the time they were created",
    responses=PAGE_RESPONSES,
)
async def list_campaigns(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    since: Annotated[AwareDatetime | None, Query(description="created at or after, ISO 8601 with its offset")] = None,
    until: Annotated[AwareDatetime | None, Query(description="created before")] = None,
) -> CampaignList:
    found = await svc.campaigns.listing(admin.id, page.limit + 1, page.after, window=(since, until))
    shown, cursor = next_cursor_of(found, page, lambda campaign: campaign.id)
    campaigns = [campaign_out(campaign, admin.currency) for campaign in shown]
    return CampaignList(campaigns=campaigns, next_cursor=announce(request, response, cursor))


@router.post("/campaigns/audience", response_model=AudienceOut, summary="How many members a segment holds now")
async def preview_audience(body: SegmentBody, svc: Svc, admin: NetworkAdmin) -> AudienceOut:
    return AudienceOut(audience=await svc.campaigns.audience(admin.id, body.data()))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, summary="A campaign with its counts")
async def show_campaign(campaign_id: CampaignId, svc: Svc, admin: NetworkAdmin) -> CampaignOut:
    campaign = await svc.campaigns.show(admin.id, campaign_id)
    return campaign_out(campaign, admin.currency, await svc.campaigns.counts(admin.id, campaign_id))


@router.post("/campaigns/{campaign_id}/preview", response_model=PreviewOut, summary="The message as a member reads it")
async def preview_campaign(campaign_id: CampaignId, body: PreviewBody, svc: Svc, admin: NetworkAdmin) -> PreviewOut:
    shown = await svc.campaigns.preview(admin.id, campaign_id, body.member_id, body.channel)
    return PreviewOut(**shown)


@router.post("/campaigns/{campaign_id}/schedule", response_model=CampaignOut, summary="Schedule a draft (or move it)")
async def schedule_campaign(campaign_id: CampaignId, body: ScheduleBody, svc: Svc, admin: NetworkAdmin) -> CampaignOut:
    campaign = await svc.campaigns.schedule(admin.id, campaign_id, body.scheduled_at)
    return campaign_out(campaign, admin.currency)


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignOut, summary="Cancel before it is sent")
async def cancel_campaign(campaign_id: CampaignId, svc: Svc, admin: NetworkAdmin) -> CampaignOut:
    campaign = await svc.campaigns.cancel(admin.id, campaign_id)
    return campaign_out(campaign, admin.currency)
