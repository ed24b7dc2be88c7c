"""The admin API's request bodies, and the answers /openapi.json describes (the others come back as JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

Json = dict[str, Any]
model = dataclass(kw_only=True, frozen=True)


@model
class Network:
    code: str
    name: str
    currency: str
    program: Json  # tiers, point value, expiry: see docs/api.md
    admin_key_expires_at: datetime | None = None


@model
class Partner:
    name: str


@model
class Outlet:
    partner_id: int
    name: str
    timezone: str | None = None


@model
class Terminal:
    outlet_id: int
    name: str
    expires_at: datetime | None = None


@model
class MemberLabels:
    segments: list[str] | None = None
    tier: str | None = None


@model
class ClosePeriod:
    end: datetime
    start: datetime | None = None


@model
class Device:
    partner_id: int
    name: str
    kind: str
    timezone: str | None = None
    price_list: Json | None = None
    opening_hours: Json | None = None
    hold_ttl_seconds: int | None = None
    offline_limit: Decimal | None = None
    silent_after_seconds: int | None = None


@model
class WalletLimits:
    currency: str | None = None
    credit_limit: Decimal | None = None
    daily_spend_limit: Decimal | None = None


@model
class Webhook:
    url: str
    event_kinds: list[str]  # purchase.recorded, refund.recorded, …: see docs/webhooks.md
    description: str | None = None
    contact_email: str | None = None


@model
class WebhookAnswer:
    id: int
    url: str
    description: str | None
    contact_email: str | None
    event_kinds: list[str]
    status: str
    paused_reason: str | None
    consecutive_failures: int
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime
    extra: Json = field(default_factory=dict)


@model
class WebhookCreated(WebhookAnswer):
    """Shown once: the secret the deliveries are signed with."""

    secret: str


@model
class WebhookList:
    webhooks: list[WebhookAnswer]
    next_cursor: str | None = None  # the next page's cursor (docs/api.md "Conventions"); None on the last page
    extra: Json = field(default_factory=dict)
