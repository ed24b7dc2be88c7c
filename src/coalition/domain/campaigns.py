"""Campaigns (issue 16, point 3; docs/messages.md "Campaigns"): the administrator's message to a segment of members.

Pure: a segment read from the administrator's input (every refusal names its field, `segment.<name>`), a campaign's
life (draft → scheduled → sending → sent; cancelled before sending), its text checked as the `campaign` template of
each of its channels, and the event id that makes each member's message unique in the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from coalition.domain.errors import InvalidInput
from coalition.domain.members import parse_label
from coalition.domain.message_templates import MessageTemplate, validate
from coalition.domain.messages import Channel, MessageKind
from coalition.domain.money import format_minor, parse_amount_minor

MAX_NAME_CHARS = 200
MAX_WITHIN_DAYS = 3650
SEGMENT_FIELDS = (
    "tier",
    "segment",
    "last_visit_after",
    "last_visit_before",
    "visited_within_days",
    "spend_from",
    "spend_to",
)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


CANCELLABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})


@dataclass(frozen=True, slots=True)
class Segment:
    """Who a campaign goes to: every condition given must hold (none given: every member of the network).

    A visit is a purchase (its till time, `occurred_at`). `last_visit_after` D: bought on or after D;
    `last_visit_before` D: bought before D and not since; `visited_within_days` N: bought in the N days before the
    send. Lifetime spend from/to: inclusive, in minor units."""

    tier: str | None = None
    segment: str | None = None
    last_visit_after: date | None = None
    last_visit_before: date | None = None
    visited_within_days: int | None = None
    spend_from_minor: int | None = None
    spend_to_minor: int | None = None

    def json(self, currency: str | None = None) -> dict[str, Any]:
        """The stored form (minor units); with a currency, the API's (decimal strings)."""

        def amount(minor: int | None) -> int | str | None:
            if minor is None or currency is None:
                return minor
            return format_minor(minor, currency)

        spend = "spend_from" if currency else "spend_from_minor", "spend_to" if currency else "spend_to_minor"
        return {
            "tier": self.tier,
            "segment": self.segment,
            "last_visit_after": None if self.last_visit_after is None else self.last_visit_after.isoformat(),
            "last_visit_before": None if self.last_visit_before is None else self.last_visit_before.isoformat(),
            "visited_within_days": self.visited_within_days,
            spend[0]: amount(self.spend_from_minor),
            spend[1]: amount(self.spend_to_minor),
        }

    @classmethod
    def stored(cls, text: str) -> Segment:
        data = json.loads(text)
        return cls(
            tier=data.get("tier"),
            segment=data.get("segment"),
            last_visit_after=_date_or_none(data.get("last_visit_after")),
            last_visit_before=_date_or_none(data.get("last_visit_before")),
            visited_within_days=data.get("visited_within_days"),
            spend_from_minor=data.get("spend_from_minor"),
            spend_to_minor=data.get("spend_to_minor"),
        )

    def text(self) -> str:
        return json.dumps(self.json(), sort_keys=True, separators=(",", ":"))


def _date_or_none(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_segment(data: Mapping[str, Any], currency: str) -> Segment:
    """The administrator's segment (API JSON or a form's fields): blank fields are absent; refusals name
    `segment.<field>`."""
    unknown = sorted(set(data) - set(SEGMENT_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown segment field {unknown[0]!r}: one of {', '.join(SEGMENT_FIELDS)}", field=f"segment.{unknown[0]}"
        )
    found: dict[str, Any] = {}
    for name in ("tier", "segment"):
        value = data.get(name)
        if not _blank(value):
            if not isinstance(value, str):
                raise InvalidInput("a label is text", field=f"segment.{name}")
            found[name] = parse_label(value, field=f"segment.{name}")
    for name in ("last_visit_after", "last_visit_before"):
        value = data.get(name)
        if not _blank(value):
            try:
                found[name] = date.fromisoformat(str(value).strip())
            except ValueError:
                raise InvalidInput(f"'{str(value)[:20]}' is not a date (YYYY-MM-DD)", field=f"segment.{name}") from None
    within = data.get("visited_within_days")
    if not _blank(within):
        text = str(within).strip()
        if isinstance(within, bool) or not text.isascii() or not text.isdigit() or len(text) > 5:
            raise InvalidInput("a whole number of days", field="segment.visited_within_days")
        days = int(text)
        if not 1 <= days <= MAX_WITHIN_DAYS:
            raise InvalidInput(f"from 1 to {MAX_WITHIN_DAYS} days", field="segment.visited_within_days")
        found["visited_within_days"] = days
    for name in ("spend_from", "spend_to"):
        value = data.get(name)
        if not _blank(value):
            amount = value.strip() if isinstance(value, str) else value
            found[f"{name}_minor"] = parse_amount_minor(amount, currency, field=f"segment.{name}")
    segment = Segment(**found)
    after, before = segment.last_visit_after, segment.last_visit_before
    if after is not None and before is not None and after >= before:
        raise InvalidInput(
            "the last visit cannot be both on or after and before these dates: the 'after' date must come first",
            field="segment.last_visit_before",
        )
    low, high = segment.spend_from_minor, segment.spend_to_minor
    if low is not None and high is not None and low > high:
        raise InvalidInput("the spend 'to' is below the spend 'from'", field="segment.spend_to")
    return segment


@dataclass(frozen=True, slots=True)
class SegmentMoments:
    """A segment's dates as UTC moments, read in the network's zone at the send's reference moment."""

    visited_since: datetime | None  # bought on or after this moment (after, within N days: the later of the two)
    not_since: datetime | None  # ...and not on or after this one (last visit before)

    @classmethod
    def of(cls, segment: Segment, zone: ZoneInfo, reference: datetime) -> SegmentMoments:
        def start_of(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=zone)

        since = []
        if segment.last_visit_after is not None:
            since.append(start_of(segment.last_visit_after))
        if segment.visited_within_days is not None:
            since.append(reference - timedelta(days=segment.visited_within_days))
        before = segment.last_visit_before
        return cls(max(since) if since else None, None if before is None else start_of(before))


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    """What the administrator writes: checked before anything is stored."""

    name: str
    segment: Segment
    channels: tuple[Channel, ...]
    subject: str
    body: str
    scheduled_at: datetime | None = None


def parse_channels(values: Any) -> tuple[Channel, ...]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        raise InvalidInput(f"name at least one channel: {', '.join(Channel)}", field="channels")
    found = []
    for value in values:
        try:
            found.append(Channel(str(value).strip()))
        except ValueError:
            raise InvalidInput(
                f"'{str(value)[:20]}' is not a channel: {', '.join(Channel)}", field="channels"
            ) from None
    return tuple(channel for channel in Channel if channel in found)


def template_of(channel: Channel, subject: str, body: str) -> MessageTemplate:
    """The campaign's text on one channel: an SMS has no subject."""
    return MessageTemplate(subject=subject.strip() if channel is Channel.EMAIL else "", body=body.replace("\r\n", "\n"))


def check_draft(draft: CampaignDraft, now: datetime) -> CampaignDraft:
    name = draft.name.strip()
    if not name:
        raise InvalidInput("a campaign needs a name", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"at most {MAX_NAME_CHARS} characters", field="name")
    if not draft.channels:
        raise InvalidInput(f"name at least one channel: {', '.join(Channel)}", field="channels")
    for channel in draft.channels:  # the same checks as a saved template (field subject/body, the line at fault)
        validate(MessageKind.CAMPAIGN, channel, template_of(channel, draft.subject, draft.body))
    check_schedule(draft.scheduled_at, now)
    return replace(draft, name=name, subject=draft.subject.strip(), body=draft.body.replace("\r\n", "\n"))


def check_schedule(scheduled_at: datetime | None, now: datetime) -> None:
    if scheduled_at is None:
        return
    if scheduled_at.tzinfo is None:
        raise InvalidInput("give the time with its offset, e.g. 2026-12-20T10:00:00+03:00", field="scheduled_at")
    if scheduled_at <= now:
        raise InvalidInput("the time to send is in the past", field="scheduled_at")


def campaign_event_id(campaign_id: int, member_id: int) -> str:
    """Unique per campaign and member (the outbox drops a repeat): a restart or a second sender never doubles."""
    return f"campaign:{campaign_id}:{member_id}"


def campaign_event_prefix(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:"
