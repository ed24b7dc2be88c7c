"""What the POS commands and queries answer, typed: money in minor units beside its currency, points as integers,
shares in basis points, moments as datetimes. The HTTP layer writes them as JSON (adapters/http/pos_answers.py);
the web pages format them for their reader.

A command's answer is also stored with its idempotency key, as JSON, so that a retry replays it: `CommandResult`
carries both, the typed `result` when the command ran now and the stored `body` it replays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic

from typing_extensions import TypeVar  # a default (PEP 696): a bare CommandResult is a CommandResult[Any]

from coalition.application.ports import MemberLabels, MemberRef, Profile, StatementLine
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.cards import CardState
from coalition.domain.coupons import NewCoupon
from coalition.domain.gifts import Gift
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.lots import Lot
from coalition.domain.records import fast_init
from coalition.domain.rules.builtin import BUILTIN_VERSION, builtin_tier
from coalition.domain.rules.terms import TermsInForce

T = TypeVar("T", default=Any)

# Writes a typed answer as the JSON the API answers (and stores for replays); given by the composition root.
AnswerJson = Callable[[object], dict[str, Any]]


@fast_init
@dataclass(frozen=True, slots=True)
class CommandResult(Generic[T]):
    status_code: int
    body: dict[str, Any]  # the answer as JSON: what was stored for replays, and what a replay gives
    replayed: bool = False
    response_stored: bool = False  # the operation wrote the idempotency record with its own writes
    result: T | None = None  # the typed answer when the command ran now; None when it is a replay
    # `body` as JSON text, when already written (a batch's items: spliced, not re-encoded); not part of what it is
    body_json: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class GrantedBonus:
    points: int
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member as a write that created them tells it back: who they are, their labels and their consents."""

    id: int
    kind: str
    tier: str
    segments: tuple[str, ...]
    name: str | None
    phone: str | None
    email: str | None
    birth_date: date | None
    consent_data_processing: bool
    consent_newsletters: bool

    @classmethod
    def of(cls, member: MemberRef, profile: Profile, labels: MemberLabels) -> MemberView:
        return cls(
            id=member.member_id,
            kind=member.kind,
            tier=labels.tier,
            segments=labels.segments,
            name=profile.name,
            phone=profile.phone,
            email=profile.email,
            birth_date=profile.birth_date,
            consent_data_processing=profile.consent_data_processing,
            consent_newsletters=profile.consent_newsletters,
        )


@dataclass(frozen=True, slots=True)
class TillMember:
    """What a till is told of a member: who they are and what the rules read, no contact details."""

    id: int
    kind: str
    name: str | None
    tier: str
    segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CardView:
    number: str
    state: CardState
    card_type: str | None = None  # told where the card was just issued


@dataclass(frozen=True, slots=True)
class TierTerms:
    """The terms a member's tier gives: from which lifetime spend, the accrual, the share of a check points pay."""

    from_lifetime_spend_minor: int | None  # the program's tier threshold; None under a published rule set
    accrual_bp: int
    fixed_points_per_check: int
    redeem_cap_bp: int
    min_check_for_redeem_minor: int

    @classmethod
    def in_force(cls, program: BonusProgram, terms: TermsInForce) -> TierTerms:
        """The terms the rule set in force gives (the built-in program's own rules when none is published)."""
        tier = None
        if terms.rule_set_version == BUILTIN_VERSION:
            codes = tuple(rule.code for rule in (*terms.accrual_rules, *filter(None, (terms.redemption_rule,))))
            tier = builtin_tier(program, codes)
        return cls(
            from_lifetime_spend_minor=tier.min_lifetime_spend_minor if tier is not None else None,
            accrual_bp=terms.accrual_bp,
            fixed_points_per_check=terms.fixed_points_per_check,
            redeem_cap_bp=terms.redeem_cap_bp,
            min_check_for_redeem_minor=terms.min_check_for_redeem_minor,
        )

    @classmethod
    def of(cls, program: BonusProgram, tier: Tier) -> TierTerms:
        return cls(
            from_lifetime_spend_minor=tier.min_lifetime_spend_minor,
            accrual_bp=tier.accrual_bp,
            fixed_points_per_check=tier.fixed_points_per_check,
            redeem_cap_bp=tier.redeem_cap_bp,
            min_check_for_redeem_minor=program.min_check_for_redeem_minor,
        )


@dataclass(frozen=True, slots=True)
class PointsExpiry:
    points: int
    expires_at: datetime

    @classmethod
    def next_of(cls, lots: tuple[Lot, ...], now: datetime) -> PointsExpiry | None:
        """The points that expire next (one lot's), or None when none of the member's points expire."""
        upcoming = [lot for lot in lots if lot.expires_at is not None and lot.expires_at > now and lot.remaining]
        if not upcoming:
            return None
        first = min(upcoming, key=lambda lot: lot.expires_at or now)
        return cls(first.remaining, first.expires_at or now)


@dataclass(frozen=True, slots=True)
class GiftView:
    id: str
    gift_type: str
    name: str
    outlets: tuple[str, ...]  # sorted; empty: any outlet of the gift type's partners
    valid_until: datetime

    @classmethod
    def of(cls, gift: Gift) -> GiftView:
        return cls(gift.id, gift.gift_type.code, gift.gift_type.name, tuple(sorted(gift.outlets)), gift.valid_until)


@dataclass(frozen=True, slots=True)
class CouponView:
    code: str
    campaign: str
    valid_until: datetime
    uses: int

    @classmethod
    def of(cls, coupon: NewCoupon) -> CouponView:
        return cls(coupon.code, coupon.campaign, coupon.valid_until, coupon.max_uses)


@dataclass(frozen=True, slots=True)
class MemberSummary:
    """GET /v1/members/{identifier}: the member for a till, their cards, points, tier and gifts to hand over."""

    member: TillMember
    card: CardView | None  # the card the identifier named, if it named one
    cards: tuple[CardView, ...]
    points_balance: int
    lifetime_spend_minor: int
    currency: str
    tier: TierTerms
    terms: TermsInForce  # of the rule set in force here and now, with the rules that give them
    points_asset: str
    next_expiry: PointsExpiry | None
    gifts: tuple[GiftView, ...]


@dataclass(frozen=True, slots=True)
class EnrolIdentifier:
    kind: IdentifierKind
    value: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """POST /v1/members: the new member, their card and identifiers, and a welcome bonus when a rule grants one."""

    member: MemberView
    card: CardView | None
    identifiers: tuple[EnrolIdentifier, ...]
    points_balance: int
    bonus: GrantedBonus | None


@dataclass(frozen=True, slots=True)
class Refunded:
    """POST /v1/purchases/{id}/refunds: the refund's own figures, then what the `refund` rules gave."""

    id: str
    purchase_id: str
    amount_minor: int  # measured on the check total before points
    money_back_minor: int
    currency: str
    points_clawed_back: int
    points_returned: int
    points_balance: int  # after the refund and its bonus
    refundable_left_minor: int
    gifts_revoked: tuple[str, ...]
    bonus: GrantedBonus | None = None
    coupons_issued: tuple[CouponView, ...] = ()
    to_wallet_minor: int | None = None  # returned into the member's wallet (a purchase a wallet paid for)
    to_gift_cards: tuple[ToGiftCard, ...] | None = None  # returned onto the gift cards that paid (None: none did)


@dataclass(frozen=True, slots=True)
class ToGiftCard:
    """What a refund put back on a gift card that paid for the purchase."""

    number: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CardIssued:
    number: str
    state: CardState
    card_type: str
    member_id: int


@dataclass(frozen=True, slots=True)
class CardChanged:
    number: str
    state: CardState
    member_id: int
    replaced_by: CardView | None = None

    def audit_view(self) -> dict[str, Any]:
        """What the audit log keeps of the change."""
        view: dict[str, Any] = {"number": self.number, "state": str(self.state), "member_id": self.member_id}
        if self.replaced_by is not None:
            view["replaced_by"] = {"number": self.replaced_by.number, "state": str(self.replaced_by.state)}
        return view


@dataclass(frozen=True, slots=True)
class GiftHonoured:
    gift: GiftView
    honoured_at: datetime
    outlet: str
    price_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class VisitView:
    id: str
    is_open: bool
    entry_outlet: str
    started_at: datetime
    exit_outlet: str | None
    ended_at: datetime | None
    member_id: int


@dataclass(frozen=True, slots=True)
class VisitStarted:
    visit: VisitView
    points_balance: int
    bonus: GrantedBonus | None


@dataclass(frozen=True, slots=True)
class VisitReset:
    points: int
    gifts: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VisitEnded:
    visit: VisitView
    points_balance: int
    points_expired: int  # what the visit's own end_of_visit points left
    reset: VisitReset


@dataclass(frozen=True, slots=True)
class DeviceUsed:
    member_id: int
    device: str
    visit_id: str | None
    points_balance: int
    applied_rules: tuple[str, ...]
    bonus: GrantedBonus | None
    coupons_issued: tuple[CouponView, ...]


@dataclass(frozen=True, slots=True)
class MemberStatement:
    member_id: int
    points_balance: int
    transactions: tuple[StatementLine, ...]
