"""Every call the client makes: method, path, body and answer. `coalition_client.check` holds each against the
server's /openapi.json, so a renamed field or path fails CI instead of an integrator's till."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from coalition_client import admin_models as admin
from coalition_client import message_models as msg
from coalition_client import models as m
from coalition_client import money_models as money
from coalition_client import network_models as network

A = TypeVar("A")
Json = dict[str, Any]


@dataclass(frozen=True)
class Route(Generic[A]):
    method: str
    path: str  # with {placeholders}
    answer: type[A]  # a dataclass of models, dict for JSON the schema does not describe, bytes for a file
    body: type | None = None
    idempotency_key: bool = False  # the server replays a repeated key: the call may be retried
    safe: bool = False  # reads nothing but changes nothing: may be retried without a key
    upload: str | None = None  # a multipart/form-data upload: the file's field (the body's fields beside it)
    query: tuple[str, ...] = ()  # the query parameters the named methods send (the check holds them too)

    @property
    def retryable(self) -> bool:
        return self.safe or self.idempotency_key


def _get(path: str, answer: type[A]) -> Route[A]:
    return Route("GET", path, answer, safe=True)


def _write(path: str, answer: type[A], body: type | None = None) -> Route[A]:
    return Route("POST", path, answer, body, idempotency_key=True)


# Every admin write takes an optional Idempotency-Key and replays a repeated one (docs/api.md "Conventions"): the
# client sends one with each creation, so that its retries create one thing.
_admin_write = _write


# ---- till (POS): a terminal's key ----
MEMBER = _get("/v1/members/{identifier}", m.MemberSummary)
ENROL = _write("/v1/members", m.Enrolment, m.Enrol)
QUOTE = Route("POST", "/v1/purchases/quote", m.QuoteAnswer, m.Quote, safe=True)
PURCHASE = _write("/v1/purchases", m.PurchaseAnswer, m.Purchase)
# Each purchase in a batch carries its own key; the batch itself is answered item by item and is safe to resend.
BATCH = Route("POST", "/v1/purchases/batch", m.BatchAnswer, m.Batch, safe=True)
REFUND = _write("/v1/purchases/{purchase_id}/refunds", m.RefundAnswer, m.Refund)
# Each refund in a batch carries its own key, like a batch's purchases: the batch is safe to resend.
REFUND_BATCH = Route("POST", "/v1/refunds/batch", m.RefundBatchAnswer, m.RefundBatch, safe=True)
ISSUE_CARD = _write("/v1/cards", m.CardIssued, m.CardIssue)
REPLACE_CARD = _write("/v1/cards/{number}/replace", m.CardChanged, m.CardReplacement)
CHANGE_CARD = _write("/v1/cards/{number}/{action}", m.CardChanged)  # activate, block, unblock, report-lost
START_VISIT = _write("/v1/visits", m.VisitChanged, m.Visit)
END_VISIT = _write("/v1/visits/{visit_id}/end", m.VisitChanged)
VISIT = _get("/v1/visits/{visit_id}", m.VisitAnswer)
TOP_UP = _write("/v1/wallets/top-ups", m.ToppedUp, m.TopUp)
WALLET = _get("/v1/members/{identifier}/wallet", m.Wallet)
SELL_GIFT_CARD = _write("/v1/gift-cards", m.GiftCard, m.GiftCardSale)
GIFT_CARD = _get("/v1/gift-cards/{card_number}", m.GiftCard)

# ---- devices: a device's key ----
AUTHORIZE = Route("POST", "/v1/devices/authorize", m.Authorization, m.DeviceUse, safe=True)
CHARGE = _write("/v1/devices/charges", m.Charge, m.DeviceUse)
HOLD = _write("/v1/devices/holds", m.HoldAnswer, m.Hold)
CAPTURE = _write("/v1/devices/holds/{hold_id}/capture", m.Closed)
VOID = _write("/v1/devices/holds/{hold_id}/void", m.Closed)
START_SESSION = _write("/v1/devices/sessions", m.HoldAnswer, m.Session)
STOP_SESSION = _write("/v1/devices/sessions/{session_id}/stop", m.Closed)
KIOSK_TOP_UP = _write("/v1/devices/top-ups", m.ToppedUp, m.KioskTopUp)
# A use of a device by a till-less turnstile or machine (/v1/device-uses): the raw JSON both ways for now.
DEVICE_USE = Route("POST", "/v1/device-uses", dict, dict, idempotency_key=True)
# A heartbeat only records when the device was last heard: sending it twice is harmless.
HEARTBEAT = Route("POST", "/v1/devices/heartbeat", m.HeartbeatAnswer, m.Heartbeat, safe=True)
DEVICE_CONFIG = _get("/v1/devices/me", dict)
# Offline uses carry their own keys and are replayed use by use.
OFFLINE_USES = Route("POST", "/v1/devices/offline-uses", m.OfflineUploadAnswer, m.OfflineUpload, safe=True)

# ---- admin: the network's admin key ----
# The network with the first 100 of each list and `<list>_next` links; the lists themselves a page at a time.
NETWORK = _get("/v1/admin/network", dict)
PARTNERS = Route("GET", "/v1/admin/partners", network.PartnerList, safe=True, query=("limit", "cursor"))
OUTLETS = Route("GET", "/v1/admin/outlets", network.OutletList, safe=True, query=("partner_id", "limit", "cursor"))
TERMINALS = Route("GET", "/v1/admin/terminals", network.TerminalList, safe=True, query=("outlet_id", "limit", "cursor"))
CASHIERS = Route("GET", "/v1/admin/cashiers", network.CashierList, safe=True, query=("outlet_id", "limit", "cursor"))
NETWORK_COUNTRY = _get("/v1/admin/network/country", network.CountryAnswer)
# Setting the country again to the same one changes nothing: safe to resend.
SET_NETWORK_COUNTRY = Route("PUT", "/v1/admin/network/country", network.CountryAnswer, network.Country, safe=True)
CREATE_NETWORK = _admin_write("/v1/admin/networks", dict, admin.Network)
CREATE_PARTNER = _admin_write("/v1/admin/partners", dict, admin.Partner)
CREATE_OUTLET = _admin_write("/v1/admin/outlets", dict, admin.Outlet)
CREATE_TERMINAL = _admin_write("/v1/admin/terminals", dict, admin.Terminal)
REVOKE_TERMINAL = Route("DELETE", "/v1/admin/terminals/{terminal_id}", dict, safe=True)
TRANSACTIONS = Route(
    "GET",
    "/v1/admin/transactions",
    dict,
    safe=True,
    query=("since", "until", "outlet_id", "member_id", "kind", "limit", "cursor"),
)
MEMBER_STATEMENT = Route(
    "GET", "/v1/admin/members/{identifier}/statement", dict, safe=True, query=("since", "until", "limit", "cursor")
)
MEMBERS = Route(
    "GET",
    "/v1/admin/members",
    admin.MemberList,
    safe=True,
    query=("q", "tier", "segment", "enrolled_since", "enrolled_until", "limit", "cursor"),
)
LABEL_MEMBER = Route("PATCH", "/v1/admin/members/{identifier}", dict, admin.MemberLabels, safe=True)
SET_WALLET_LIMITS = Route("PUT", "/v1/admin/members/{member_id}/wallet", m.Wallet, admin.WalletLimits, safe=True)
RULE_SETS = _get("/v1/admin/rule-sets", dict)
RULE_SET = _get("/v1/admin/rule-sets/{version}", dict)
DRAFT_RULE_SET = _get("/v1/admin/rule-sets/draft", dict)
PUT_DRAFT_RULE_SET = Route("PUT", "/v1/admin/rule-sets/draft", dict, dict, safe=True)
PUBLISH_RULE_SET = _admin_write("/v1/admin/rule-sets/draft/publish", dict)
CLOSE_PERIOD = _admin_write("/v1/admin/settlement/periods", dict, admin.ClosePeriod)
STATEMENTS = _get("/v1/admin/settlement/statements", dict)
STATEMENT = _get("/v1/admin/settlement/statements/{number}", dict)
PARTNER_STATEMENT = _get("/v1/admin/settlement/statements/{number}/partners/{partner_id}", dict)
CREATE_DEVICE = _admin_write("/v1/admin/devices", dict, admin.Device)
DEVICES = Route("GET", "/v1/admin/devices", dict, safe=True, query=("outlet_id", "limit", "cursor"))
# A JSON body: null is meaningful here (opening_hours null = always open), so fields are sent as given.
CHANGE_DEVICE = Route("PATCH", "/v1/admin/devices/{device_id}", dict, dict, safe=True)

# Cashiers. Creating one is replayed under its Idempotency-Key (docs/api.md, conventions).
CREATE_CASHIER = _admin_write("/v1/admin/cashiers", admin.CashierAnswer, admin.Cashier)
SET_CASHIER_PASSWORD = Route(
    "PUT", "/v1/admin/cashiers/{cashier_id}/password", admin.PasswordChanged, admin.Password, safe=True
)
SET_CASHIER_ACTIVE = Route(
    "PUT", "/v1/admin/cashiers/{cashier_id}/active", admin.CashierActiveAnswer, admin.CashierActive, safe=True
)
# Coupons: registering or generating them is replayed under its Idempotency-Key, never made twice.
CREATE_COUPONS = _admin_write("/v1/admin/coupons", admin.CouponsCreated, admin.Coupons)
COUPONS = Route(
    "GET", "/v1/admin/coupons", admin.CouponList, safe=True, query=("campaign", "member_id", "limit", "cursor")
)
PERMISSIONS = _get("/v1/admin/permissions", admin.PermissionsAnswer)
SET_PERMISSIONS = Route("PUT", "/v1/admin/permissions", admin.PermissionsAnswer, admin.Permissions, safe=True)
# Scheduled jobs (docs/scheduler.md): a job run by hand is recorded for its period, so running it again is harmless.
SCHEDULES = _get("/v1/admin/schedules", admin.Schedules)
JOB_RUNS = Route(
    "GET", "/v1/admin/schedules/runs", admin.JobRuns, safe=True, query=("job", "since", "until", "limit", "cursor")
)
SET_SCHEDULE = Route("PUT", "/v1/admin/schedules/{job}", admin.Schedule, admin.ScheduleChange, safe=True)
RUN_BIRTHDAYS = Route("POST", "/v1/admin/jobs/birthdays", dict, admin.Birthdays)
RUN_DAILY_REPORTS = Route("POST", "/v1/admin/jobs/daily-reports", dict, admin.DailyReports)
RUN_PERIOD_CLOSE = Route("POST", "/v1/admin/jobs/period-close", dict, admin.PeriodClose)
RUN_EXPIRY = Route("POST", "/v1/admin/jobs/expire", dict)

# Plans of the hosted service (docs/plans.md): a network's own; the operator's list, plan, suspension and resumption
# (the operator token). Setting a plan or a suspension again changes nothing: safe to resend.
PLAN = _get("/v1/admin/plan", admin.NetworkPlan)
NETWORKS = _get("/v1/admin/networks", admin.NetworksPage)
# A JSON body: trial_ends_at null ends the trial, left out keeps it, so fields are sent as given.
SET_PLAN = Route("PUT", "/v1/admin/networks/{network_id}/plan", admin.NetworkPlan, dict, safe=True)
SUSPEND_NETWORK = Route("POST", "/v1/admin/networks/{network_id}/suspend", admin.NetworkPlan, safe=True)
RESUME_NETWORK = Route("POST", "/v1/admin/networks/{network_id}/resume", admin.NetworkPlan, safe=True)

# Webhooks. Creating one or rotating its secret is replayed under its Idempotency-Key (with the secret, kept 24 h).
CREATE_WEBHOOK = _admin_write("/v1/admin/webhooks", admin.WebhookCreated, admin.Webhook)
WEBHOOKS = _get("/v1/admin/webhooks", admin.WebhookList)
WEBHOOK = _get("/v1/admin/webhooks/{subscription_id}", admin.WebhookAnswer)
DELETE_WEBHOOK = Route("DELETE", "/v1/admin/webhooks/{subscription_id}", dict, safe=True)
PAUSE_WEBHOOK = Route("POST", "/v1/admin/webhooks/{subscription_id}/pause", admin.WebhookAnswer, safe=True)
RESUME_WEBHOOK = Route("POST", "/v1/admin/webhooks/{subscription_id}/resume", admin.WebhookAnswer, safe=True)
ROTATE_WEBHOOK_SECRET = _admin_write("/v1/admin/webhooks/{subscription_id}/rotate-secret", admin.WebhookCreated)
WEBHOOK_DELIVERIES = Route(
    "GET",
    "/v1/admin/webhooks/{subscription_id}/deliveries",
    dict,
    safe=True,
    query=("since", "until", "limit", "before_id", "cursor"),
)

# Files (docs/files.md, docs/exports.md). An import is recorded by its file's digest and each sale by its row's key:
# the same file again is answered from its first import and writes nothing, so an upload may be retried.
IMPORT_MEMBERS = Route(
    "POST", "/v1/admin/imports/members", admin.MemberImport, admin.ImportOptions, safe=True, upload="file"
)
IMPORT_PURCHASES = Route(
    "POST", "/v1/admin/imports/purchases", admin.SalesImport, admin.ImportOptions, safe=True, upload="file"
)
IMPORT_REFUNDS = Route(
    "POST", "/v1/admin/imports/refunds", admin.SalesImport, admin.ImportOptions, safe=True, upload="file"
)
# A partner's catalogue (the query's partner_id): rows equal to what is stored are left alone, so a retry is safe.
IMPORT_PRODUCTS = Route(
    "POST",
    "/v1/admin/imports/products",
    admin.CatalogueImport,
    admin.ImportOptions,
    safe=True,
    upload="file",
    query=("partner_id",),
)
IMPORT_CATEGORIES = Route(
    "POST",
    "/v1/admin/imports/categories",
    admin.CatalogueImport,
    admin.ImportOptions,
    safe=True,
    upload="file",
    query=("partner_id",),
)
PRODUCTS = _get("/v1/admin/products", admin.ProductList)
PRODUCT_CATEGORIES = _get("/v1/admin/product-categories", admin.ProductCategoryList)
EXPORT_PRODUCTS = Route("GET", "/v1/admin/exports/products", bytes, safe=True, query=("partner_id", "format"))
EXPORT_CATEGORIES = Route("GET", "/v1/admin/exports/categories", bytes, safe=True, query=("partner_id", "format"))
# An export streams a file (CSV or XLSX): the client writes it where it is told, a chunk at a time.
EXPORT_MEMBERS = Route("GET", "/v1/admin/exports/members", bytes, safe=True, query=("format",))
EXPORT = Route(
    "GET",
    "/v1/admin/exports/{what}",
    bytes,
    safe=True,
    query=("from", "to", "format", "partner", "outlet", "member", "number", "delimiter", "encoding", "bom"),
)

# ---- every other /v1 operation (tests/client/test_client_matches_openapi.py fails on one the client lacks) ----
# A member's wallet history (a terminal's key), a page at a time.
WALLET_HISTORY = Route(
    "GET",
    "/v1/members/{identifier}/wallet/history",
    money.WalletHistory,
    safe=True,
    query=("currency", "since", "until", "limit", "cursor"),
)
# A gift granted by a rule, handed over at an outlet: the key replays the first answer.
HONOUR_GIFT = _write("/v1/gifts/{gift_id}/honour", money.GiftHonoured)
CLOSE_WALLET = _admin_write("/v1/admin/members/{member_id}/wallet/close", m.Wallet, money.CloseWallet)

# Gift cards issued by the network, gift types and breakage (docs/gift-cards.md, docs/gifts.md). Setting a policy
# again changes nothing: safe to resend.
ISSUE_GIFT_CARD = _admin_write("/v1/admin/gift-cards", m.GiftCard, money.GiftCardIssue)
ADMIN_GIFT_CARD = _get("/v1/admin/gift-cards/{card_number}", m.GiftCard)
BLOCK_GIFT_CARD = _admin_write("/v1/admin/gift-cards/{card_number}/block", m.GiftCard)
UNBLOCK_GIFT_CARD = _admin_write("/v1/admin/gift-cards/{card_number}/unblock", m.GiftCard)
GIFT_CARD_BREAKAGE = _get("/v1/admin/gift-card-breakage", money.GiftCardBreakageAnswer)
SET_GIFT_CARD_BREAKAGE = Route(
    "PUT", "/v1/admin/gift-card-breakage", money.GiftCardBreakageAnswer, money.GiftCardBreakage, safe=True
)
RUN_GIFT_CARD_EXPIRY = _admin_write("/v1/admin/jobs/expire-gift-cards", money.GiftCardExpiry)
GIFT_TYPES = Route("GET", "/v1/admin/gift-types", dict, safe=True, query=("limit", "cursor"))
CREATE_GIFT_TYPE = _admin_write("/v1/admin/gift-types", dict, money.GiftType)
GIFT_BREAKAGE = _get("/v1/admin/gift-breakage", dict)
SET_GIFT_BREAKAGE = Route("PUT", "/v1/admin/gift-breakage", dict, money.GiftBreakage, safe=True)
POINTS_BREAKAGE = _get("/v1/admin/points-breakage", dict)
SET_POINTS_BREAKAGE = Route("PUT", "/v1/admin/points-breakage", dict, money.PointsBreakage, safe=True)

# Limits and settlement fees: a PUT sets them, so sending it again changes nothing.
LIMITS = _get("/v1/admin/limits", dict)
SET_LIMITS = Route("PUT", "/v1/admin/limits", dict, money.Limits, safe=True)
FEES = _get("/v1/admin/settlement/fees", dict)
SET_FEES = Route("PUT", "/v1/admin/settlement/fees", dict, money.Fees, safe=True)
SEND_STATEMENT = _admin_write("/v1/admin/settlement/statements/{number}/send", dict)

# The program's reports (docs/reports.md): periods as dates, YYYY-MM-DD.
_REPORT_QUERY = ("from", "to", "partner")
ATTENDANCE_REPORT = Route("GET", "/v1/admin/reports/attendance", money.Attendance, safe=True, query=_REPORT_QUERY)
CUSTOMERS_REPORT = Route("GET", "/v1/admin/reports/customers", money.Customers, safe=True, query=_REPORT_QUERY)
EFFECTIVENESS_REPORT = Route(
    "GET", "/v1/admin/reports/effectiveness", money.Effectiveness, safe=True, query=_REPORT_QUERY
)
THRESHOLD_REPORT = Route(
    "GET",
    "/v1/admin/reports/threshold",
    money.Threshold,
    safe=True,
    query=("threshold", "from", "to", "base_from", "base_to", "partner"),
)

# The audit trail (docs/audit.md): a page at a time, or the whole of it as CSV.
_AUDIT_FILTERS = ("since", "until", "actor", "action", "object_type", "object_id")
AUDIT = Route("GET", "/v1/admin/audit", msg.AuditPage, safe=True, query=(*_AUDIT_FILTERS, "limit", "cursor"))
AUDIT_CSV = Route("GET", "/v1/admin/audit.csv", bytes, safe=True, query=_AUDIT_FILTERS)

# Campaigns (docs/campaigns.md). Counting an audience or previewing writes nothing.
CAMPAIGNS = Route(
    "GET", "/v1/admin/campaigns", msg.CampaignList, safe=True, query=("since", "until", "limit", "cursor")
)
CAMPAIGN = _get("/v1/admin/campaigns/{campaign_id}", msg.CampaignAnswer)
CREATE_CAMPAIGN = _admin_write("/v1/admin/campaigns", msg.CampaignAnswer, msg.Campaign)
CAMPAIGN_AUDIENCE = Route("POST", "/v1/admin/campaigns/audience", msg.Audience, msg.Segment, safe=True)
PREVIEW_CAMPAIGN = Route(
    "POST", "/v1/admin/campaigns/{campaign_id}/preview", msg.Preview, msg.CampaignPreview, safe=True
)
SCHEDULE_CAMPAIGN = _admin_write("/v1/admin/campaigns/{campaign_id}/schedule", msg.CampaignAnswer, msg.CampaignSchedule)
CANCEL_CAMPAIGN = _admin_write("/v1/admin/campaigns/{campaign_id}/cancel", msg.CampaignAnswer)

# Messages to members (docs/messages.md): settings and templates; a PUT or a reset again changes nothing.
MESSAGE_SETTINGS = _get("/v1/admin/message-settings", msg.MessageSettingsAnswer)
SET_MESSAGE_SETTINGS = Route(
    "PUT", "/v1/admin/message-settings", msg.MessageSettingsAnswer, msg.MessageSettings, safe=True
)
MESSAGE_TEMPLATES = Route("GET", "/v1/admin/message-templates", dict, safe=True, query=("limit", "cursor"))
_TEMPLATE = "/v1/admin/message-templates/{kind}/{channel}/{language}"
MESSAGE_TEMPLATE = _get(_TEMPLATE, dict)
SET_MESSAGE_TEMPLATE = Route("PUT", _TEMPLATE, dict, msg.Template, safe=True)
RESET_MESSAGE_TEMPLATE = Route("DELETE", _TEMPLATE, dict, safe=True)
PREVIEW_MESSAGE_TEMPLATE = Route("POST", _TEMPLATE + "/preview", dict, msg.TemplatePreview, safe=True)
RESEND_DELIVERY = _admin_write("/v1/admin/webhooks/{subscription_id}/deliveries/{message_id}/resend", msg.Delivery)

# Keys: a rotation answers the new key once (replayed under its Idempotency-Key); an expiry set again is harmless.
# A JSON body for the expiries: expires_at null means "never", so it is sent as given.
ROTATE_TERMINAL_KEY = _admin_write("/v1/admin/terminals/{terminal_id}/key/rotate", dict, msg.KeyRotation)
SET_TERMINAL_KEY_EXPIRY = Route("PUT", "/v1/admin/terminals/{terminal_id}/key/expiry", dict, dict, safe=True)
END_PREVIOUS_TERMINAL_KEYS = Route("DELETE", "/v1/admin/terminals/{terminal_id}/key/previous", dict, safe=True)
ROTATE_ADMIN_KEY = _admin_write("/v1/admin/networks/{network}/admin-key/rotate", dict, msg.KeyRotation)
SET_ADMIN_KEY_EXPIRY = Route("PUT", "/v1/admin/networks/{network}/admin-key/expiry", dict, dict, safe=True)

# Console users, partners' e-mail, devices.
CREATE_CONSOLE_USER = _admin_write("/v1/admin/console-users", dict, msg.ConsoleUser)
SET_PARTNER_EMAIL = Route("PUT", "/v1/admin/partners/{partner_id}/email", dict, msg.PartnerEmail, safe=True)
DEVICE = _get("/v1/admin/devices/{device_id}", dict)
REVOKE_DEVICE = _admin_write("/v1/admin/devices/{device_id}/revoke", dict)

# Rule sets: the documented context and schema, an explanation and a simulation (nothing is written by those), and
# the draft's program settings (a PUT). The simulation's body says `from`: a JSON body.
RULE_SET_CONTEXT = _get("/v1/admin/rule-sets/context", dict)
RULE_SET_SCHEMA = _get("/v1/admin/rule-sets/schema", dict)
EXPLAIN_RULE_SET = Route("POST", "/v1/admin/rule-sets/explain", dict, safe=True)
SIMULATE_RULE_SET = Route("POST", "/v1/admin/rule-sets/simulate", dict, dict, safe=True)
PUT_DRAFT_PROGRAM = Route("PUT", "/v1/admin/rule-sets/draft/program", dict, dict, safe=True)


# The state each edit above changes, read at the edit's own path: its ETag is what the edit's If-Match names
# (docs/api.md "Conventions"), so two administrators cannot overwrite each other.
MEMBER_LABELS = _get("/v1/admin/members/{identifier}", admin.MemberLabelsState)
WALLET_LIMITS = _get("/v1/admin/members/{member_id}/wallet", m.Wallet)
CASHIER_ACTIVE = _get("/v1/admin/cashiers/{cashier_id}/active", admin.CashierActiveAnswer)
CASHIER_PASSWORD_STATE = _get("/v1/admin/cashiers/{cashier_id}/password", admin.CashierPasswordState)
PARTNER_EMAIL = _get("/v1/admin/partners/{partner_id}/email", admin.PartnerEmailState)
SCHEDULE = _get("/v1/admin/schedules/{job}", admin.Schedule)
ADMIN_KEY_EXPIRY = _get("/v1/admin/networks/{network}/admin-key/expiry", admin.AdminKeyExpiry)
TERMINAL_KEY_EXPIRY = _get("/v1/admin/terminals/{terminal_id}/key/expiry", admin.TerminalKeyExpiry)
DRAFT_PROGRAM = _get("/v1/admin/rule-sets/draft/program", admin.ProgramFields)
NETWORK_PLAN = _get("/v1/admin/networks/{network_id}/plan", admin.NetworkPlan)


def all_routes() -> dict[str, Route[Any]]:
    return {name: value for name, value in globals().items() if isinstance(value, Route)}
