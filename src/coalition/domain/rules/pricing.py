"""A purchase priced by a published rule set: the quote the cashier sees and the purchase records.

The order is the engine's (docs/rules.md): discounts, then the redemption cap on what is due after them, then points
on the money paid. A redemption the rules or the balance cannot cover is refused, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.bonus import Quote
from coalition.domain.errors import InsufficientPoints, InvalidInput, RedeemNotAllowed
from coalition.domain.money import format_basis_points, format_minor
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation, PointsGrant, evaluate
from coalition.domain.rules.model import AccrueFixed, AccruePercent, PointsExpiry, Trigger


def quote_from_rules(
    evaluation: Evaluation,
    *,
    point_value_minor: int,
    spendable_points: int,
    redeem_points: int | None,
    currency: str,
) -> Quote:
    check_minor = evaluation.check_minor
    if check_minor <= 0:
        raise InvalidInput("a check must be greater than zero", field="amount")
    redeem = redeem_points or 0
    if redeem < 0:
        raise InvalidInput("points to redeem cannot be negative", field="redeem_points")
    cap = evaluation.max_redeemable_points(point_value_minor)
    if redeem:
        policy = evaluation.redemption
        if policy is None:
            raise RedeemNotAllowed("no rule lets points pay this check", field="redeem_points")
        if check_minor < policy.min_check_minor:
            minimum = format_minor(policy.min_check_minor, currency)
            raise RedeemNotAllowed(f"points pay only checks from {minimum}", field="redeem_points")
        if redeem > cap:
            raise RedeemNotAllowed(_over_cap(cap, policy.cap_bp, evaluation.discount_minor), field="redeem_points")
        if redeem > spendable_points:
            raise InsufficientPoints(
                f"{redeem} points asked, the member has {max(spendable_points, 0)}", field="redeem_points"
            )
    amount_due = evaluation.after_discounts_minor - redeem * point_value_minor
    grants = evaluation.points_earned(amount_due, point_value_minor)
    return Quote(
        tier=None,
        points_balance=spendable_points,
        max_redeemable_points=min(max(spendable_points, 0), cap),
        redeem_points=redeem,
        check_minor=check_minor,
        amount_due_minor=amount_due,
        points_to_earn=sum(grant.points for grant in grants),
        discount_minor=evaluation.discount_minor,
        rule_set_version=evaluation.version,
        applied_rules=evaluation.applied_rules,
        new_tier=evaluation.tier,
        uses_coupons=evaluation.reads_coupons,
        coupons_to_issue=tuple((effect.campaign, effect.valid_days, effect.uses) for _, effect in evaluation.coupons),
        gifts_to_grant=tuple((effect.gift_type, effect.outlets, effect.valid_days) for _, effect in evaluation.gifts),
        earned_by_expiry=points_by_expiry(grants),
    )


def _over_cap(cap: int, cap_bp: int, discount_minor: int) -> str:
    """The program's words for a check without discounts (the built-in rule set's refusals read as before); with a
    discount the share is of what is left, so the figure alone is said."""
    if discount_minor:
        return f"at most {cap} points may be redeemed on this check"
    return f"at most {cap} points ({format_basis_points(cap_bp)} of this check) may be redeemed"


def points_by_expiry(grants: tuple[PointsGrant, ...]) -> tuple[tuple[PointsExpiry, int], ...]:
    """The grants' points summed per expiry, in the order of each expiry's first grant."""
    totals: dict[PointsExpiry, int] = {}
    for grant in grants:
        totals[grant.expiry] = totals.get(grant.expiry, 0) + grant.points
    return tuple(totals.items())


@dataclass(frozen=True, slots=True)
class EventGrants:
    """The fixed points the rules of an event grant, the rules that grant them, and the points per expiry."""

    points: int
    rules: tuple[str, ...]
    by_expiry: tuple[tuple[PointsExpiry, int], ...]


def event_points(
    rule_set: CompiledRuleSet,
    trigger: Trigger,
    member: MemberFacts,
    *,
    outlet: str,
    partner: str,
    now_utc: datetime,
    local_time: datetime,
    point_value_minor: int,
    total_minor: int = 0,
) -> EventGrants:
    """The points the rules grant on an event without a basket (enrolment, birthday, visit start, a refund of
    `total_minor`): with no money paid, fixed points per check are what they can give."""
    evaluation = evaluate_event(
        rule_set,
        trigger,
        member,
        outlet=outlet,
        partner=partner,
        now_utc=now_utc,
        local_time=local_time,
        total_minor=total_minor,
    )
    return event_grants(evaluation, point_value_minor)


def event_grants(evaluation: Evaluation, point_value_minor: int) -> EventGrants:
    """The fixed points an event's evaluation grants."""
    grants = evaluation.points_earned(0, point_value_minor)
    return EventGrants(
        sum(grant.points for grant in grants),
        tuple(dict.fromkeys(grant.rule for grant in grants)),
        points_by_expiry(grants),
    )


def evaluate_event(
    rule_set: CompiledRuleSet,
    trigger: Trigger,
    member: MemberFacts,
    *,
    outlet: str,
    partner: str,
    now_utc: datetime,
    local_time: datetime,
    total_minor: int = 0,
) -> Evaluation:
    """The rule set evaluated on an event without a basket of goods: one line of `total_minor` (a refund's amount;
    0 for enrolment, birthdays and visits, so conditions on the basket's total are false)."""
    event = PurchaseFacts(
        lines=(LineFacts("", total_minor),),
        outlet=outlet,
        partner=partner,
        member=member,
        now_utc=now_utc,
        local_time=local_time,
    )
    return evaluate(rule_set, event, trigger)


def most_lots_per_purchase(rule_set: CompiledRuleSet | None) -> int:
    """The most lots one purchase's points can go to: one per expiry the purchase rules' accruals name."""
    if rule_set is None:
        return 1
    expiries = {
        effect.expiry
        for compiled in rule_set.rules
        if compiled.rule.trigger is Trigger.PURCHASE
        for effect in compiled.rule.effects
        if isinstance(effect, AccruePercent | AccrueFixed)
    }
    return max(1, len(expiries))
