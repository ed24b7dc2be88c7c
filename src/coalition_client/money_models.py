"""The admin and till API's money areas beyond admin_models: gift cards issued by the network, breakage, limits,
settlement fees, a wallet's history and the program's reports. Money is a Decimal where the schema sends a decimal
string, integer minor units where it sends `*_minor`, as the server gives it."""

from __future__ import annotations

from dataclasses import field
from datetime import date, datetime
from decimal import Decimal

from coalition_client.admin_models import Json, model


# ---- gift cards issued by the network (the till sells them through models.GiftCardSale) ----
@model
class GiftCardIssue:
    amount: Decimal  # what the card holds, in the network's currency
    currency: str | None = None
    pin: str | None = None  # 4 to 8 digits asked at every use
    valid_days: int | None = None  # from now; 365 if left out
    number: str | None = None  # the server makes one if left out


@model
class GiftCardBreakage:
    policy: str  # kept, returned or shared
    share_bp: int | None = None  # the share kept when shared, in basis points


@model
class GiftCardBreakageAnswer:
    policy: str
    share_bp: int | None
    extra: Json = field(default_factory=dict)


@model
class GiftCardExpiry:
    policy: str
    share_bp: int | None
    cards: int
    kept_minor: int
    returned_minor: int
    extra: Json = field(default_factory=dict)


# ---- gifts granted by rules (docs/gifts.md) ----
@model
class GiftType:
    code: str  # what rules name in grant_gift, e.g. free-photo
    name: str
    price: Decimal  # the settlement price the node pays the partner that hands it over
    partners: list[str]  # partners whose outlets hand it over
    valid_days: int | None = None


@model
class GiftBreakage:
    gifts: str  # kept or released


@model
class GiftHonoured:
    id: str
    gift_type: str
    name: str
    outlets: list[str]
    valid_until: datetime
    state: str
    honoured_at: datetime
    outlet: str
    price: Decimal
    extra: Json = field(default_factory=dict)


@model
class PointsBreakage:
    policy: str
    share_bp: int | None = None


# ---- limits and fees ----
@model
class Limits:
    """The fields to change; those left out keep their value."""

    max_amount: Decimal | None = None  # the largest check, line total or unit price
    max_quantity: Decimal | None = None  # the largest quantity of a line
    max_lines_per_purchase: int | None = None
    max_points_per_purchase: int | None = None


@model
class Fees:
    per_transaction: Decimal | None = None  # per partner transaction, e.g. 0.50
    percent_of_granted: Decimal | None = None  # of the value granted, e.g. 1.5


# ---- wallets ----
@model
class CloseWallet:
    currency: str | None = None


@model
class WalletLine:
    transaction: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    outlet: str | None
    amount: Decimal
    balance_after: Decimal
    memo: str
    extra: Json = field(default_factory=dict)


@model
class WalletHistory:
    member: int
    currency: str
    lines: list[WalletLine]
    next_cursor: str | None = None  # the next page's cursor (`pages()` walks them); None on the last page
    extra: Json = field(default_factory=dict)


# ---- the program's reports (docs/reports.md): minor units, shares in basis points ----
@model
class HourRow:
    hour: int
    checks: int
    revenue_minor: int
    extra: Json = field(default_factory=dict)


@model
class WeekdayRow:
    weekday: int
    name: str
    checks: int
    revenue_minor: int
    extra: Json = field(default_factory=dict)


@model
class Attendance:
    first_day: date
    last_day: date
    checks: int
    by_hour: list[HourRow]
    by_weekday: list[WeekdayRow]
    extra: Json = field(default_factory=dict)


@model
class Customers:
    first_day: date
    last_day: date
    customers: int
    new_customers: int
    returning_customers: int
    new_share_bp: int
    new_checks: int
    returning_checks: int
    new_revenue_minor: int
    returning_revenue_minor: int
    extra: Json = field(default_factory=dict)


@model
class Effectiveness:
    first_day: date
    last_day: date
    member_checks: int
    member_revenue_minor: int
    member_average_check_minor: int
    anonymous_checks: int
    anonymous_revenue_minor: int
    anonymous_average_check_minor: int
    members: int
    repeat_members: int
    repeat_rate_bp: int
    points_issued: int
    point_value_minor: int
    points_issued_minor: int
    discount_minor: int
    program_cost_minor: int
    revenue_minor: int
    cost_per_revenue_bp: int
    extra: Json = field(default_factory=dict)


@model
class Threshold:
    old_threshold_minor: int
    base_first_day: date
    base_last_day: date
    base_checks: int
    base_average_check_minor: int
    current_first_day: date
    current_last_day: date
    current_checks: int
    current_average_check_minor: int
    new_threshold_minor: int
    change_bp: int
    extra: Json = field(default_factory=dict)
