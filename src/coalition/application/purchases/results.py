"""Typed answers of the quote and the purchase, in minor units, points and basis points; `json()` is the wire shape
(amounts as decimal strings of the network's currency), which the HTTP layer sends and a purchase stores for replays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.checkout import Decision
from coalition.domain.coupons import NewCoupon
from coalition.domain.gifts import Gift
from coalition.domain.money import format_basis_points, format_minor
from coalition.domain.purchase import NewLot, expiring_lots
from coalition.domain.records import fast_init
from coalition.domain.tenders import TenderApplied


@dataclass(frozen=True, slots=True)
class TierTerms:
    """The bonus program's tier that priced a quote (no rule set in force)."""

    from_lifetime_spend_minor: int
    accrual_bp: int
    fixed_points_per_check: int
    redeem_cap_bp: int
    min_check_for_redeem_minor: int

    @classmethod
    def of(cls, program: BonusProgram, tier: Tier) -> TierTerms:
        return cls(
            tier.min_lifetime_spend_minor,
            tier.accrual_bp,
            tier.fixed_points_per_check,
            tier.redeem_cap_bp,
            program.min_check_for_redeem_minor,
        )

    def json(self, currency: str) -> dict[str, Any]:
        return {
            "from_lifetime_spend": format_minor(self.from_lifetime_spend_minor, currency),
            "accrual": format_basis_points(self.accrual_bp),
            "fixed_points_per_check": self.fixed_points_per_check,
            "redeem_cap": format_basis_points(self.redeem_cap_bp),
            "min_check_for_redeem": format_minor(self.min_check_for_redeem_minor, currency),
        }


@fast_init
@dataclass(frozen=True, slots=True)
class PointsExpiring:
    points: int
    expires_at: datetime | None
    visit_id: str | None = None  # the visit whose end sweeps them

    def json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "points": self.points,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }
        return answer | ({"visit_id": self.visit_id} if self.visit_id is not None else {})


def points_expiring(new_lots: tuple[NewLot, ...]) -> tuple[PointsExpiring, ...]:
    """When the points a purchase earns expire (only those that do): the lots they go to, soonest first."""
    return tuple(PointsExpiring(lot.points, lot.expires_at, lot.ends_with_visit_id) for lot in expiring_lots(new_lots))


@dataclass(frozen=True, slots=True)
class PaidBy:
    """What a tender paid of a purchase (its kind, amount and label: a wallet's currency, a gift card's number)."""

    kind: str
    amount_minor: int
    label: str = ""

    @classmethod
    def of(cls, tender: TenderApplied) -> PaidBy:
        return cls(tender.kind.value, tender.amount_minor, tender.label)

    def json(self, currency: str) -> dict[str, Any]:
        return {"kind": self.kind, "amount": format_minor(self.amount_minor, currency), "label": self.label}


@dataclass(frozen=True, slots=True)
class SoldCard:
    """A gift card sold with the purchase (created and activated in its unit of work)."""

    number: str
    amount_minor: int

    def json(self, currency: str) -> dict[str, Any]:
        return {"number": self.number, "amount": format_minor(self.amount_minor, currency)}


def _tenders_json(tenders: tuple[PaidBy, ...] | None, to_collect_minor: int, currency: str) -> dict[str, Any]:
    """Only for a request with tenders: what each paid and what is left to collect at the till."""
    if tenders is None:
        return {}
    return {"tenders": [t.json(currency) for t in tenders], "to_collect": format_minor(to_collect_minor, currency)}


def paid_by(decision: Decision, tendered: bool) -> tuple[PaidBy, ...] | None:
    return tuple(PaidBy.of(tender) for tender in decision.tenders) if tendered else None


def _expiring_json(expiring: tuple[PointsExpiring, ...]) -> dict[str, Any]:
    return {"points_expiring": [part.json() for part in expiring]} if expiring else {}


@dataclass(frozen=True, slots=True)
class QuoteResult:
    points_balance: int
    max_redeemable_points: int
    redeem_points: int
    points_to_earn: int
    amount_minor: int
    discount_minor: int
    amount_due_minor: int
    currency: str
    points_expiring: tuple[PointsExpiring, ...] = ()
    tier: TierTerms | None = None  # the program's tier, when no rule set priced it
    rule_set_version: int | None = None
    applied_rules: tuple[str, ...] = ()
    tenders: tuple[PaidBy, ...] | None = None  # None: the request named no tenders
    to_collect_minor: int = 0
    coupons_used: tuple[str, ...] = ()  # the presented coupons the purchase would use (a rule applied read them)

    @classmethod
    def of(cls, program: BonusProgram, decision: Decision, *, tendered: bool = False) -> QuoteResult:
        q = decision.quote
        return cls(
            points_balance=q.points_balance,
            max_redeemable_points=q.max_redeemable_points,
            redeem_points=q.redeem_points,
            points_to_earn=q.points_to_earn,
            amount_minor=q.check_minor,
            discount_minor=q.discount_minor,
            amount_due_minor=q.amount_due_minor,
            currency=program.currency,
            points_expiring=points_expiring(decision.new_lots),
            tier=TierTerms.of(program, q.tier) if q.tier is not None else None,
            rule_set_version=q.rule_set_version,
            applied_rules=q.applied_rules,
            tenders=paid_by(decision, tendered),
            to_collect_minor=decision.to_collect_minor,
            coupons_used=tuple(coupon.code for coupon in decision.coupons_used),
        )

    def json(self) -> dict[str, Any]:
        currency = self.currency
        answer: dict[str, Any] = {
            "points_balance": self.points_balance,
            "max_redeemable_points": self.max_redeemable_points,
            "redeem_points": self.redeem_points,
            "points_to_earn": self.points_to_earn,
            "amount": format_minor(self.amount_minor, currency),
            "discount": format_minor(self.discount_minor, currency),
            "amount_due": format_minor(self.amount_due_minor, currency),
            "currency": currency,
        } | _expiring_json(self.points_expiring)
        if self.tier is not None:
            answer["tier"] = self.tier.json(currency)
        if self.rule_set_version is not None:
            answer |= {"rule_set_version": self.rule_set_version, "applied_rules": list(self.applied_rules)}
        if self.coupons_used:
            answer["coupons_used"] = list(self.coupons_used)
        return answer | _tenders_json(self.tenders, self.to_collect_minor, currency)


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    code: str
    campaign: str
    valid_until: datetime
    uses: int

    @classmethod
    def of(cls, coupon: NewCoupon) -> IssuedCoupon:
        return cls(coupon.code, coupon.campaign, coupon.valid_until, coupon.max_uses)

    def json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "campaign": self.campaign,
            "valid_until": self.valid_until.isoformat(),
            "uses": self.uses,
        }


@dataclass(frozen=True, slots=True)
class GrantedGift:
    id: str
    gift_type: str
    name: str
    outlets: tuple[str, ...]
    valid_until: datetime

    @classmethod
    def of(cls, gift: Gift) -> GrantedGift:
        return cls(gift.id, gift.gift_type.code, gift.gift_type.name, tuple(sorted(gift.outlets)), gift.valid_until)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "gift_type": self.gift_type,
            "name": self.name,
            "outlets": list(self.outlets),
            "valid_until": self.valid_until.isoformat(),
        }


@fast_init
@dataclass(frozen=True, slots=True)
class PurchaseResult:
    """A committed purchase; `json()` is stored with it, so a retry replays the same answer."""

    id: str
    receipt: str
    amount_minor: int
    discount_minor: int
    amount_due_minor: int
    currency: str
    points_redeemed: int
    points_earned: int
    points_balance: int
    occurred_at: datetime
    rule_set_version: int | None = None
    applied_rules: tuple[str, ...] = ()
    tier: str | None = None  # the tier a rule moved the member to
    coupons_used: tuple[str, ...] = ()
    coupons_issued: tuple[IssuedCoupon, ...] = ()
    gifts_granted: tuple[GrantedGift, ...] = ()
    points_expiring: tuple[PointsExpiring, ...] = ()
    tenders: tuple[PaidBy, ...] | None = None  # None: the request named no tenders
    to_collect_minor: int = 0  # with gift cards sold: their amounts too
    gift_cards_sold: tuple[SoldCard, ...] = ()

    def json(self) -> dict[str, Any]:
        currency = self.currency
        answer: dict[str, Any] = {
            "id": self.id,
            "receipt": self.receipt,
            "amount": format_minor(self.amount_minor, currency),
            "discount": format_minor(self.discount_minor, currency),
            "amount_due": format_minor(self.amount_due_minor, currency),
            "currency": currency,
            "points_redeemed": self.points_redeemed,
            "points_earned": self.points_earned,
            "points_balance": self.points_balance,
            "occurred_at": self.occurred_at.isoformat(),
        }
        if self.rule_set_version is not None:
            answer |= {"rule_set_version": self.rule_set_version, "applied_rules": list(self.applied_rules)}
        if self.tier is not None:
            answer["tier"] = self.tier
        if self.coupons_used:
            answer["coupons_used"] = list(self.coupons_used)
        if self.coupons_issued:
            answer["coupons_issued"] = [coupon.json() for coupon in self.coupons_issued]
        if self.gifts_granted:
            answer["gifts_granted"] = [gift.json() for gift in self.gifts_granted]
        answer |= _expiring_json(self.points_expiring) | _tenders_json(self.tenders, self.to_collect_minor, currency)
        if self.gift_cards_sold:
            answer["gift_cards_sold"] = [card.json(currency) for card in self.gift_cards_sold]
            answer["to_collect"] = format_minor(self.to_collect_minor, currency)
        return answer
