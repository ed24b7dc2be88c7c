"""What a purchase needs to be decided, read before deciding: the till, the program and rules, the member."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from coalition.domain.bonus import BonusProgram
from coalition.domain.coupons import Coupon
from coalition.domain.gifts import GiftType
from coalition.domain.limits import DEFAULT_LIMITS, PurchaseLimits
from coalition.domain.permissions import OPEN, Matrix
from coalition.domain.purchase import BasketLine, MemberPoints, PointsAccounts
from coalition.domain.records import fast_init
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.tenders import Funds, TenderRequest


@dataclass(frozen=True, slots=True)
class Till:
    """Where the sale happens: the outlet (its local time prices windows and ends days) and its partner."""

    outlet_id: int
    outlet_name: str
    partner_id: int
    partner_name: str
    zone: tzinfo


@fast_init
@dataclass(frozen=True, slots=True)
class CheckoutContext:
    """Everything `decide` reads, loaded up front. `rules` is the rule set in force at the sale's moment (None: the
    network has none, and its bonus program prices the check); `history` is what the rules read of the member
    beyond points and spend, loaded only when the rule set says it needs it; `open_visit_id` and `gift_types` only
    when rules of this outlet may end points with a visit or grant gifts."""

    till: Till
    program: BonusProgram
    accounts: PointsAccounts
    member_id: int
    points: MemberPoints
    rules: CompiledRuleSet | None = None
    limits: PurchaseLimits = DEFAULT_LIMITS
    history: MemberFacts | None = None
    coupons: tuple[Coupon, ...] = ()  # presented and accepted
    open_visit_id: str | None = None
    gift_types: Mapping[str, GiftType] = field(default_factory=dict)
    matrix: Matrix = OPEN
    funds: tuple[Funds, ...] = ()  # the sources the sale's tenders name (read only when it has tenders)
    prepaid_account: int | None = None  # the outlet's partner's PREPAID account (with funds)


@fast_init
@dataclass(frozen=True, slots=True)
class Sale:
    """The request: the basket (its total, and its lines when it has items), the points to pay with, and the moment
    of the sale (UTC-aware: the till's `occurred_at` or the server's time) that prices it and starts expiries."""

    check_minor: int
    lines: tuple[BasketLine, ...]
    redeem_points: int | None
    moment: datetime
    tenders: tuple[TenderRequest, ...] = ()  # paid after discounts and points, in this order
