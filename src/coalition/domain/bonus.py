"""The bonus program of the seed's small-shop service.

A program has tiers chosen by the member's lifetime spend. Each tier accrues a percent of what the customer
pays in money (never of the part paid with points) plus an optional fixed number of points per check, and caps
the share of a check that points may pay. Points may pay only checks from a minimum amount. One point is worth
`point_value_minor` minor units (100 = one currency unit by default). Accrual rounds down to whole points.
"""

from __future__ import annotations

from dataclasses import dataclass

from coalition.domain.errors import InsufficientPoints, InvalidInput, RedeemNotAllowed
from coalition.domain.ledger import money_asset, points_asset
from coalition.domain.money import (
    BASIS_POINTS_PER_WHOLE,
    format_basis_points,
    format_minor,
    round_down_div,
    share_of_minor_floor,
)
from coalition.domain.records import fast_init
from coalition.domain.rules.model import PointsExpiry


@dataclass(frozen=True, slots=True)
class Tier:
    min_lifetime_spend_minor: int
    accrual_bp: int  # basis points of the paid amount accrued as points (300 = 3 %)
    fixed_points_per_check: int
    redeem_cap_bp: int  # the largest share of a check points may pay (1500 = 15 %)

    def __post_init__(self) -> None:
        if self.min_lifetime_spend_minor < 0 or self.fixed_points_per_check < 0:
            raise InvalidInput("tier thresholds and fixed points cannot be negative", field="tiers")
        if not 0 <= self.accrual_bp <= BASIS_POINTS_PER_WHOLE:
            raise InvalidInput("accrual must be between 0 % and 100 %", field="tiers")
        if not 0 <= self.redeem_cap_bp <= BASIS_POINTS_PER_WHOLE:
            raise InvalidInput("the redemption cap must be between 0 % and 100 %", field="tiers")


@dataclass(frozen=True, slots=True)
class BonusProgram:
    id: int
    code: str
    currency: str
    tiers: tuple[Tier, ...]  # sorted by threshold, the first at 0
    min_check_for_redeem_minor: int = 0
    point_value_minor: int = 100
    points_expire_days: int | None = None

    def __post_init__(self) -> None:
        if not self.tiers or self.tiers[0].min_lifetime_spend_minor != 0:
            raise InvalidInput("a program needs a tier starting at a lifetime spend of 0", field="tiers")
        thresholds = [tier.min_lifetime_spend_minor for tier in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise InvalidInput("tier thresholds must be strictly increasing", field="tiers")
        if self.point_value_minor <= 0:
            raise InvalidInput("a point must be worth more than zero", field="point_value")
        if self.min_check_for_redeem_minor < 0:
            raise InvalidInput("the minimum check cannot be negative", field="min_check_for_redeem")
        if self.points_expire_days is not None and self.points_expire_days <= 0:
            raise InvalidInput("points must live at least one day", field="points_expire_days")

    @property
    def points_asset(self) -> str:
        return points_asset(self.code)

    @property
    def money_asset(self) -> str:
        return money_asset(self.currency)

    def tier_for(self, lifetime_spend_minor: int) -> Tier:
        chosen = self.tiers[0]
        for tier in self.tiers:
            if lifetime_spend_minor >= tier.min_lifetime_spend_minor:
                chosen = tier
        return chosen

    def points_value_minor(self, points: int) -> int:
        return points * self.point_value_minor


def redeem_cap_points(program: BonusProgram, tier: Tier, check_minor: int) -> int:
    """The most points the rules let pay this check, ignoring the member's balance."""
    if check_minor < program.min_check_for_redeem_minor:
        return 0
    return round_down_div(share_of_minor_floor(check_minor, tier.redeem_cap_bp), program.point_value_minor)


def points_earned(program: BonusProgram, tier: Tier, paid_minor: int) -> int:
    """Points accrued on the money part of a check: percent rounded down to whole points, plus the fixed part."""
    percent_points = round_down_div(paid_minor * tier.accrual_bp, BASIS_POINTS_PER_WHOLE * program.point_value_minor)
    return percent_points + tier.fixed_points_per_check


@fast_init
@dataclass(frozen=True, slots=True)
class Quote:
    tier: Tier | None  # None when a published rule set priced the check
    points_balance: int
    max_redeemable_points: int
    redeem_points: int
    check_minor: int
    amount_due_minor: int
    points_to_earn: int
    discount_minor: int = 0
    rule_set_version: int | None = None
    applied_rules: tuple[str, ...] = ()
    new_tier: str | None = None  # the tier an applied rule moves the member to
    uses_coupons: bool = False  # an applied rule read the coupons presented: they are used when it commits
    coupons_to_issue: tuple[tuple[str, int, int], ...] = ()  # (campaign, valid days, uses) of coupons rules issue
    gifts_to_grant: tuple[tuple[str, frozenset[str], int], ...] = ()  # (gift type, outlets, valid days)
    # the points to earn per accrual expiry, in the order the rules granted them; empty: all of `points_to_earn`
    # live as the program says (the bonus program, or rules whose accruals never expire of their own)
    earned_by_expiry: tuple[tuple[PointsExpiry, int], ...] = ()


def quote(
    program: BonusProgram,
    *,
    lifetime_spend_minor: int,
    spendable_points: int,
    check_minor: int,
    redeem_points: int | None,
) -> Quote:
    """Everything the cashier sees before confirming; raises if the asked redemption is not allowed."""
    if check_minor <= 0:
        raise InvalidInput("a check must be greater than zero", field="amount")
    tier = program.tier_for(lifetime_spend_minor)
    cap = redeem_cap_points(program, tier, check_minor)
    max_redeemable = min(max(spendable_points, 0), cap)
    redeem = redeem_points or 0
    if redeem < 0:
        raise InvalidInput("points to redeem cannot be negative", field="redeem_points")
    if redeem:
        _check_redemption(program, tier, check_minor, redeem, cap, spendable_points)
    amount_due = check_minor - program.points_value_minor(redeem)
    return Quote(
        tier=tier,
        points_balance=spendable_points,
        max_redeemable_points=max_redeemable,
        redeem_points=redeem,
        check_minor=check_minor,
        amount_due_minor=amount_due,
        points_to_earn=points_earned(program, tier, amount_due),
    )


def _check_redemption(
    program: BonusProgram, tier: Tier, check_minor: int, redeem: int, cap: int, spendable_points: int
) -> None:
    if check_minor < program.min_check_for_redeem_minor:
        minimum = format_minor(program.min_check_for_redeem_minor, program.currency)
        raise RedeemNotAllowed(f"points pay only checks from {minimum}", field="redeem_points")
    if redeem > cap:
        share = format_basis_points(tier.redeem_cap_bp)
        raise RedeemNotAllowed(f"at most {cap} points ({share} of this check) may be redeemed", field="redeem_points")
    if redeem > spendable_points:
        raise InsufficientPoints(
            f"{redeem} points asked, the member has {max(spendable_points, 0)}", field="redeem_points"
        )
