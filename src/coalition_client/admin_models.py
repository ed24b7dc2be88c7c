"""The admin API's request bodies, and the answers /openapi.json describes (the others come back as JSON)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, dataclass_transform

Json = dict[str, Any]
T = TypeVar("T")


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
def model(cls: type[T]) -> type[T]:
    """A frozen, keyword-only dataclass, as type checkers see it too (an integrator's mypy checks the fields)."""
    return dataclass(kw_only=True, frozen=True)(cls)


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


@model
class Cashier:
    outlet_id: int
    login: str
    name: str
    password: str


@model
class CashierAnswer:
    id: int
    outlet_id: int
    login: str
    name: str
    extra: Json = field(default_factory=dict)


@model
class Password:
    password: str


@model
class PasswordChanged:
    id: int
    password_changed: bool
    extra: Json = field(default_factory=dict)


@model
class CashierActive:
    active: bool


@model
class CashierActiveAnswer:
    id: int
    active: bool
    extra: Json = field(default_factory=dict)


@model
class Coupons:
    campaign: str
    valid_until: datetime
    codes: list[str] | None = None  # registered as given, or:
    count: int | None = None  # how many random codes to generate
    prefix: str | None = None
    valid_from: datetime | None = None
    uses: int | None = None  # uses per code (default 1)
    member: str | None = None  # an identifier: only this member may use them


@model
class MatrixEntry:
    outlet: str
    counter: str
    operations: list[str]


@model
class Permissions:
    entries: list[MatrixEntry]  # the whole matrix; [] lets every outlet do everything


@model
class Birthdays:
    date: date | None = None  # default: today (UTC)


@model
class DailyReports:
    day: date | None = None  # default: yesterday where the outlets are
    again: bool | None = None


@model
class PeriodClose:
    month: str | None = None  # YYYY-MM; default: the month before this one


@model
class ScheduleChange:
    enabled: bool | None = None
    time: str | None = None  # HH:MM in the network's time zone
    every_minutes: int | None = None
    day_of_month: int | None = None


@model
class JobRun:
    id: int
    job: str
    period: str
    status: str
    trigger: str
    claimed_by: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    error: str | None
    result: Any = None
    extra: Json = field(default_factory=dict)


@model
class NextRun:
    period: str
    at: datetime
    extra: Json = field(default_factory=dict)


@model
class Schedule:
    job: str
    enabled: bool
    cadence: str
    time: str | None
    every_minutes: int | None
    day_of_month: int | None
    default: bool
    next_run: NextRun | None
    due_period: str
    last_run: JobRun | None
    blocked: str | None
    extra: Json = field(default_factory=dict)


@model
class Schedules:
    timezone: str
    now: datetime
    schedules: list[Schedule]
    extra: Json = field(default_factory=dict)


@model
class JobRuns:
    runs: list[JobRun]
    next_cursor: str | None = None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


@model
class CouponsCreated:
    campaign: str
    valid_from: datetime
    valid_until: datetime
    uses: int
    member_id: int | None
    codes: list[str]
    extra: Json = field(default_factory=dict)


@model
class CouponAnswer:
    id: int  # the coupon's number: pages follow it
    code: str
    campaign: str
    member_id: int | None
    valid_from: datetime
    valid_until: datetime
    uses: int  # so far
    max_uses: int
    extra: Json = field(default_factory=dict)


@model
class CouponList:
    coupons: list[CouponAnswer]
    next_cursor: str | None = None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


@model
class PermissionEntry:
    outlet: str
    counter: str
    operations: list[str]
    extra: Json = field(default_factory=dict)


@model
class PermissionsAnswer:
    defined: bool  # False: no matrix, every outlet may do everything
    entries: list[PermissionEntry]
    extra: Json = field(default_factory=dict)


# ---- files (docs/files.md, docs/exports.md) ----
@model
class FileError:
    """One error of an imported file: the row as a spreadsheet numbers it (the header is row 1; 0: the whole file),
    the column as the header spells it (empty when no column is at fault) and why."""

    row: int
    column: str
    reason: str


@model
class Rejects:
    """The rejected rows of a partial import with an `error` column, in the uploaded format."""

    filename: str
    media_type: str
    content_base64: str

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


@model
class ImportOptions:
    """An import's options (the form fields beside the file). `partial`: record the valid rows and answer the
    rejected ones as a file (`rejects`); by default a file with a bad row is refused whole and nothing is written.
    `encoding` (utf-8, cp1251, cp1252, cp866) and `delimiter` (comma, semicolon, tab) of a CSV: detected when left
    out."""

    encoding: str | None = None
    delimiter: str | None = None
    partial: bool = False


@model
class MemberImport:
    """POST /v1/admin/imports/members answered: the same file again is answered from its first import (`replayed`)."""

    network_id: int
    filename: str
    digest: str
    format: str
    encoding: str
    delimiter: str
    rows_read: int
    created: int
    unchanged: int
    rejected: int
    opening_points: int
    opening_transactions: int
    opening_wallet: str
    errors: list[FileError]
    replayed: bool
    rejects: Rejects | None = None
    extra: Json = field(default_factory=dict)


@model
class SalesImport:
    """POST /v1/admin/imports/{purchases|refunds} answered; amounts in minor units of `currency`."""

    network_id: int
    kind: str
    filename: str
    digest: str
    format: str
    encoding: str
    delimiter: str
    currency: str
    rows_read: int
    recorded: int
    already_recorded: int
    rejected: int
    amount_minor: int
    points_earned: int
    points_redeemed: int
    points_clawed_back: int
    points_returned: int
    errors: list[FileError]
    replayed: bool
    rejects: Rejects | None = None
    extra: Json = field(default_factory=dict)


@model
class CatalogueImport:
    """POST /v1/admin/imports/{products|categories} answered: rows equal to what is stored are `unchanged` (the
    same file again: every row), so an upload may be retried."""

    network_id: int
    partner_id: int
    kind: str
    filename: str
    format: str
    encoding: str
    delimiter: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[FileError]
    rejects: Rejects | None = None
    extra: Json = field(default_factory=dict)


@model
class Product:
    id: int
    partner_id: int
    sku: str
    name: str
    category: str | None
    price: str | None  # a decimal string in `currency`; None: no list price
    currency: str
    active: bool
    updated_at: str
    extra: Json = field(default_factory=dict)


@model
class ProductList:
    products: list[Product]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class ProductCategory:
    id: int
    partner_id: int
    code: str
    name: str
    parent: str | None
    updated_at: str
    extra: Json = field(default_factory=dict)


@model
class ProductCategoryList:
    categories: list[ProductCategory]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class ExportScope:
    """Whose rows an export holds (the network's when all are None): a partner's, an outlet's or a member's, by id."""

    partner: int | None = None
    outlet: int | None = None
    member: int | None = None


@model
class ExportFormat:
    """`format` csv or xlsx; a CSV's `delimiter` (comma, semicolon), `encoding` (utf-8, cp1251) and `bom` (for
    Excel): the server's defaults when left out."""

    format: str = "csv"
    delimiter: str | None = None
    encoding: str | None = None
    bom: bool | None = None


@model
class Download:
    """An export written where it was asked to go: the server's file name, its media type and the bytes written."""

    filename: str
    media_type: str
    bytes_written: int


@model
class NetworkPlan:
    """A network's plan of the hosted service (docs/plans.md): `max_members` is the limit in force now."""

    network_id: int
    code: str
    name: str
    plan: str
    plan_name: str
    plan_max_members: int | None
    max_members: int | None
    members: int
    trial_ends_at: datetime | None
    in_trial: bool
    suspended_at: datetime | None
    created_at: datetime
    extra: Json = field(default_factory=dict)


@model
class NetworksPage:
    networks: list[NetworkPlan]
    next_cursor: str | None = None
    extra: Json = field(default_factory=dict)


@model
class MemberCard:
    number: str
    state: str  # issued, active, blocked, lost or replaced
    extra: Json = field(default_factory=dict)


@model
class ListedMember:
    id: int  # the member's number: pages follow it, newest first
    kind: str  # personal or anonymous
    name: str | None
    phone: str | None
    tier: str  # "" when none is set
    segments: list[str]
    enrolled_at: datetime
    cards: list[MemberCard]
    extra: Json = field(default_factory=dict)


@model
class MemberList:
    members: list[ListedMember]
    next_cursor: str | None = None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


# ---- the states the admin edits change, each read at the edit's own path (its ETag is the edit's If-Match) ----


@model
class CashierPasswordState:
    id: int
    login: str
    active: bool
    password_changed_at: str | None = None  # null: as created
    extra: Json = field(default_factory=dict)


@model
class PartnerEmailState:
    id: int
    email: str | None = None
    language: str | None = None  # null: English
    extra: Json = field(default_factory=dict)


@model
class MemberLabelsState:
    member_id: int
    tier: str
    segments: list[str]
    extra: Json = field(default_factory=dict)


@model
class AdminKeyExpiry:
    network: str
    expires_at: str | None = None  # null: never
    extra: Json = field(default_factory=dict)


@model
class TerminalKeyExpiry:
    id: int
    expires_at: str | None = None  # null: never
    extra: Json = field(default_factory=dict)


@model
class ProgramFields:
    source: str  # draft, in_force or example
    version: int | None
    fields: dict[str, str]
    draft_saved_at: str | None
    yaml_draft: int | None
    extra: Json = field(default_factory=dict)
