"""The engine's order of application, stacking, rounding and explain."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.rules.engine import spread
from tests.domain.rules.support import POINT_VALUE_MINOR, earned, line, purchase, rules, run


def test_discounts_come_first_then_points_on_the_money_paid():
    program = rules("""
rules:
  - code: ten-off
    effects: [{discount: {percent: "10"}}]
  - code: points
    effects:
      - accrue_percent: {percent: "5"}
      - set_redemption: {cap_percent: "50"}
""")
    result = run(program, purchase(line("", "1000.00")))
    assert result.after_discounts_minor == 90000
    assert earned(result) == 45  # 5 % of 900.00, not of 1,000.00
    assert result.max_redeemable_points(POINT_VALUE_MINOR) == 450  # the cap is a share of what is due
    assert earned(result, redeemed_points=450) == 22  # 5 % of the 450.00 paid in money, rounded down


def test_best_of_group_applies_the_rule_worth_most_to_the_customer():
    program = rules("""
rules:
  - code: five-percent
    priority: 5
    stacking: best_of
    group: welcome-offer
    effects: [{discount: {percent: "5"}}]
  - code: flat-100
    stacking: best_of
    group: welcome-offer
    effects: [{discount: {amount: "100.00"}}]
""")
    assert run(program, purchase(line("", "1000.00"))).applied_rules == ("flat-100",)  # 100.00 > 50.00
    assert run(program, purchase(line("", "3000.00"))).applied_rules == ("five-percent",)  # 150.00 > 100.00
    tie = run(program, purchase(line("", "2000.00")))  # 100.00 each: the higher priority wins
    assert tie.applied_rules == ("five-percent",)


def test_a_fixed_discount_is_spread_over_its_lines_exactly_and_never_below_zero():
    program = rules("""
rules:
  - code: hundred-off
    effects: [{discount: {amount: "100.00"}}]
""")
    result = run(program, purchase(line("a", "0.10"), line("b", "33.33"), line("c", "66.67")))
    assert sum(result.line_discounts_minor) == 10000
    assert all(off <= total for off, total in zip(result.line_discounts_minor, result.line_totals_minor, strict=True))
    small = run(program, purchase(line("a", "40.00")))
    assert small.line_discounts_minor == (4000,)  # a discount larger than the check stops at the check


def test_the_cheapest_line_and_a_maximum_amount():
    program = rules("""
rules:
  - code: cheapest-free
    effects: [{discount: {percent: "100", target: cheapest_line}}]
  - code: ten-percent-at-most-50
    effects: [{discount: {percent: "10", max_amount: "50.00"}}]
""")
    result = run(program, purchase(line("a", "300.00"), line("b", "120.00"), line("c", "400.00")))
    assert result.discounts_by_rule_minor == {"cheapest-free": 12000, "ten-percent-at-most-50": 5000}
    assert result.line_discounts_minor[1] == 12000  # the cheapest line is free; the 10 % finds it already free


def test_multipliers_on_chosen_products():
    program = rules("""
rules:
  - code: double-on-coffee
    effects:
      - accrue_percent:
          percent: "5"
          multipliers: [{lines: {categories: [coffee]}, factor: "2"}]
""")
    result = run(program, purchase(line("latte", "200.00", category="coffee"), line("cake", "100.00")))
    assert earned(result) == 25  # 10 % of 200.00 + 5 % of 100.00


def test_points_per_unit_of_selected_lines():
    program = rules("""
rules:
  - code: ten-per-bottle
    effects: [{accrue_fixed: {points: 10, per: unit, lines: {categories: [water]}}}]
""")
    result = run(program, purchase(line("still", "90.00", category="water", quantity=3), line("bread", "50.00")))
    assert earned(result) == 30


def test_explain_says_why_each_rule_did_not_apply():
    program = rules("""
rules:
  - code: big-checks
    condition: basket.total_minor >= 500000
    effects: [{discount: {percent: "5"}}]
  - code: elsewhere
    scope: {outlets: [cafe]}
    effects: [{discount: {percent: "5"}}]
  - code: on-sundays
    window: {weekdays: [7]}
    effects: [{discount: {percent: "5"}}]
  - code: welcome
    trigger: enrolment
    effects: [{accrue_fixed: {points: 100}}]
""")
    explained = run(program, purchase(line("", "100.00"), outlet="shop"), explain=True)
    reasons = {o.code: o.reason for o in explained.outcomes}
    assert reasons == {
        "big-checks": "its condition is false: basket.total_minor >= 500000",
        "elsewhere": "this outlet is outside its scope",
        "on-sundays": "outside its time window",
        "welcome": "its trigger is enrolment",
    }


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=30))
def test_spread_parts_sum_to_the_amount_and_follow_the_weights(amount, weights):
    parts = spread(amount, weights)
    if sum(weights) == 0 or amount == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == amount
    assert all(part >= 0 for part in parts)
    assert all(part == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)


def test_without_explain_only_the_rules_that_could_apply_here_are_looked_at():
    program = rules("""
rules:
  - code: here
    effects: [{discount: {percent: "5"}}]
  - code: elsewhere
    scope: {outlets: [cafe]}
    effects: [{discount: {percent: "5"}}]
  - code: false-here
    condition: basket.total_minor > 100000000
    effects: [{discount: {percent: "5"}}]
""")
    quick = run(program, purchase(line("", "100.00"), outlet="shop"))
    assert quick.applied_rules == ("here",)
    assert {o.code for o in quick.outcomes} == {"here"}
    full = run(program, purchase(line("", "100.00"), outlet="shop"), explain=True)
    assert [o.code for o in full.outcomes] == ["elsewhere", "false-here", "here"]  # application order: priority, code
    assert quick.discount_minor == full.discount_minor == 500


_names = st.sampled_from(["a", "b", "c", "d"])
_sets = st.frozensets(_names, max_size=2)


@given(
    st.lists(st.tuples(_names, st.one_of(st.none(), _names), _sets), max_size=8),
    _sets,
    _sets,
    _sets,
    _sets,
    _sets,
    _sets,
)
def test_the_line_index_selects_exactly_what_a_selector_matches(lines, skus, categories, tags, x_skus, x_cats, x_tags):
    from coalition.domain.rules.context import LineFacts
    from coalition.domain.rules.engine import Selection
    from coalition.domain.rules.model import LineSelector

    facts = tuple(LineFacts(sku, 100, category=category, tags=tag_set) for sku, category, tag_set in lines)
    selector = LineSelector(skus, categories, tags, x_skus, x_cats, x_tags)
    expected = tuple(i for i, line in enumerate(facts) if selector.matches(line.sku, line.category, line.tags))
    assert Selection(facts).indexes(selector) == expected
