"""The built-in bonus program (domain.bonus) written as a rule set, so that one engine prices every purchase.

Each tier of the program becomes one purchase rule, `tier-1` … `tier-N` in the order of their thresholds:
- its condition bounds the member's lifetime spend before the purchase: from the tier's threshold (the first tier
  has no lower bound, as `BonusProgram.tier_for`) up to, not including, the next tier's threshold;
- its effects are the tier's accrual percent, its fixed points per check (when it has any) and a redemption cap of
  the tier's share of the check, from the program's minimum check.
Exactly one tier rule fires for any lifetime spend. The document goes through the same parser and compiler as a
published set (docs/rules.md), so what the built-in program gives is what `evaluate` says.

Rounding is the program's, step for step: the cap share of the check rounds down to the minor unit and then down to
whole points (`Evaluation.max_redeemable_points`, `bonus.redeem_cap_points`); a tier's accrual rounds down once to
whole points on the money paid (`engine._accrued` with every line at ×1 is `paid × percent / (10,000 × point value)`,
`bonus.points_earned`); fixed points are added whole. tests/domain/test_builtin_rule_set.py proves the quotes equal.

Because they are equal, a check with no published set is priced by `builtin_quote`, the built-in set compiled down to
the program's arithmetic (pricing a check took 27 µs through `evaluate`, 2.7 µs so, on every purchase and quote): the
hypothesis test compares it with the engine's answer (`quote_by_builtin_rules`) field by field and refusal by
refusal, so the engine stays the definition and this its compiled form.
"""

from __future__ import annotations

import functools
from typing import Any

from coalition.domain.bonus import BonusProgram, Quote, Tier, quote
from coalition.domain.money import format_minor
from coalition.domain.rules.context import PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, compile_rule_set, evaluate
from coalition.domain.rules.parsing import format_percent, parse_rule_set
from coalition.domain.rules.pricing import quote_from_rules

# The version the built-in rule set carries: published versions start at 1, so 0 names no stored set.
BUILTIN_VERSION = 0
_LIFETIME = "member.lifetime_spend_minor"


def tier_code(index: int) -> str:
    """The code of the rule of the program's tier at `index` (0 = the first tier)."""
    return f"tier-{index + 1}"


def builtin_rule_document(program: BonusProgram) -> dict[str, Any]:
    """The program's terms as a rule-set document (the API's JSON shape), one rule per tier."""
    return {"rules": [_tier_rule(program, index) for index in range(len(program.tiers))]}


def _tier_rule(program: BonusProgram, index: int) -> dict[str, Any]:
    tier = program.tiers[index]
    bounds = []
    if index > 0:
        bounds.append(f"{_LIFETIME} >= {tier.min_lifetime_spend_minor}")
    if index + 1 < len(program.tiers):
        bounds.append(f"{_LIFETIME} < {program.tiers[index + 1].min_lifetime_spend_minor}")
    effects: list[dict[str, Any]] = [{"accrue_percent": {"percent": format_percent(tier.accrual_bp)}}]
    if tier.fixed_points_per_check:
        effects.append({"accrue_fixed": {"points": tier.fixed_points_per_check, "per": "check"}})
    effects.append(
        {
            "set_redemption": {
                "cap_percent": format_percent(tier.redeem_cap_bp),
                "min_check": format_minor(program.min_check_for_redeem_minor, program.currency),
            }
        }
    )
    threshold = format_minor(tier.min_lifetime_spend_minor, program.currency)
    return {
        "code": tier_code(index),
        "name": f"Tier {index + 1}: from a lifetime spend of {threshold} {program.currency}",
        "condition": " && ".join(bounds),
        "effects": effects,
    }


@functools.lru_cache(maxsize=256)
def builtin_rule_set(program: BonusProgram) -> CompiledRuleSet:
    """The program compiled as a rule set, once per program value (a changed program is another key)."""
    return compile_rule_set(parse_rule_set(builtin_rule_document(program), program.currency), BUILTIN_VERSION)


def builtin_tier(program: BonusProgram, applied_rules: tuple[str, ...]) -> Tier | None:
    """The program's tier whose rule is among `applied_rules` (None if none is)."""
    for index, tier in enumerate(program.tiers):
        if tier_code(index) in applied_rules:
            return tier
    return None


def as_builtin_quote(program: BonusProgram, priced: Quote) -> Quote:
    """A quote the built-in rule set priced, labelled as the program's own: its tier, no rule-set version or rules
    (nothing published priced it), and all its points living as the program says (no accrual has its own expiry).
    The built-in rules issue no coupons or gifts and set no tier, so those keep their defaults. Built field by field,
    as `bonus.quote` builds it: `dataclasses.replace` costs about twice as much, on every purchase."""
    return Quote(
        tier=builtin_tier(program, priced.applied_rules),
        points_balance=priced.points_balance,
        max_redeemable_points=priced.max_redeemable_points,
        redeem_points=priced.redeem_points,
        check_minor=priced.check_minor,
        amount_due_minor=priced.amount_due_minor,
        points_to_earn=priced.points_to_earn,
        discount_minor=priced.discount_minor,
    )


def builtin_quote(
    program: BonusProgram,
    *,
    lifetime_spend_minor: int,
    spendable_points: int,
    check_minor: int,
    redeem_points: int | None,
) -> Quote:
    """The built-in rule set's quote, compiled: its rules read only the lifetime spend and give no discounts, so
    they price as the program's tiers do (the same quote and refusals as `quote_by_builtin_rules`)."""
    return quote(
        program,
        lifetime_spend_minor=lifetime_spend_minor,
        spendable_points=spendable_points,
        check_minor=check_minor,
        redeem_points=redeem_points,
    )


def quote_by_builtin_rules(
    program: BonusProgram, facts: PurchaseFacts, *, spendable_points: int, redeem_points: int | None
) -> Quote:
    """The built-in rule set evaluated by the engine, labelled as the program's: what `builtin_quote` must equal."""
    priced = quote_from_rules(
        evaluate(builtin_rule_set(program), facts),
        point_value_minor=program.point_value_minor,
        spendable_points=spendable_points,
        redeem_points=redeem_points,
        currency=program.currency,
    )
    return as_builtin_quote(program, priced)


def quote_in_force(
    rules: CompiledRuleSet | None,
    program: BonusProgram,
    facts: PurchaseFacts,
    *,
    spendable_points: int,
    redeem_points: int | None,
) -> Quote:
    """The quote of the rule set in force: the published one, else the program's own rules (compiled)."""
    if rules is None:
        return builtin_quote(
            program,
            lifetime_spend_minor=facts.member.lifetime_spend_minor,
            spendable_points=spendable_points,
            check_minor=facts.total_minor,
            redeem_points=redeem_points,
        )
    return quote_from_rules(
        evaluate(rules, facts),
        point_value_minor=program.point_value_minor,
        spendable_points=spendable_points,
        redeem_points=redeem_points,
        currency=program.currency,
    )
