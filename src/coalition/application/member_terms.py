"""The terms in force in a till's member summary (GET /v1/members/{identifier}, the terminal's member panel).

The rule set in force prices the member's next check — the published one, else the built-in program's own rules
(domain.rules.builtin) — so the summary shows what that set gives the member at this outlet, now: the `tier` object
keeps its keys (the program's threshold only for the built-in set), and `terms` says it in basis points with the
rules that give it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from coalition.application.ports import TerminalContext
from coalition.domain.bonus import BonusProgram
from coalition.domain.money import format_basis_points, format_minor
from coalition.domain.rules.builtin import BUILTIN_VERSION, builtin_rule_set, builtin_tier
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.terms import RuleRef, TermsInForce, terms_in_force


def member_terms(
    rules: CompiledRuleSet | None, program: BonusProgram, member: MemberFacts, ctx: TerminalContext, now: datetime
) -> TermsInForce:
    """The terms the rule set in force gives the member at the terminal's outlet, at its local time."""
    return terms_in_force(
        rules or builtin_rule_set(program),
        member,
        outlet=ctx.outlet_name,
        partner=ctx.partner_name,
        now_utc=now,
        local_time=now.astimezone(ZoneInfo(ctx.timezone)),
    )


def is_builtin(terms: TermsInForce) -> bool:
    return terms.rule_set_version == BUILTIN_VERSION


def tier_json(program: BonusProgram, terms: TermsInForce) -> dict[str, Any]:
    """The summary's `tier` object, as before, with the terms in force; `from_lifetime_spend` is the program's tier
    threshold under the built-in set, null under a published one."""
    codes = tuple(rule.code for rule in (*terms.accrual_rules, *filter(None, (terms.redemption_rule,))))
    tier = builtin_tier(program, codes) if is_builtin(terms) else None
    return {
        "from_lifetime_spend": format_minor(tier.min_lifetime_spend_minor, program.currency) if tier else None,
        "accrual": format_basis_points(terms.accrual_bp),
        "fixed_points_per_check": terms.fixed_points_per_check,
        "redeem_cap": format_basis_points(terms.redeem_cap_bp),
        "min_check_for_redeem": format_minor(terms.min_check_for_redeem_minor, program.currency),
    }


def terms_json(program: BonusProgram, terms: TermsInForce) -> dict[str, Any]:
    """The summary's `terms` object: figures in basis points, the rules that give them, and the published version
    (null: the built-in program)."""
    return {
        "rule_set_version": None if is_builtin(terms) else terms.rule_set_version,
        "accrual_bp": terms.accrual_bp,
        "fixed_points_per_check": terms.fixed_points_per_check,
        "redeem_cap_bp": terms.redeem_cap_bp,
        "min_check_for_redeem": format_minor(terms.min_check_for_redeem_minor, program.currency),
        "discount_bp": terms.discount_bp,
        "accrual_rules": [_rule_json(rule) for rule in terms.accrual_rules],
        "redemption_rule": _rule_json(terms.redemption_rule) if terms.redemption_rule is not None else None,
        "discount_rules": [_rule_json(rule) for rule in terms.discount_rules],
    }


def _rule_json(rule: RuleRef) -> dict[str, str]:
    return {"code": rule.code, "name": rule.name}
