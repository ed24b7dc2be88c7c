"""Evaluating a published rule set on one event: which rules fire, which apply, and what they give.

Order of application (docs/rules.md):
1. Candidates: the rule's trigger, scope and window match; then its condition holds.
2. Stacking: in an exclusive group only the highest-priority firing rule applies; in a best-of group only the one
   worth most to the customer (discount plus points at their value); stackable rules all apply.
3. Discounts, in priority order: every percent is taken of a line's price before discounts, so percents add
   (3 % + 5 % = 8 %, as the brief's "added to the minimum discount" says); fixed amounts come after, spread over
   their lines in proportion to what is left. No line goes below zero.
4. Points are earned on the money actually paid: the check after discounts less the points redeemed.
Every division rounds down, once per rule, and is named where it happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from coalition.domain.money import BASIS_POINTS_PER_WHOLE, round_down_div
from coalition.domain.rules.context import LineFacts, PurchaseFacts, to_context
from coalition.domain.rules.expressions import Condition, ExpressionError, activation, compile_condition
from coalition.domain.rules.model import (
    AccrueFixed,
    AccruePercent,
    Discount,
    DiscountTarget,
    GrantGift,
    IssueCoupon,
    LineSelector,
    Per,
    PointsExpiry,
    ResetBalances,
    Rule,
    RuleSet,
    SetRedemption,
    SetTier,
    SpendBasis,
    SpendTierDiscount,
    Stacking,
    Trigger,
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    condition: Condition


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    """Conditions compiled once, when a rule set is published; rules kept in application order."""

    version: int
    rules: tuple[CompiledRule, ...]


def compile_rule_set(rule_set: RuleSet, version: int) -> CompiledRuleSet:
    ordered = sorted(rule_set.rules, key=lambda rule: (-rule.priority, rule.code))
    return CompiledRuleSet(version, tuple(CompiledRule(rule, compile_condition(rule.condition)) for rule in ordered))


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """Why a rule did or did not apply: the quote-level explain."""

    code: str
    applied: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PointsGrant:
    rule: str
    points: int
    expiry: PointsExpiry


@dataclass(frozen=True, slots=True)
class Evaluation:
    version: int
    line_totals_minor: tuple[int, ...]
    line_discounts_minor: tuple[int, ...]
    discounts_by_rule_minor: dict[str, int]
    outcomes: tuple[RuleOutcome, ...]
    redemption: SetRedemption | None
    redemption_rule: str | None
    accruals: tuple[tuple[str, AccruePercent | AccrueFixed], ...]
    gifts: tuple[tuple[str, GrantGift], ...] = ()
    coupons: tuple[tuple[str, IssueCoupon], ...] = ()
    tier: str | None = None
    reset: ResetBalances | None = None
    facts: PurchaseFacts | None = field(default=None, repr=False)

    @property
    def check_minor(self) -> int:
        return sum(self.line_totals_minor)

    @property
    def discount_minor(self) -> int:
        return sum(self.line_discounts_minor)

    @property
    def after_discounts_minor(self) -> int:
        return self.check_minor - self.discount_minor

    @property
    def applied_rules(self) -> tuple[str, ...]:
        return tuple(outcome.code for outcome in self.outcomes if outcome.applied)

    def max_redeemable_points(self, point_value_minor: int) -> int:
        """The most points the rules let pay this check after discounts, before the member's balance."""
        policy = self.redemption
        due = self.after_discounts_minor
        if policy is None or due <= 0 or self.check_minor < policy.min_check_minor:
            return 0
        # rounding: the cap share rounds down to the minor unit, then down to whole points
        cap_minor = round_down_div(due * policy.cap_bp, BASIS_POINTS_PER_WHOLE)
        return round_down_div(cap_minor, point_value_minor)

    def points_earned(self, paid_minor: int, point_value_minor: int) -> tuple[PointsGrant, ...]:
        """Points per accrual rule on `paid_minor`, the money paid (after discounts, less points redeemed)."""
        if self.facts is None:
            return ()
        nets = [total - off for total, off in zip(self.line_totals_minor, self.line_discounts_minor, strict=True)]
        net_total = sum(nets)
        grants = []
        for code, effect in self.accruals:
            points = _accrued(effect, self.facts, nets, net_total, paid_minor, point_value_minor)
            if points > 0:
                grants.append(PointsGrant(code, points, effect.expiry))
        return tuple(grants)


def _accrued(
    effect: AccruePercent | AccrueFixed,
    facts: PurchaseFacts,
    nets: list[int],
    net_total: int,
    paid_minor: int,
    point_value_minor: int,
) -> int:
    lines = facts.lines
    if isinstance(effect, AccrueFixed):
        if effect.per is Per.CHECK:
            selected = not effect.lines.narrowed or any(_selected(effect.lines, line) for line in lines)
            return effect.points if selected else 0
        return effect.points * sum(line.whole_units for line in lines if _selected(effect.lines, line))
    if net_total <= 0 or paid_minor <= 0:
        return 0
    weighted = 0  # selected net amounts × multiplier, in minor units × basis points
    for line, net in zip(lines, nets, strict=True):
        if _selected(effect.lines, line):
            weighted += net * _multiplier_bp(effect, line)
    # rounding: one floor per rule — weighted money × share paid in money × percent, down to whole points
    numerator = weighted * paid_minor * effect.percent_bp
    denominator = net_total * BASIS_POINTS_PER_WHOLE * BASIS_POINTS_PER_WHOLE * point_value_minor
    return round_down_div(numerator, denominator)


def _multiplier_bp(effect: AccruePercent, line: LineFacts) -> int:
    factor = BASIS_POINTS_PER_WHOLE
    for multiplier in effect.multipliers:
        if _selected(multiplier.lines, line):
            factor = factor * multiplier.factor_bp // BASIS_POINTS_PER_WHOLE  # rounding: exact for whole percents
    return factor


def _selected(selector: LineSelector, line: LineFacts) -> bool:
    return selector.matches(line.sku, line.category, line.tags)


# --- evaluation -------------------------------------------------------------------------------------------------


def evaluate(rule_set: CompiledRuleSet, facts: PurchaseFacts, trigger: Trigger = Trigger.PURCHASE) -> Evaluation:
    context = activation(to_context(facts))
    outcomes: dict[str, RuleOutcome] = {}
    firing: list[Rule] = []
    for compiled in rule_set.rules:
        reason = _why_not(compiled, facts, trigger, context)
        if reason is None:
            firing.append(compiled.rule)
        else:
            outcomes[compiled.rule.code] = RuleOutcome(compiled.rule.code, False, reason)
    applied = _resolve_stacking(firing, facts, outcomes)
    return _apply(rule_set.version, applied, facts, outcomes, [c.rule.code for c in rule_set.rules])


def _why_not(compiled: CompiledRule, facts: PurchaseFacts, trigger: Trigger, context: Any) -> str | None:
    rule = compiled.rule
    if rule.trigger is not trigger:
        return f"its trigger is {rule.trigger.value}"
    if not rule.scope.matches(facts.partner, facts.outlet):
        return "this outlet is outside its scope"
    if not rule.window.is_open(facts.now_utc, facts.local_time):
        return "outside its time window"
    try:
        if not compiled.condition.holds(context):
            return f"its condition is false: {rule.condition}"
    except (ExpressionError, KeyError, RuntimeError, TypeError, ValueError) as error:
        return f"its condition could not be evaluated: {str(error)[:200]}"
    return None


def _resolve_stacking(firing: list[Rule], facts: PurchaseFacts, outcomes: dict[str, RuleOutcome]) -> list[Rule]:
    applied: list[Rule] = []
    winners: dict[str, Rule] = {}
    for rule in firing:  # already in priority order
        if rule.stacking is Stacking.STACKABLE or rule.group is None:
            applied.append(rule)
            continue
        if rule.group not in winners:
            group_rules = [r for r in firing if r.group == rule.group]
            winners[rule.group] = (
                group_rules[0] if rule.stacking is Stacking.EXCLUSIVE else _best_for_customer(group_rules, facts)
            )
        winner = winners[rule.group]
        if winner is rule:
            applied.append(rule)
        else:
            how = "exclusive" if rule.stacking is Stacking.EXCLUSIVE else "best-of"
            outcomes[rule.code] = RuleOutcome(
                rule.code, False, f"{winner.code} applied instead ({how} group '{rule.group}')"
            )
    return applied


def _best_for_customer(rules: list[Rule], facts: PurchaseFacts) -> Rule:
    """The rule worth most on its own: discount plus points valued at one minor unit each; ties go by priority."""

    def worth(rule: Rule) -> int:
        alone = _apply(0, [rule], facts, {}, [rule.code])
        points = sum(g.points for g in alone.points_earned(alone.after_discounts_minor, 1))
        return alone.discount_minor + points

    return max(rules, key=worth)  # max keeps the first (highest priority) among equals


def _apply(
    version: int, applied: list[Rule], facts: PurchaseFacts, outcomes: dict[str, RuleOutcome], order: list[str]
) -> Evaluation:
    totals = [line.total_minor for line in facts.lines]
    discounts = [0] * len(totals)
    by_rule: dict[str, int] = {}
    percent_effects: list[tuple[str, LineSelector, DiscountTarget, int, int | None]] = []
    amount_effects: list[tuple[str, Discount]] = []
    redemption: SetRedemption | None = None
    redemption_rule: str | None = None
    accruals: list[tuple[str, AccruePercent | AccrueFixed]] = []
    gifts, coupons = [], []
    tier: str | None = None
    reset: ResetBalances | None = None
    for rule in applied:
        outcomes[rule.code] = RuleOutcome(rule.code, True, "applied")
        for effect in rule.effects:
            match effect:
                case Discount(percent_bp=int() as share):
                    percent_effects.append((rule.code, effect.lines, effect.target, share, effect.max_minor))
                case Discount():
                    amount_effects.append((rule.code, effect))
                case SpendTierDiscount():
                    share = effect.percent_for(_spend(effect.basis, facts))
                    percent_effects.append((rule.code, effect.lines, DiscountTarget.LINES, share, None))
                case SetRedemption() if redemption is None:  # the highest-priority applied rule sets it
                    redemption, redemption_rule = effect, rule.code
                case AccruePercent() | AccrueFixed():
                    accruals.append((rule.code, effect))
                case GrantGift():
                    gifts.append((rule.code, effect))
                case IssueCoupon():
                    coupons.append((rule.code, effect))
                case SetTier() if tier is None:
                    tier = effect.tier
                case ResetBalances():
                    reset = effect
    for code, selector, target, share, cap in percent_effects:
        _take(by_rule, code, discounts, totals, _percent_off(facts, totals, selector, target, share), cap)
    for code, effect in amount_effects:
        remaining = [total - off for total, off in zip(totals, discounts, strict=True)]
        _take(by_rule, code, discounts, totals, _amount_off(facts, remaining, effect), effect.max_minor)
    return Evaluation(
        version=version,
        line_totals_minor=tuple(totals),
        line_discounts_minor=tuple(discounts),
        discounts_by_rule_minor=by_rule,
        outcomes=tuple(outcomes[code] for code in order if code in outcomes),
        redemption=redemption,
        redemption_rule=redemption_rule,
        accruals=tuple(accruals),
        gifts=tuple(gifts),
        coupons=tuple(coupons),
        tier=tier,
        reset=reset,
        facts=facts,
    )


def _spend(basis: SpendBasis, facts: PurchaseFacts) -> int:
    member = facts.member
    if basis is SpendBasis.LIFETIME:
        return member.lifetime_spend_minor
    if basis is SpendBasis.CURRENT_PERIOD:
        return member.period_spend_minor
    return member.previous_period_spend_minor


def _take(
    by_rule: dict[str, int],
    code: str,
    discounts: list[int],
    totals: list[int],
    wanted: list[int],
    cap_minor: int | None,
) -> None:
    """Add a rule's per-line discounts: each clamped so no line goes below zero, then the rule's maximum applied."""
    granted = [min(amount, totals[index] - discounts[index]) for index, amount in enumerate(wanted)]
    if cap_minor is not None and sum(granted) > cap_minor:
        granted = spread(cap_minor, granted)
    for index, amount in enumerate(granted):
        discounts[index] += amount
    if sum(granted):
        by_rule[code] = by_rule.get(code, 0) + sum(granted)


def _target_lines(facts: PurchaseFacts, selector: LineSelector, target: DiscountTarget) -> list[int]:
    chosen = [index for index, line in enumerate(facts.lines) if _selected(selector, line)]
    if target is DiscountTarget.CHEAPEST_LINE and chosen:
        return [min(chosen, key=lambda index: (facts.lines[index].total_minor, index))]
    return chosen


def _percent_off(
    facts: PurchaseFacts,
    totals: list[int],
    selector: LineSelector,
    target: DiscountTarget,
    share_bp: int,
) -> list[int]:
    wanted = [0] * len(totals)
    for index in _target_lines(facts, selector, target):
        # rounding: each line's percent rounds down to the minor unit
        wanted[index] = round_down_div(totals[index] * share_bp, BASIS_POINTS_PER_WHOLE)
    return wanted


def _amount_off(facts: PurchaseFacts, remaining: list[int], effect: Discount) -> list[int]:
    amount = effect.amount_minor or 0
    lines = _target_lines(facts, effect.lines, effect.target)
    wanted = [0] * len(remaining)
    if effect.target is DiscountTarget.LINES:
        for index in lines:
            wanted[index] = amount
        return wanted
    weights = [remaining[index] for index in lines]
    for index, share in zip(lines, spread(min(amount, sum(weights)), weights), strict=True):
        wanted[index] = share
    return wanted


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights`, exactly: cumulative shares rounded down, so the parts sum to it."""
    whole = sum(weights)
    if amount <= 0 or whole <= 0:
        return [0] * len(weights)
    parts, before, running = [], 0, 0
    for weight in weights:
        running += weight
        # rounding: cumulative floor — each part is floor(amount × running / whole) minus the parts before it
        share_until_here = round_down_div(amount * running, whole)
        parts.append(share_until_here - before)
        before = share_until_here
    return parts
