"""The terms in force for a member at an outlet and a moment: what the till shows before any basket is known.

The rule set in force (published, or the built-in program's: rules/builtin.py) is evaluated on a purchase at this
outlet and local time with an empty check (one line of 0.00), so rules whose conditions need a basket do not apply.
The terms are what the applied rules say for every line of any check:
- accrual: the percents of `accrue_percent` effects on every line, added (each rule's points round down on their
  own, so a check earns at most their sum), and the fixed points of `accrue_fixed` effects per check;
- redemption: the cap and minimum check of the highest-priority applied `set_redemption` (none: points pay nothing);
- discount: the percents off every line of `discount` and `spend_tier_discount` effects, added (the engine adds
  percents of a line's price before discounts).
Effects on chosen products (narrowed `lines`, multipliers, per-unit points, fixed amounts off) depend on the basket
and are not terms of every check; the quote prices them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from coalition.domain.money import BASIS_POINTS_PER_WHOLE
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import (
    AccrueFixed,
    AccruePercent,
    Discount,
    DiscountTarget,
    Per,
    Rule,
    SpendBasis,
    SpendTierDiscount,
    Trigger,
)
from coalition.domain.rules.pricing import evaluate_event


@dataclass(frozen=True, slots=True)
class RuleRef:
    code: str
    name: str  # as the rule set names it; '' if it does not


@dataclass(frozen=True, slots=True)
class TermsInForce:
    """What a member's check earns and what points may pay of it, here and now, and the rules that say so."""

    rule_set_version: int  # builtin.BUILTIN_VERSION (0) for the built-in program
    accrual_bp: int  # of the money paid, as points worth the program's point value
    fixed_points_per_check: int
    redeem_cap_bp: int  # of the check after discounts; 0 when no rule lets points pay
    min_check_for_redeem_minor: int  # of the check before discounts
    discount_bp: int  # off every line
    accrual_rules: tuple[RuleRef, ...] = ()
    redemption_rule: RuleRef | None = None  # None: no rule lets points pay a check here
    discount_rules: tuple[RuleRef, ...] = ()

    @property
    def points_may_pay(self) -> bool:
        return self.redemption_rule is not None and self.redeem_cap_bp > 0


def terms_in_force(
    rule_set: CompiledRuleSet,
    member: MemberFacts,
    *,
    outlet: str,
    partner: str,
    now_utc: datetime,
    local_time: datetime,
) -> TermsInForce:
    """The terms the rule set gives this member at this outlet and moment (`local_time` at the outlet)."""
    evaluation = evaluate_event(
        rule_set, Trigger.PURCHASE, member, outlet=outlet, partner=partner, now_utc=now_utc, local_time=local_time
    )
    rules = {compiled.rule.code: compiled.rule for compiled in rule_set.rules}
    accrual_bp = fixed_points = 0
    accrual_codes: list[str] = []
    for code, effect in evaluation.accruals:
        if isinstance(effect, AccruePercent) and effect.lines.everything:
            accrual_bp += effect.percent_bp
        elif isinstance(effect, AccrueFixed) and effect.per is Per.CHECK and not effect.lines.narrowed:
            fixed_points += effect.points
        else:
            continue
        accrual_codes.append(code)
    discount_bp, discount_codes = _discounts(evaluation, rules, member)
    policy = evaluation.redemption
    redemption_rule = evaluation.redemption_rule
    return TermsInForce(
        rule_set_version=evaluation.version,
        accrual_bp=accrual_bp,
        fixed_points_per_check=fixed_points,
        redeem_cap_bp=policy.cap_bp if policy is not None else 0,
        min_check_for_redeem_minor=policy.min_check_minor if policy is not None else 0,
        discount_bp=min(discount_bp, BASIS_POINTS_PER_WHOLE),  # no line goes below zero
        accrual_rules=_refs(accrual_codes, rules),
        redemption_rule=_refs((redemption_rule,), rules)[0] if redemption_rule is not None else None,
        discount_rules=_refs(discount_codes, rules),
    )


def _discounts(evaluation: Evaluation, rules: dict[str, Rule], member: MemberFacts) -> tuple[int, list[str]]:
    """The percent off every line of the applied rules' discounts, and the rules that give it."""
    total_bp = 0
    codes: list[str] = []
    for code in evaluation.applied_rules:
        share_bp = sum(_percent_off_every_line(effect, member) for effect in rules[code].effects)
        if share_bp:
            total_bp += share_bp
            codes.append(code)
    return total_bp, codes


def _percent_off_every_line(effect: object, member: MemberFacts) -> int:
    if isinstance(effect, Discount):
        every_line = effect.target in (DiscountTarget.CHECK, DiscountTarget.LINES) and effect.lines.everything
        return (effect.percent_bp or 0) if every_line else 0  # an amount off is not a share of every check
    if isinstance(effect, SpendTierDiscount) and effect.lines.everything:
        return effect.percent_for(_spend(effect.basis, member))
    return 0


def _spend(basis: SpendBasis, member: MemberFacts) -> int:
    if basis is SpendBasis.LIFETIME:
        return member.lifetime_spend_minor
    if basis is SpendBasis.CURRENT_PERIOD:
        return member.period_spend_minor
    return member.previous_period_spend_minor


def _refs(codes: Iterable[str], rules: dict[str, Rule]) -> tuple[RuleRef, ...]:
    return tuple(RuleRef(code, rules[code].name) for code in dict.fromkeys(codes))
