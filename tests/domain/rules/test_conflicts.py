"""Conflict detection before publishing: each kind of conflict, and which method found it."""

from __future__ import annotations

from datetime import UTC, datetime

from coalition.domain.rules.conflicts import Method, Network, Severity, find_conflicts, ranges
from tests.domain.rules.support import rules

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NETWORK = Network(partners=frozenset({"acme", "cafe-co"}), outlets=frozenset({"shop", "cafe"}))


def _findings(text: str):
    return find_conflicts(rules(text), NETWORK, NOW)


def _kinds(findings) -> set[tuple[str, tuple[str, ...], str, str]]:
    return {(f.kind, f.rules, f.severity.value, f.method.value) for f in findings}


def test_a_clean_rule_set_has_no_findings():
    findings = _findings("""
rules:
  - code: low
    condition: member.lifetime_spend_minor < 1000000
    stacking: exclusive
    group: lifetime
    effects: [{accrue_percent: {percent: "3"}}]
  - code: high
    condition: member.lifetime_spend_minor >= 1000000
    stacking: exclusive
    group: lifetime
    effects: [{accrue_percent: {percent: "5"}}]
""")
    assert findings == []


def test_two_exclusive_rules_that_can_fire_together_with_no_order_are_an_error_by_analysis():
    findings = _findings("""
rules:
  - code: low
    condition: member.lifetime_spend_minor <= 1000000
    stacking: exclusive
    group: lifetime
    effects: [{accrue_percent: {percent: "3"}}]
  - code: middle
    condition: member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000000
    stacking: exclusive
    group: lifetime
    effects: [{accrue_percent: {percent: "5"}}]
""")
    assert _kinds(findings) == {("exclusive-tie", ("low", "middle"), "error", "analysis")}
    assert "same priority (0)" in findings[0].message


def test_an_exclusive_tie_between_conditions_analysis_cannot_decide_is_found_by_sampling():
    findings = _findings("""
rules:
  - code: social
    condition: '"social" in member.segments'
    stacking: exclusive
    group: segment
    effects: [{discount: {percent: "5"}}]
  - code: pensioner
    condition: '"pensioner" in member.segments'
    stacking: exclusive
    group: segment
    effects: [{discount: {percent: "5"}}]
""")
    assert _kinds(findings) == {("exclusive-tie", ("pensioner", "social"), "error", "sampling")} or _kinds(
        findings
    ) == {("exclusive-tie", ("social", "pensioner"), "error", "sampling")}


def test_rules_that_can_never_fire():
    findings = _findings("""
rules:
  - code: expired
    window: {ends_at: "2026-01-01T00:00:00+00:00"}
    effects: [{discount: {percent: "5"}}]
  - code: nowhere
    scope: {outlets: [closed-long-ago]}
    effects: [{discount: {percent: "5"}}]
  - code: contradiction
    condition: basket.total_minor > 500000 && basket.total_minor < 100000
    effects: [{discount: {percent: "5"}}]
  - code: unreachable-text
    condition: member.card_type == "gold" && member.card_type == "silver"
    effects: [{discount: {percent: "5"}}]
""")
    assert _kinds(findings) == {
        ("never-fires", ("expired",), "error", "analysis"),
        ("never-fires", ("nowhere",), "error", "analysis"),
        ("never-fires", ("contradiction",), "error", "analysis"),
        ("never-fires", ("unreachable-text",), "warning", "sampling"),
    }


def test_discounts_that_together_can_exceed_the_check():
    findings = _findings("""
rules:
  - code: sixty
    effects: [{discount: {percent: "60"}}]
  - code: fifty-on-coffee
    effects: [{discount: {percent: "50", target: lines, lines: {categories: [coffee]}}}]
""")
    assert _kinds(findings) == {("discount-over-check", ("fifty-on-coffee", "sixty"), "warning", "sampling")}
    assert "110 %" in findings[0].message


def test_a_rule_shadowed_by_a_higher_priority_exclusive_rule():
    findings = _findings("""
rules:
  - code: always
    priority: 10
    stacking: exclusive
    group: house
    effects: [{discount: {percent: "5"}}]
  - code: big-checks
    condition: basket.total_minor >= 500000
    stacking: exclusive
    group: house
    effects: [{discount: {percent: "7"}}]
  - code: vip
    priority: 20
    condition: '"vip" in member.segments'
    stacking: exclusive
    group: club
    effects: [{discount: {percent: "10"}}]
  - code: vip-and-big
    priority: 5
    condition: '"vip" in member.segments && basket.total_minor >= 500000'
    stacking: exclusive
    group: club
    effects: [{discount: {percent: "12"}}]
""")
    assert _kinds(findings) == {
        ("shadowed", ("big-checks", "always"), "warning", "analysis"),
        ("shadowed", ("vip-and-big", "vip"), "warning", "sampling"),
    }


def test_range_analysis_of_integer_comparisons():
    assert ranges("member.lifetime_spend_minor >= 100 && member.lifetime_spend_minor < 200") == {
        "member.lifetime_spend_minor": (100, 199)
    }
    assert ranges("100 <= basket.total_minor") == {"basket.total_minor": (100, float("inf"))}
    assert ranges('"vip" in member.segments') is None
    assert ranges("now.hour < 12 || now.hour > 18") is None
    assert ranges("") == {}


def test_findings_name_the_method_and_severity_types():
    finding = _findings("""
rules:
  - code: expired
    window: {ends_at: "2026-01-01T00:00:00+00:00"}
    effects: [{discount: {percent: "5"}}]
""")[0]
    assert finding.severity is Severity.ERROR and finding.method is Method.ANALYSIS
    assert "can never fire" in finding.message


def test_a_spend_tier_discount_counts_its_highest_step_not_its_missing_top():
    """Issue 18 review (a): the editor's cumulative discount (1 % from 1,000.00, 2 % from 5,000.00, no `top`) with a
    fixed 10 % can take 12 % at most: no warning (it said 110 %)."""
    findings = _findings("""
rules:
  - code: discount
    effects: [{discount: {percent: "10"}}]
  - code: cumulative-discount
    effects:
      - spend_tier_discount:
          basis: lifetime
          tiers: [{from: "1000.00", percent: "1"}, {from: "5000.00", percent: "2"}]
""")
    assert [f for f in findings if f.kind == "discount-over-check"] == []


def test_a_spend_tier_discount_counts_at_most_its_top_and_at_least_its_floor():
    capped = _findings("""
rules:
  - code: sixty
    effects: [{discount: {percent: "60"}}]
  - code: tiers
    effects:
      - spend_tier_discount:
          basis: lifetime
          tiers: [{from: "0", percent: "30"}, {from: "100.00", percent: "70"}]
          top: "45"
""")
    assert [(f.rules, f.message) for f in capped if f.kind == "discount-over-check"] == [
        (
            ("sixty", "tiers"),
            "sixty, tiers together can take up to 105 % off a line; discounts stop at the line's price",
        )
    ]
    floored = _findings("""
rules:
  - code: sixty
    effects: [{discount: {percent: "60"}}]
  - code: tiers
    effects:
      - spend_tier_discount: {basis: previous_period, tiers: [{from: "100.00", percent: "20"}], floor: "50", top: "80"}
""")
    assert [f.message for f in floored if f.kind == "discount-over-check"] == [
        "sixty, tiers together can take up to 110 % off a line; discounts stop at the line's price"
    ]


def test_overlapping_sets_of_discounts_are_one_warning_naming_the_real_maximum():
    """Issue 18 review (a): sets of discounts that share a rule are one warning, with the largest share any reached
    (60 + 70 + 10 = 140 %), not one warning per combination sampled (110, 120, 130 and 140 %)."""
    findings = _findings("""
rules:
  - code: sixty
    effects: [{discount: {percent: "60"}}]
  - code: fifty-for-regulars
    condition: member.lifetime_spend_minor >= 100000
    effects: [{discount: {percent: "50"}}]
  - code: seventy-for-new
    condition: member.lifetime_spend_minor < 100000
    effects: [{discount: {percent: "70"}}]
  - code: ten-in-the-morning
    window: {until: "12:00"}
    effects: [{discount: {percent: "10"}}]
""")
    over = [f for f in findings if f.kind == "discount-over-check"]
    assert len(over) == 1
    named = ("fifty-for-regulars", "seventy-for-new", "sixty", "ten-in-the-morning")
    assert over[0].rules == named
    assert over[0].message == (
        f"{', '.join(named)} together can take up to 140 % off a line; discounts stop at the line's price"
    )
