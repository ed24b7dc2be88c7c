"""The requests and answers of the till (POS) and device API, as the server's /openapi.json describes them.

Requests: fields left at None are not sent. Answers: money as Decimal, every field the client knows typed, and any
field the server adds later kept in `extra`. `coalition_client.check` proves each field against the live schema.
"""

from __future__ import annotations

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


# ---- requests -------------------------------------------------------------------------------------------------


@model
class Identifier:
    kind: str  # phone, email, card, app, …
    value: str


@model
class Profile:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    consent_data_processing: bool | None = None
    consent_newsletters: bool | None = None


@model
class Enrol:
    kind: str | None = None  # person or company
    card_number: str | None = None
    card_type: str | None = None
    profile: Profile | None = None
    identifiers: list[Identifier] | None = None
    segments: list[str] | None = None


@model
class Item:
    sku: str
    unit_price: Decimal | None = None  # None: the till's partner's catalogue's list price of the SKU
    quantity: Decimal | int = 1
    category: str | None = None
    tags: list[str] | None = None


@model
class Tender:
    kind: str  # cash, card, wallet, gift_card, points
    amount: Decimal | None = None
    number: str | None = None
    pin: str | None = None


@model
class Quote:
    customer: str  # a card number, phone, e-mail or any identifier the member has
    amount: Decimal | None = None
    items: list[Item] | None = None
    redeem_points: int | None = None
    coupons: list[str] | None = None
    tenders: list[Tender] | None = None


@model
class GiftCardSold:
    amount: Decimal
    pin: str | None = None
    valid_days: int | None = None


@model
class Purchase:
    customer: str
    receipt: str
    amount: Decimal | None = None
    items: list[Item] | None = None
    redeem_points: int | None = None
    coupons: list[str] | None = None
    tenders: list[Tender] | None = None
    gift_cards_sold: list[GiftCardSold] | None = None
    cashier: str | None = None
    occurred_at: datetime | None = None  # when the till sold it, for a purchase uploaded later


@model
class Batch:
    purchases: list[Json]  # each a Purchase's JSON plus its own `idempotency_key`


@model
class ReturnedItem:
    sku: str
    quantity: Decimal | int = 1


@model
class Refund:
    amount: Decimal | None = None
    items: list[ReturnedItem] | None = None
    cashier: str | None = None
    occurred_at: datetime | None = None  # when the till gave the money back, for a refund uploaded later


@model
class RefundBatch:
    # each a Refund's JSON plus its own `idempotency_key` and one of `purchase_id`, `purchase_key` (the key the till
    # recorded the purchase with) or `purchase_receipt`
    refunds: list[Json]


@model
class Visit:
    customer: str


@model
class TopUp:
    customer: str
    amount: Decimal
    currency: str | None = None
    cashier: str | None = None


@model
class GiftCardSale:
    amount: Decimal
    currency: str | None = None
    pin: str | None = None
    valid_days: int | None = None
    number: str | None = None
    cashier: str | None = None


@model
class CardIssue:
    number: str
    member: str | None = None  # an identifier of the member the card goes to; none: a new anonymous card
    card_type: str | None = None


@model
class CardReplacement:
    new_number: str


@model
class DeviceUse:
    """What a device asks for: authorize and charge take the same body."""

    customer: str
    product: str | None = None
    pay_with: str | None = None  # wallet (default), points or points_then_wallet


@model
class Hold:
    customer: str
    product: str | None = None
    amount: Decimal | None = None


@model
class Session:
    customer: str
    max_minutes: int | None = None


@model
class KioskTopUp:
    customer: str
    amount: Decimal


@model
class Heartbeat:
    status: Json | None = None
    error: str | None = None


@model
class OfflineUpload:
    uses: list[Json]


# ---- answers --------------------------------------------------------------------------------------------------


@model
class Member:
    id: int
    kind: str
    tier: str
    segments: list[str]
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    extra: Json = field(default_factory=dict)


@model
class Card:
    number: str
    state: str
    extra: Json = field(default_factory=dict)


@model
class Bonus:
    points: int
    rules: list[str]
    extra: Json = field(default_factory=dict)


@model
class Enrolment:
    member: Member
    card: Card | None
    points_balance: int
    bonus: Bonus | None = None
    extra: Json = field(default_factory=dict)


@model
class TillMember:
    id: int
    kind: str
    tier: str
    segments: list[str]
    name: str | None = None
    extra: Json = field(default_factory=dict)


@model
class MemberSummary:
    member: TillMember
    card: Card | None
    cards: list[Card]
    points_balance: int
    lifetime_spend: Decimal
    currency: str
    extra: Json = field(default_factory=dict)


@model
class QuoteAnswer:
    points_balance: int
    max_redeemable_points: int
    redeem_points: int
    points_to_earn: int
    amount: Decimal
    discount: Decimal
    amount_due: Decimal
    currency: str
    applied_rules: list[str] | None = None
    rule_set_version: int | None = None
    to_collect: Decimal | None = None
    extra: Json = field(default_factory=dict)


@model
class PurchaseAnswer:
    id: str
    receipt: str
    amount: Decimal
    discount: Decimal
    amount_due: Decimal
    currency: str
    points_redeemed: int
    points_earned: int
    points_balance: int
    occurred_at: datetime
    rule_set_version: int | None = None
    applied_rules: list[str] | None = None
    tier: str | None = None
    to_collect: Decimal | None = None
    extra: Json = field(default_factory=dict)


@model
class BatchItem:
    index: int
    status: int
    replayed: bool | None = None
    body: PurchaseAnswer | None = None
    problem: Json | None = None
    extra: Json = field(default_factory=dict)


@model
class BatchAnswer:
    results: list[BatchItem]
    committed: int
    replayed: int
    refused: int
    extra: Json = field(default_factory=dict)


@model
class RefundAnswer:
    id: str
    purchase_id: str
    amount: Decimal
    money_back: Decimal
    currency: str
    points_clawed_back: int
    points_returned: int
    points_balance: int
    refundable_left: Decimal
    gifts_revoked: list[str]
    to_wallet: Decimal | None = None
    extra: Json = field(default_factory=dict)


@model
class RefundBatchItem:
    index: int
    status: int
    replayed: bool | None = None
    body: RefundAnswer | None = None
    problem: Json | None = None
    extra: Json = field(default_factory=dict)


@model
class RefundBatchAnswer:
    results: list[RefundBatchItem]
    committed: int
    replayed: int
    refused: int
    extra: Json = field(default_factory=dict)


@model
class CardIssued:
    number: str
    state: str
    type: str
    member_id: int
    extra: Json = field(default_factory=dict)


@model
class CardChanged:
    number: str
    state: str
    member_id: int
    replaced_by: Card | None = None
    extra: Json = field(default_factory=dict)


@model
class VisitAnswer:
    id: str
    state: str
    entry_outlet: str
    started_at: datetime
    exit_outlet: str | None
    ended_at: datetime | None
    member: int
    extra: Json = field(default_factory=dict)


@model
class VisitChanged(VisitAnswer):
    """A visit just started or ended: with the member's points balance after it."""

    points_balance: int


@model
class Wallet:
    member: int
    currency: str
    balance: Decimal
    credit_limit: Decimal
    available: Decimal
    daily_spend_limit: Decimal | None
    daily_left: Decimal | None
    status: str
    extra: Json = field(default_factory=dict)


@model
class ToppedUp:
    member: int
    currency: str
    balance: Decimal
    available: Decimal
    status: str
    topped_up: Decimal
    transaction: int
    recorded_at: datetime
    extra: Json = field(default_factory=dict)


@model
class GiftCard:
    number: str
    currency: str
    initial_amount: Decimal
    balance: Decimal
    status: str
    valid_from: datetime
    valid_until: datetime
    has_pin: bool
    sold_at_outlet_id: int | None
    extra: Json = field(default_factory=dict)


@model
class Authorization:
    member: int
    device: str
    kind: str
    allowed: bool
    reason: str | None
    currency: str
    product: str | None
    price: Decimal | None
    uses: int | None
    wallet: Wallet
    pay_with: str | None = None
    points_balance: int | None = None
    extra: Json = field(default_factory=dict)


@model
class Charge:
    charge: str
    member: int
    device: str
    product: str | None
    currency: str
    amount: Decimal
    transaction: int
    recorded_at: datetime
    wallet: Wallet
    rewards: Json
    pay_with: str | None = None
    points_earned: int | None = None
    points_balance: int | None = None
    extra: Json = field(default_factory=dict)


@model
class HoldAnswer:
    hold: str
    member: int
    kind: str
    status: str
    currency: str
    amount: Decimal
    product: str | None
    started_at: datetime
    expires_at: datetime
    wallet: Wallet
    session: str | None = None
    extra: Json = field(default_factory=dict)


@model
class Closed:
    hold: str
    member: int
    kind: str
    status: str
    currency: str
    amount: Decimal
    captured: Decimal
    released: Decimal
    transaction: int
    recorded_at: datetime
    wallet: Wallet
    minutes: int | None = None
    extra: Json = field(default_factory=dict)


@model
class HeartbeatAnswer:
    device_id: int
    received_at: datetime
    extra: Json = field(default_factory=dict)


@model
class OfflineUseResult:
    index: int
    key: str | None
    result: str
    amount: Decimal | None = None
    paid: Decimal | None = None
    unpaid: Decimal | None = None
    problem: Json | None = None
    extra: Json = field(default_factory=dict)


@model
class OfflineUploadAnswer:
    results: list[OfflineUseResult]
    charged: int
    short: int
    replayed: int
    refused: int
    extra: Json = field(default_factory=dict)
