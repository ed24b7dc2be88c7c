"""The answers of the quote, the purchase and the batch as pydantic models, so /openapi.json describes them. The
routes send the application's typed results as JSON (`json()`); these models document that shape (keys that only
some answers carry are optional)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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


class CouponIssuedAnswer(BaseModel):
    code: str
    campaign: str
    valid_until: str
    uses: int


class GiftGrantedAnswer(BaseModel):
    id: str
    gift_type: str
    name: str
    outlets: list[str]
    valid_until: str


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
