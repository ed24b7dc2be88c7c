"""Campaigns (issue 16, point 3; docs/messages.md "Campaigns"): the administrator writes a message to a segment,
previews its audience and its text, schedules it, and reads what became of it; the scheduler's `campaigns` job sends
the due ones.

Sending queues one `campaign` message per member of the segment through `MessageQueue.enqueue` (the customer
messages' one way in, application/customer_messages.py), with the event id `campaign:<id>:<member>`: the outbox
keeps one row per event, channel and member, so a second sender or a restart never doubles one. Members go in id
order, a chunk per transaction that also moves the campaign's cursor (guarded by its old value), so a send killed
midway resumes after the last chunk it committed; the campaign is `sent` once the last chunk is queued. Consent,
opt-outs, quiet hours and the cap are applied when each message is delivered (application/message_delivery.py),
which records a skip's reason on its outbox row; the counts are read from those rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from coalition.application.audit import AuditEntry, current_actor, entry
from coalition.application.message_templates import MemberView
from coalition.application.ports import Clock
from coalition.application.pos_ports.outbox import OutboxWriter
from coalition.application.time_window import Window, check_window
from coalition.domain.campaigns import (
    CANCELLABLE,
    CampaignDraft,
    CampaignStatus,
    Segment,
    SegmentMoments,
    campaign_event_id,
    check_draft,
    check_schedule,
    parse_channels,
    parse_segment,
    template_of,
)
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.message_templates import SAMPLE, render
from coalition.domain.messages import Channel, MessageKind

CHUNK = 500  # members queued per transaction
MAX_LIST = 501  # a page of the API's largest (500) and one to tell whether there is more
NOT_FOUND = "no campaign with this id in this network"


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    network_id: int
    name: str
    segment: Segment
    channels: tuple[Channel, ...]
    subject: str
    body: str
    status: CampaignStatus
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    send_started_at: datetime | None = None
    sent_at: datetime | None = None
    cursor_member_id: int = 0
    audience: int = 0  # members whose message was queued
    queued: int = 0  # outbox rows written


@dataclass(frozen=True, slots=True)
class CampaignCounts:
    """What became of a campaign's messages (its outbox rows, one per member and channel)."""

    delivered: int = 0
    failed: int = 0
    pending: int = 0
    skipped_opted_out: int = 0
    skipped_no_consent: int = 0  # no newsletter consent (or none to data processing)
    skipped_other: int = 0  # no contact on the channel, the kind turned off meanwhile, the member gone
    by_channel: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return (
            self.delivered
            + self.failed
            + self.pending
            + self.skipped_opted_out
            + self.skipped_no_consent
            + self.skipped_other
        )


SKIPPED_NO_CONSENT = frozenset({"no_newsletter_consent", "no_data_processing_consent"})


def counts_of(rows: Collection[tuple[str, str, str | None, int]]) -> CampaignCounts:
    """(channel, status, last_error, count) rows → the counts, in all and per channel."""
    total: dict[str, int] = {}
    per_channel: dict[str, dict[str, int]] = {}
    for channel, status, reason, count in rows:
        name = status
        if status == "skipped":
            if reason == "opted_out":
                name = "skipped_opted_out"
            elif reason in SKIPPED_NO_CONSENT:
                name = "skipped_no_consent"
            else:
                name = "skipped_other"
        total[name] = total.get(name, 0) + count
        per_channel.setdefault(channel, {})[name] = per_channel.setdefault(channel, {}).get(name, 0) + count
    return CampaignCounts(**total, by_channel=per_channel)


class CampaignSendUnit(OutboxWriter, Protocol):
    async def advance(self, campaign_id: int, cursor: int, new_cursor: int, audience: int, queued: int) -> bool:
        """Move a sending campaign's cursor from `cursor` to `new_cursor`, adding to its counts (False: another
        sender moved it, or it is no longer sending)."""
        ...


class CampaignStore(Protocol):
    async def create_campaign(
        self, network_id: int, draft: CampaignDraft, status: CampaignStatus, created_by: str, now: datetime,
        audited: AuditEntry,
    ) -> int: ...  # fmt: skip
    async def campaign(self, network_id: int, campaign_id: int) -> Campaign | None: ...
    async def campaigns(
        self, network_id: int, limit: int, before_id: int | None = None, *, window: Window = (None, None)
    ) -> list[Campaign]:
        """At most `limit` campaigns, newest first, older than `before_id` if given; created in `window` (since
        inclusive, until exclusive)."""
        ...

    async def change_status(
        self,
        network_id: int,
        campaign_id: int,
        expected: Collection[CampaignStatus],
        new: CampaignStatus,
        now: datetime,
        audited: AuditEntry | None,
        scheduled_at: datetime | None = None,
    ) -> bool:
        """Guarded by the status (False: it moved meanwhile); `scheduled_at` set when given."""
        ...

    async def known_labels(self, network_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The tiers and segment labels the network's members hold."""
        ...

    async def audience_count(self, network_id: int, segment: Segment, moments: SegmentMoments) -> int: ...
    async def audience_page(
        self, network_id: int, segment: Segment, moments: SegmentMoments, after_member_id: int, limit: int
    ) -> list[int]: ...
    async def due_campaigns(self, network_id: int, now: datetime) -> list[int]:
        """Scheduled ones whose time has come and those left sending (a killed send), oldest first."""
        ...

    async def start_sending(self, campaign_id: int, now: datetime) -> None:
        """scheduled → sending, the reference moment set (a campaign already sending keeps its own)."""
        ...

    def sending(self) -> AbstractAsyncContextManager[CampaignSendUnit]: ...
    async def counts(self, network_id: int, campaign_id: int) -> list[tuple[str, str, str | None, int]]: ...
    async def network_zone(self, network_id: int) -> str: ...
    async def network_currency(self, network_id: int) -> str: ...


class MessageQueue(Protocol):
    """The customer messages' queue (application/customer_messages.py: CustomerMessages.enqueue)."""

    async def enqueue(
        self,
        uow: OutboxWriter,
        network_id: int,
        member_id: int,
        kind: MessageKind,
        event_id: str,
        variables: Mapping[str, object],
        now: datetime,
        *,
        language: str | None = None,
        channels: Collection[Channel] | None = None,
    ) -> int: ...

    async def turned_on(self, network_id: int, kind: MessageKind) -> tuple[Channel, ...]:
        """The channels the network's settings turn this kind on for."""
        ...


class MemberViews(Protocol):
    async def member_view(self, network_id: int, member_id: int) -> MemberView | None: ...
    async def network_name(self, network_id: int) -> str: ...


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def parse_moment(value: Any, *, field: str = "scheduled_at") -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput("a date and time such as 2026-12-20T10:00:00+03:00", field=field) from None


class Campaigns:
    def __init__(self, store: CampaignStore, queue: MessageQueue, members: MemberViews, clock: Clock) -> None:
        self.store, self.queue, self.members, self.clock = store, queue, members, clock

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    async def segment(self, network_id: int, data: Mapping[str, Any]) -> Segment:
        """The segment read and its tier and label checked against those the network's members hold."""
        segment = parse_segment(data, await self.store.network_currency(network_id))
        if segment.tier is not None or segment.segment is not None:
            tiers, labels = await self.store.known_labels(network_id)
            for name, value, known in (("tier", segment.tier, tiers), ("segment", segment.segment, labels)):
                if value is not None and value not in known:
                    held = ", ".join(sorted(known)[:20]) or "none yet"
                    raise InvalidInput(f"unknown {name} '{value}': the network's members hold {held}",
                                       field=f"segment.{name}")  # fmt: skip
        return segment

    async def draft(self, network_id: int, data: Mapping[str, Any]) -> CampaignDraft:
        segment_data = data.get("segment") or {}
        if not isinstance(segment_data, Mapping):
            raise InvalidInput("the segment is an object of conditions", field="segment")
        draft = CampaignDraft(
            name=str(data.get("name") or ""),
            segment=await self.segment(network_id, segment_data),
            channels=parse_channels(data.get("channels") or []),
            subject=str(data.get("subject") or ""),
            body=str(data.get("body") or ""),
            scheduled_at=parse_moment(data.get("scheduled_at")),
        )
        return check_draft(draft, self._now())

    async def create(self, network_id: int, data: Mapping[str, Any]) -> Campaign:
        """A draft, or scheduled at once when `scheduled_at` is given (audited `campaign.create`)."""
        draft = await self.draft(network_id, data)
        if draft.scheduled_at is not None:
            await self._check_channels_on(network_id, draft.channels)
        status = CampaignStatus.DRAFT if draft.scheduled_at is None else CampaignStatus.SCHEDULED
        actor = current_actor()
        created_by = actor.name or actor.id or actor.kind
        audited = entry(network_id, "campaign.create", "campaign", None, after=self._audited(draft, status))
        campaign_id = await self.store.create_campaign(network_id, draft, status, created_by, self._now(), audited)
        return await self.show(network_id, campaign_id)

    @staticmethod
    def _audited(draft: CampaignDraft, status: CampaignStatus) -> dict[str, Any]:
        return {
            "name": draft.name,
            "segment": draft.segment.json(),
            "channels": [channel.value for channel in draft.channels],
            "subject": draft.subject,
            "body": draft.body,
            "status": status.value,
            "scheduled_at": None if draft.scheduled_at is None else draft.scheduled_at.isoformat(),
        }

    async def _check_channels_on(self, network_id: int, channels: tuple[Channel, ...]) -> None:
        on = await self.queue.turned_on(network_id, MessageKind.CAMPAIGN)
        if not set(channels) & set(on):
            raise InvalidInput("campaign messages are off for these channels: turn them on in the message settings "
                               "first", field="channels")  # fmt: skip

    async def show(self, network_id: int, campaign_id: int) -> Campaign:
        found = await self.store.campaign(network_id, campaign_id)
        if found is None:
            raise NotFound(NOT_FOUND, field="campaign_id")
        return found

    async def listing(
        self, network_id: int, limit: int = 50, before_id: int | None = None, *, window: Window = (None, None)
    ) -> list[Campaign]:
        """Newest first; `window`: created at or after its start and before its end (either may be None)."""
        check_window(*window)
        return await self.store.campaigns(network_id, max(1, min(limit, MAX_LIST)), before_id, window=window)

    async def counts(self, network_id: int, campaign_id: int) -> CampaignCounts:
        return counts_of(await self.store.counts(network_id, campaign_id))

    async def audience(self, network_id: int, data: Mapping[str, Any]) -> int:
        """How many members the segment holds now (the preview before scheduling)."""
        segment = await self.segment(network_id, data)
        return await self._audience_count(network_id, segment, self._now())

    async def _audience_count(self, network_id: int, segment: Segment, reference: datetime) -> int:
        zone = _zone(await self.store.network_zone(network_id))
        return await self.store.audience_count(network_id, segment, SegmentMoments.of(segment, zone, reference))

    async def audience_of(self, campaign: Campaign) -> int:
        reference = campaign.send_started_at or self._now()
        return await self._audience_count(campaign.network_id, campaign.segment, reference)

    async def preview(
        self, network_id: int, campaign_id: int, member_id: int | None, channel: str | None = None
    ) -> dict[str, Any]:
        """The campaign's message as this member (or the sample customer) would read it on a channel."""
        campaign = await self.show(network_id, campaign_id)
        try:
            chosen = parse_channels([channel])[0] if channel else campaign.channels[0]
        except InvalidInput as refused:
            raise InvalidInput(refused.detail, field="channel") from None
        if chosen not in campaign.channels:
            raise InvalidInput("the campaign does not go on this channel", field="channel")
        variables = dict(SAMPLE) | {"network_name": await self.members.network_name(network_id)}
        if member_id is not None:
            member = await self.members.member_view(network_id, member_id)
            if member is None:
                raise NotFound("no member with this id in this network", field="member_id")
            variables |= {"member_name": member.name or "", "balance": member.balance}
        rendered = render(MessageKind.CAMPAIGN, chosen, template_of(chosen, campaign.subject, campaign.body), variables)
        return {"channel": chosen.value, "member_id": member_id, "subject": rendered.subject, "body": rendered.body}

    async def schedule(self, network_id: int, campaign_id: int, scheduled_at: Any) -> Campaign:
        """A draft (or a scheduled one, moved) to send at `scheduled_at` (audited `campaign.schedule`)."""
        campaign = await self.show(network_id, campaign_id)
        moment = parse_moment(scheduled_at)
        if moment is None:
            raise InvalidInput("when to send it", field="scheduled_at")
        check_schedule(moment, self._now())
        if campaign.status not in CANCELLABLE:
            raise Conflict(f"the campaign is {campaign.status.value}: it can no longer be scheduled", field="status")
        await self._check_channels_on(network_id, campaign.channels)
        audited = entry(
            network_id,
            "campaign.schedule",
            "campaign",
            campaign_id,
            before={"status": campaign.status.value, "scheduled_at": _iso(campaign.scheduled_at)},
            after={"status": CampaignStatus.SCHEDULED.value, "scheduled_at": moment.isoformat()},
        )
        changed = await self.store.change_status(
            network_id, campaign_id, CANCELLABLE, CampaignStatus.SCHEDULED, self._now(), audited, moment
        )
        if not changed:
            raise Conflict("the campaign started sending meanwhile", field="status")
        return await self.show(network_id, campaign_id)

    async def cancel(self, network_id: int, campaign_id: int) -> Campaign:
        """Before it started sending (audited `campaign.cancel`); a campaign sending or sent: 409."""
        campaign = await self.show(network_id, campaign_id)
        if campaign.status not in CANCELLABLE:
            raise Conflict(f"the campaign is {campaign.status.value}: only a draft or a scheduled one can be "
                           "cancelled", field="status")  # fmt: skip
        audited = entry(
            network_id,
            "campaign.cancel",
            "campaign",
            campaign_id,
            before={"status": campaign.status.value},
            after={"status": CampaignStatus.CANCELLED.value},
        )
        changed = await self.store.change_status(
            network_id, campaign_id, CANCELLABLE, CampaignStatus.CANCELLED, self._now(), audited
        )
        if not changed:
            raise Conflict("the campaign started sending meanwhile", field="status")
        return await self.show(network_id, campaign_id)

    # --- sending (the scheduler's `campaigns` job) -----------------------------------------------------------

    async def send_due(self, network_id: int, chunk: int = CHUNK, chunks: int | None = None) -> dict[str, Any]:
        """Queue the messages of every due campaign of the network; `chunks` (tests) stops after so many."""
        now = self._now()
        sent, queued = [], 0
        for campaign_id in await self.store.due_campaigns(network_id, now):
            done, count = await self.send(network_id, campaign_id, chunk, chunks)
            queued += count
            if done:
                sent.append(campaign_id)
        return {"campaigns_sent": sent, "queued": queued}

    async def send(
        self, network_id: int, campaign_id: int, chunk: int = CHUNK, chunks: int | None = None
    ) -> tuple[bool, int]:
        """Queue a due campaign from its cursor on: (finished, rows queued by this call)."""
        await self.store.start_sending(campaign_id, self._now())
        campaign = await self.show(network_id, campaign_id)
        if campaign.status is not CampaignStatus.SENDING or campaign.send_started_at is None:
            return False, 0
        zone = _zone(await self.store.network_zone(network_id))
        moments = SegmentMoments.of(campaign.segment, zone, campaign.send_started_at)
        cursor, queued_now, done_chunks = campaign.cursor_member_id, 0, 0
        while True:
            if chunks is not None and done_chunks >= chunks:
                return False, queued_now
            members = await self.store.audience_page(network_id, campaign.segment, moments, cursor, chunk)
            if members:
                try:
                    queued_now += await self._queue_chunk(campaign, cursor, members)
                except _Moved:
                    return False, queued_now  # another sender moved on: it finishes the campaign
                cursor, done_chunks = members[-1], done_chunks + 1
            if len(members) < chunk:
                break
        finished = await self.show(network_id, campaign_id)
        result = {"audience": finished.audience, "queued": finished.queued}
        audited = entry(network_id, "campaign.sent", "campaign", campaign_id, after=result)
        await self.store.change_status(
            network_id, campaign_id, (CampaignStatus.SENDING,), CampaignStatus.SENT, self._now(), audited
        )
        return True, queued_now

    async def _queue_chunk(self, campaign: Campaign, cursor: int, members: list[int]) -> int:
        """One transaction: the members' messages and the cursor moved past them (or nothing, if it moved)."""
        now, written = self._now(), 0
        variables = {"campaign_id": campaign.id}
        async with self.store.sending() as uow:
            for member_id in members:
                event_id = campaign_event_id(campaign.id, member_id)
                written += await self.queue.enqueue(
                    uow, campaign.network_id, member_id, MessageKind.CAMPAIGN, event_id, variables, now,
                    channels=campaign.channels,
                )  # fmt: skip
            if not await uow.advance(campaign.id, cursor, members[-1], len(members), written):
                raise _Moved()  # rolls the chunk back
        return written


class _Moved(Exception):
    """Another sender moved the campaign's cursor first."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
