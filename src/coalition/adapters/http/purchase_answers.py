"""The answers of the quote, the purchase and the batch as pydantic models, so /openapi.json describes them. The
routes send the application's typed results as JSON (`json()`); these models document that shape (keys that only
some answers carry are optional).

A purchase's answer is stored for replays; `PurchaseAnswer.result()` reads it back as the typed `PurchaseResult`
(the terminal's receipt page), turning its amounts into minor units of its currency here, in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coalition.application.purchases.results import (
    GrantedGift,
    IssuedCoupon,
    PaidBy,
    PointsExpiring,
    PurchaseResult,
    SoldCard,
)
from coalition.domain.money import parse_amount_minor


class TierTermsAnswer(BaseModel):
    from_lifetime_spend: str
    accrual: str = Field(description="percent of the amount paid in money, e.g. '3 %'")
    fixed_points_per_check: int
    redeem_cap: str = Field(description="the largest share of a check points may pay, e.g. '15 %'")
    min_check_for_redeem: str


class PointsExpiringAnswer(BaseModel):
    points: int
    expires_at: str | None = Field(description="ISO 8601")
    visit_id: str | None = Field(default=None, description="the visit whose end sweeps these points")

    def result(self) -> PointsExpiring:
        moment = datetime.fromisoformat(self.expires_at) if self.expires_at is not None else None
        return PointsExpiring(self.points, moment, self.visit_id)


class TenderAnswer(BaseModel):
    kind: str = Field(description="wallet or gift_card")
    amount: str
    label: str = Field(description="which source: the wallet's currency, the gift card")

    def result(self, currency: str) -> PaidBy:
        return PaidBy(self.kind, parse_amount_minor(self.amount, currency), self.label)


class SoldCardAnswer(BaseModel):
    number: str
    amount: str

    def result(self, currency: str) -> SoldCard:
        return SoldCard(self.number, parse_amount_minor(self.amount, currency))


class QuoteAnswer(BaseModel):
    points_balance: int
    max_redeemable_points: int = Field(description="0 where this outlet may not take points")
    redeem_points: int
    points_to_earn: int
    amount: str
    discount: str
    amount_due: str
    currency: str
    points_expiring: list[PointsExpiringAnswer] | None = None
    tier: TierTermsAnswer | None = Field(
        default=None, description="the bonus program's tier, when no rule set priced it"
    )
    rule_set_version: int | None = None
    applied_rules: list[str] | None = None
    tenders: list[TenderAnswer] | None = Field(default=None, description="what each tender would pay")
    to_collect: str | None = Field(default=None, description="what is left to take at the till, with tenders")
    coupons_used: list[str] | None = Field(
        default=None, description="the presented coupons the purchase would use: a rule that applies reads them"
    )


class CouponIssuedAnswer(BaseModel):
    code: str
    campaign: str
    valid_until: str
    uses: int

    def result(self) -> IssuedCoupon:
        return IssuedCoupon(self.code, self.campaign, datetime.fromisoformat(self.valid_until), self.uses)


class GiftGrantedAnswer(BaseModel):
    id: str
    gift_type: str
    name: str
    outlets: list[str]
    valid_until: str

    def result(self) -> GrantedGift:
        valid_until = datetime.fromisoformat(self.valid_until)
        return GrantedGift(self.id, self.gift_type, self.name, tuple(self.outlets), valid_until)


class PurchaseAnswer(BaseModel):
    id: str
    receipt: str
    amount: str
    discount: str
    amount_due: str
    currency: str
    points_redeemed: int
    points_earned: int
    points_balance: int
    occurred_at: str = Field(description="the sale's time (the till's, for an offline sale), ISO 8601")
    rule_set_version: int | None = None
    applied_rules: list[str] | None = None
    tier: str | None = Field(default=None, description="the tier an applied rule moved the member to")
    coupons_used: list[str] | None = None
    coupons_issued: list[CouponIssuedAnswer] | None = None
    gifts_granted: list[GiftGrantedAnswer] | None = None
    points_expiring: list[PointsExpiringAnswer] | None = None
    tenders: list[TenderAnswer] | None = Field(default=None, description="what each tender paid, in order")
    to_collect: str | None = Field(
        default=None, description="what was left to take at the till, with tenders or gift cards sold"
    )
    gift_cards_sold: list[SoldCardAnswer] | None = Field(default=None, description="the cards sold with the goods")

    def result(self) -> PurchaseResult:
        """The typed purchase of a stored answer: the inverse of `PurchaseResult.json()`, exactly."""
        currency = self.currency
        return PurchaseResult(
            id=self.id,
            receipt=self.receipt,
            amount_minor=parse_amount_minor(self.amount, currency),
            discount_minor=parse_amount_minor(self.discount, currency),
            amount_due_minor=parse_amount_minor(self.amount_due, currency),
            currency=currency,
            points_redeemed=self.points_redeemed,
            points_earned=self.points_earned,
            points_balance=self.points_balance,
            occurred_at=datetime.fromisoformat(self.occurred_at),
            rule_set_version=self.rule_set_version,
            applied_rules=tuple(self.applied_rules or ()),
            tier=self.tier,
            coupons_used=tuple(self.coupons_used or ()),
            coupons_issued=tuple(coupon.result() for coupon in self.coupons_issued or ()),
            gifts_granted=tuple(gift.result() for gift in self.gifts_granted or ()),
            points_expiring=tuple(part.result() for part in self.points_expiring or ()),
            tenders=None if self.tenders is None else tuple(tender.result(currency) for tender in self.tenders),
            to_collect_minor=parse_amount_minor(self.to_collect, currency) if self.to_collect is not None else 0,
            gift_cards_sold=tuple(card.result(currency) for card in self.gift_cards_sold or ()),
        )


class BatchItemAnswer(BaseModel):
    index: int
    status: int
    replayed: bool | None = None
    body: PurchaseAnswer | None = Field(default=None, description="the purchase, when recorded or replayed")
    problem: dict[str, Any] | None = Field(default=None, description="why this purchase was refused (problem+json)")


class BatchAnswer(BaseModel):
    results: list[BatchItemAnswer]
    committed: int
    replayed: int
    refused: int
