"""The terms in force that the till's member summary shows: the built-in program's tier terms, or what a published
rule set gives the member at this outlet and moment (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.domain.bonus import BonusProgram
from coalition.domain.rules.builtin import BUILTIN_VERSION, builtin_rule_set
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.terms import RuleRef, TermsInForce, terms_in_force
from tests.domain.rules.support import rules
from tests.domain.support import small_shop
from tests.domain.test_builtin_rule_set import programs

MOSCOW = ZoneInfo("Europe/Moscow")


def terms(
    rule_set: CompiledRuleSet,
    *,
    lifetime_minor: int = 0,
    tier: str = "",
    local: datetime = datetime(2026, 12, 7, 14, 0, tzinfo=MOSCOW),
    partner: str = "Shop",
) -> TermsInForce:
    member = MemberFacts(tier=tier, lifetime_spend_minor=lifetime_minor)
    return terms_in_force(
        rule_set, member, outlet=f"{partner} till", partner=partner, now_utc=local.astimezone(UTC), local_time=local
    )


# --- the built-in program: its tier's terms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime_minor", "index"), [(0, 0), (9_999_99, 0), (10_000_00, 1), (50_000_00, 1), (50_000_01, 2)]
)
def test_the_built_in_set_shows_the_members_tier_of_the_program(lifetime_minor: int, index: int) -> None:
    program = small_shop()
    tier = program.tiers[index]
    shown = terms(builtin_rule_set(program), lifetime_minor=lifetime_minor)
    code = f"tier-{index + 1}"
    assert shown == TermsInForce(
        rule_set_version=BUILTIN_VERSION,
        accrual_bp=tier.accrual_bp,
        fixed_points_per_check=0,
        redeem_cap_bp=tier.redeem_cap_bp,
        min_check_for_redeem_minor=1_500_00,
        discount_bp=0,
        accrual_rules=(RuleRef(code, shown.accrual_rules[0].name),),
        redemption_rule=RuleRef(code, shown.accrual_rules[0].name),
    )
    assert shown.accrual_rules[0].name.startswith(f"Tier {index + 1}: from a lifetime spend of ")


@settings(max_examples=100, deadline=None)
@given(program=programs(), data=st.data())
def test_for_any_program_the_terms_are_the_tier_of_the_lifetime_spend(
    program: BonusProgram, data: st.DataObject
) -> None:
    bound = data.draw(st.sampled_from([tier.min_lifetime_spend_minor for tier in program.tiers]))
    lifetime = max(0, bound + data.draw(st.sampled_from([-1, 0, 1])))
    tier = program.tier_for(lifetime)
    shown = terms(builtin_rule_set(program), lifetime_minor=lifetime)
    assert (
        shown.accrual_bp,
        shown.fixed_points_per_check,
        shown.redeem_cap_bp,
        shown.min_check_for_redeem_minor,
        shown.discount_bp,
    ) == (tier.accrual_bp, tier.fixed_points_per_check, tier.redeem_cap_bp, program.min_check_for_redeem_minor, 0)
    assert shown.redemption_rule is not None
    assert shown.redemption_rule.code == f"tier-{program.tiers.index(tier) + 1}"


# --- a published set: a morning discount and tiers -------------------------------------------------------------

PUBLISHED = """
rules:
  - code: base
    name: Everyone
    effects:
      - accrue_percent: {percent: "3"}
      - set_redemption: {cap_percent: "20", min_check: "500.00"}
  - code: gold
    name: Gold tier
    condition: member.tier == "gold"
    priority: 10
    effects:
      - accrue_percent: {percent: "2"}
      - accrue_fixed: {points: 5}
      - set_redemption: {cap_percent: "50", min_check: "0.00"}
  - code: loyal
    name: Lifetime spend tiers
    effects:
      - spend_tier_discount: {basis: lifetime, tiers: [{from: "0.00", percent: "0"}, {from: "10000.00", percent: "2"}]}
  - code: morning
    name: Before noon
    window: {from: "08:00", until: "12:00"}
    effects: [{discount: {percent: "5"}}]
  - code: coffee-double
    name: Coffee earns more
    effects: [{accrue_percent: {percent: "5", lines: {categories: [coffee]}}}]
  - code: big-basket
    name: Big basket bonus
    condition: basket.total_minor >= 500000
    effects: [{accrue_fixed: {points: 100}}]
  - code: cafe-off
    name: Cafe
    scope: {partners: [Cafe]}
    effects: [{discount: {amount: "50.00"}}, {discount: {percent: "10", target: cheapest_line}}]
"""


def test_a_gold_member_in_the_morning_sees_the_gold_tier_and_the_morning_discount() -> None:
    shown = terms(
        rules(PUBLISHED), tier="gold", lifetime_minor=15_000_00, local=datetime(2026, 12, 7, 9, 30, tzinfo=MOSCOW)
    )
    assert shown == TermsInForce(
        rule_set_version=1,
        accrual_bp=500,  # 3 % + 2 %
        fixed_points_per_check=5,
        redeem_cap_bp=5000,  # the higher-priority rule's redemption
        min_check_for_redeem_minor=0,
        discount_bp=700,  # 5 % before noon + 2 % from a lifetime spend of 10,000.00
        accrual_rules=(RuleRef("gold", "Gold tier"), RuleRef("base", "Everyone")),
        redemption_rule=RuleRef("gold", "Gold tier"),
        discount_rules=(RuleRef("loyal", "Lifetime spend tiers"), RuleRef("morning", "Before noon")),
    )


def test_a_member_without_a_tier_in_the_afternoon_sees_the_base_terms_only() -> None:
    shown = terms(rules(PUBLISHED), local=datetime(2026, 12, 7, 12, 0, tzinfo=MOSCOW))
    assert (shown.accrual_bp, shown.fixed_points_per_check, shown.redeem_cap_bp) == (300, 0, 2000)
    assert (shown.min_check_for_redeem_minor, shown.discount_bp) == (500_00, 0)
    assert shown.accrual_rules == (RuleRef("base", "Everyone"),)
    assert shown.discount_rules == ()
    assert shown.points_may_pay


def test_the_outlet_matters_but_basket_dependent_offers_are_not_terms() -> None:
    at_cafe = terms(rules(PUBLISHED), partner="Cafe")
    # an amount off and a cheapest-line percent are not a share of every check; nor are coffee or big-basket points
    assert (at_cafe.discount_bp, at_cafe.discount_rules, at_cafe.accrual_bp) == (0, (), 300)


def test_the_local_time_is_the_outlets() -> None:
    """11:30 in Moscow is 08:30 UTC: the morning discount applies by the outlet's clock."""
    local = datetime(2026, 12, 7, 11, 30, tzinfo=MOSCOW)
    assert terms(rules(PUBLISHED), local=local).discount_bp == 500
    assert terms(rules(PUBLISHED), local=local.replace(hour=12)).discount_bp == 0


def test_without_a_redemption_rule_points_pay_nothing() -> None:
    shown = terms(rules("rules: [{code: earn, effects: [{accrue_percent: {percent: '4'}}]}]"))
    assert (shown.redemption_rule, shown.redeem_cap_bp, shown.min_check_for_redeem_minor) == (None, 0, 0)
    assert not shown.points_may_pay
    assert shown.accrual_rules == (RuleRef("earn", ""),)
