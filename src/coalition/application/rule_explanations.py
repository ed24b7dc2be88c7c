"""What `explain` answers, typed: a hypothetical purchase run through a rule set, in minor units and points, with
every rule's outcome. `json()` is the API's answer (amounts as decimal strings of the network's currency); the
console's rules page reads the typed figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coalition.domain.errors import RedeemNotAllowed
from coalition.domain.money import format_minor
from coalition.domain.rules.context import LineFacts
from coalition.domain.rules.engine import Evaluation, PointsGrant, RuleOutcome
from coalition.domain.rules.model import GrantGift, IssueCoupon


@dataclass(frozen=True, slots=True)
class ExplainedLine:
    sku: str
    total_minor: int
    discount_minor: int


@dataclass(frozen=True, slots=True)
class Explanation:
    version: int | None
    applied_rules: tuple[str, ...]
    outcomes: tuple[RuleOutcome, ...]
    lines: tuple[ExplainedLine, ...]
    check_minor: int
    discount_minor: int
    discounts_by_rule_minor: tuple[tuple[str, int], ...]
    max_redeemable_points: int
    redeem_points: int
    amount_due_minor: int
    points_to_earn: int
    points_by_rule: tuple[tuple[str, int], ...]  # a rule's points over all its grants
    gifts: tuple[tuple[str, GrantGift], ...]
    coupons: tuple[tuple[str, IssueCoupon], ...]
    tier: str | None
    currency: str

    def json(self) -> dict[str, Any]:
        def money(minor: int) -> str:
            return format_minor(minor, self.currency)

        return {
            "version": self.version,
            "applied": list(self.applied_rules),
            "outcomes": [{"rule": o.code, "applied": o.applied, "reason": o.reason} for o in self.outcomes],
            "lines": [
                {"sku": line.sku, "total": money(line.total_minor), "discount": money(line.discount_minor)}
                for line in self.lines
            ],
            "check": money(self.check_minor),
            "discount": money(self.discount_minor),
            "discounts_by_rule": {code: money(amount) for code, amount in self.discounts_by_rule_minor},
            "max_redeemable_points": self.max_redeemable_points,
            "redeem_points": self.redeem_points,
            "amount_due": money(self.amount_due_minor),
            "points_to_earn": self.points_to_earn,
            "points_by_rule": dict(self.points_by_rule),
            "gifts": [{"rule": code, "gift_type": g.gift_type, "outlets": sorted(g.outlets)} for code, g in self.gifts],
            "coupons": [{"rule": code, "campaign": c.campaign} for code, c in self.coupons],
            "tier": self.tier,
        }


def explanation_of(
    evaluation: Evaluation,
    lines: tuple[LineFacts, ...],
    redeem_points: int,
    currency: str,
    point_value_minor: int,
) -> Explanation:
    """The evaluation with `redeem_points` paying part of it; more than the rules let pay is refused."""
    cap = evaluation.max_redeemable_points(point_value_minor)
    if redeem_points > cap:
        raise RedeemNotAllowed(f"at most {cap} points may be redeemed on this check", field="redeem_points")
    due = evaluation.after_discounts_minor - redeem_points * point_value_minor
    grants = evaluation.points_earned(due, point_value_minor)
    return Explanation(
        version=evaluation.version,
        applied_rules=tuple(evaluation.applied_rules),
        outcomes=tuple(evaluation.outcomes),
        lines=tuple(
            ExplainedLine(line.sku, total, off)
            for line, total, off in zip(
                lines, evaluation.line_totals_minor, evaluation.line_discounts_minor, strict=True
            )
        ),
        check_minor=evaluation.check_minor,
        discount_minor=evaluation.discount_minor,
        discounts_by_rule_minor=tuple(evaluation.discounts_by_rule_minor.items()),
        max_redeemable_points=cap,
        redeem_points=redeem_points,
        amount_due_minor=due,
        points_to_earn=sum(grant.points for grant in grants),
        points_by_rule=_points_by_rule(grants),
        gifts=tuple(evaluation.gifts),
        coupons=tuple(evaluation.coupons),
        tier=evaluation.tier,
        currency=currency,
    )


def _points_by_rule(grants: tuple[PointsGrant, ...]) -> tuple[tuple[str, int], ...]:
    """A rule's points over all its grants: one rule may accrue by several effects (fixed + percent)."""
    by_rule: dict[str, int] = {}
    for grant in grants:
        by_rule[grant.rule] = by_rule.get(grant.rule, 0) + grant.points
    return tuple(by_rule.items())
