"""The admin API's audit trail, campaigns, messages and webhook deliveries, console users and key rotation: request
bodies and the answers /openapi.json describes."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from coalition_client.admin_models import Json, model


# ---- audit (docs/audit.md) ----
@model
class AuditActor:
    kind: str
    id: str | None
    name: str | None
    role: str | None
    address: str | None
    request_id: str | None
    extra: Json = field(default_factory=dict)


@model
class AuditEntry:
    id: int
    recorded_at: datetime
    actor: AuditActor
    action: str
    object_type: str
    object_id: str | None
    partner_id: int | None
    before: Json | None
    after: Json | None
    extra: Json = field(default_factory=dict)


@model
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


# ---- campaigns (docs/campaigns.md) ----
@model
class Segment:
    tier: str | None = None
    segment: str | None = None
    last_visit_after: str | None = None  # a date, YYYY-MM-DD
    last_visit_before: str | None = None
    visited_within_days: int | None = None
    spend_from: str | None = None  # a decimal amount, e.g. "1000.00"
    spend_to: str | None = None


@model
class Campaign:
    name: str
    channels: list[str]  # email, sms, push
    body: str
    segment: Segment | None = None
    subject: str | None = None
    scheduled_at: datetime | None = None


@model
class CampaignSchedule:
    scheduled_at: datetime


@model
class CampaignPreview:
    member_id: int | None = None
    channel: str | None = None


@model
class SegmentAnswer:
    tier: str | None
    segment: str | None
    last_visit_after: str | None
    last_visit_before: str | None
    visited_within_days: int | None
    spend_from: str | None
    spend_to: str | None
    extra: Json = field(default_factory=dict)


@model
class Counts:
    delivered: int
    failed: int
    pending: int
    skipped_opted_out: int
    skipped_no_consent: int
    skipped_other: int
    total: int
    by_channel: Json
    extra: Json = field(default_factory=dict)


@model
class CampaignAnswer:
    id: int
    name: str
    status: str
    segment: SegmentAnswer
    channels: list[str]
    subject: str
    body: str
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    send_started_at: datetime | None
    sent_at: datetime | None
    audience: int
    queued: int
    counts: Counts | None = None
    extra: Json = field(default_factory=dict)


@model
class CampaignList:
    campaigns: list[CampaignAnswer]
    next_cursor: str | None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


@model
class Audience:
    audience: int
    extra: Json = field(default_factory=dict)


@model
class Preview:
    channel: str
    member_id: int | None
    subject: str
    body: str
    extra: Json = field(default_factory=dict)


# ---- messages to members (docs/messages.md) ----
@model
class MessageSettings:
    """The fields to change; those left out keep their value (`set_message_settings(clear=…)` sends a null)."""

    enabled: dict[str, list[str]] | None = None  # kind → channels; a kind left out is off
    quiet_start: str | None = None  # HH:MM local time
    quiet_end: str | None = None
    cap_per_day: int | None = None
    balance_threshold: int | None = None
    expiring_days_before: int | None = None
    version: int | None = None  # the version read: refused (409) if it changed since


@model
class MessageSettingsAnswer:
    enabled: Json
    quiet_start: str | None
    quiet_end: str | None
    cap_per_day: int
    balance_threshold: int | None
    expiring_days_before: int
    version: int
    updated_at: datetime | None
    extra: Json = field(default_factory=dict)


@model
class Template:
    body: str
    subject: str | None = None


@model
class TemplatePreview:
    member_id: int | None = None
    subject: str | None = None
    body: str | None = None


# ---- webhook deliveries ----
@model
class Delivery:
    id: int
    event_kind: str
    event_id: str
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    extra: Json = field(default_factory=dict)


# ---- console users and keys ----
@model
class ConsoleUser:
    role: str
    login: str
    name: str
    password: str
    partner_id: int | None = None


@model
class PartnerEmail:
    email: str | None = None
    language: str | None = None


@model
class KeyRotation:
    grace_seconds: int  # how long the previous key keeps working
    expires_at: datetime | None = None  # the new key's expiry
