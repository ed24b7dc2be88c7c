"""Every benefit of the brief as a rule set, with exact numbers (the same examples are in docs/rules.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from coalition.domain.rules.model import Trigger
from tests.domain.rules.support import POINT_VALUE_MINOR, amount, earned, line, purchase, rules, run

SMALL_SHOP = """
rules:
  - code: lifetime-below-10000
    name: Lifetime spend below 10,000
    condition: member.lifetime_spend_minor < 1000000
    stacking: exclusive
    group: lifetime
    effects:
      - accrue_percent: {percent: "3"}
      - set_redemption: {cap_percent: "15", min_check: "1500.00"}
  - code: lifetime-10000-to-50000
    condition: member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor <= 5000000
    stacking: exclusive
    group: lifetime
    effects:
      - accrue_percent: {percent: "5"}
      - set_redemption: {cap_percent: "30", min_check: "1500.00"}
  - code: lifetime-above-50000
    condition: member.lifetime_spend_minor > 5000000
    stacking: exclusive
    group: lifetime
    effects:
      - accrue_percent: {percent: "7"}
      - set_redemption: {cap_percent: "50", min_check: "1500.00"}
"""


def test_the_seeds_lifetime_spend_rule_sets():
    program = rules(SMALL_SHOP)
    newcomer = run(program, purchase(line("", "2000.00"), lifetime=500000))
    assert newcomer.applied_rules == ("lifetime-below-10000",)
    assert earned(newcomer) == 60  # 3 % of 2,000.00
    assert newcomer.max_redeemable_points(POINT_VALUE_MINOR) == 300  # 15 % of 2,000.00
    assert earned(newcomer, redeemed_points=300) == 51  # 3 % of the 1,700.00 paid in money

    regular = run(program, purchase(line("", "2000.00"), lifetime=2000000))
    assert (earned(regular), regular.max_redeemable_points(POINT_VALUE_MINOR)) == (100, 600)
    assert run(program, purchase(line("", "2000.00"), lifetime=5000000)).applied_rules == ("lifetime-10000-to-50000",)
    loyal = run(program, purchase(line("", "2000.00"), lifetime=5000001))
    assert (earned(loyal), loyal.max_redeemable_points(POINT_VALUE_MINOR)) == (140, 1000)

    below_minimum = run(program, purchase(line("", "1499.99"), lifetime=500000))
    assert below_minimum.max_redeemable_points(POINT_VALUE_MINOR) == 0
    assert earned(below_minimum) == 44  # 3 % of 1,499.99 = 44.9997 → 44 (rounded down)


def test_a_fixed_card_discount_that_depends_on_the_check():
    program = rules("""
rules:
  - code: card-5
    stacking: exclusive
    group: card
    effects: [{discount: {percent: "5"}}]
  - code: card-7-from-5000
    condition: basket.total_minor >= 500000
    priority: 10
    stacking: exclusive
    group: card
    effects: [{discount: {percent: "7"}}]
""")
    small = run(program, amount("4000.00"))
    assert (small.discount_minor, small.applied_rules) == (20000, ("card-5",))
    big = run(program, amount("6000.00"))
    assert (big.discount_minor, big.applied_rules) == (42000, ("card-7-from-5000",))
    assert [o.reason for o in big.outcomes if o.code == "card-5"] == [
        "card-7-from-5000 applied instead (exclusive group 'card')"
    ]


CUMULATIVE = """
rules:
  - code: cumulative
    effects:
      - spend_tier_discount:
          basis: lifetime
          tiers: [{from: "3000.00", percent: "5"}, {from: "10000.00", percent: "10"}]
"""


def test_cumulative_discount_tiers_by_spend():
    program = rules(CUMULATIVE)
    assert run(program, purchase(line("", "1000.00"), lifetime=299999)).discount_minor == 0
    assert run(program, purchase(line("", "1000.00"), lifetime=300000)).discount_minor == 5000
    assert run(program, purchase(line("", "1000.00"), lifetime=1000000)).discount_minor == 10000


NEXT_MONTH = """
rules:
  - code: next-month
    effects:
      - spend_tier_discount:
          basis: previous_period
          tiers:
            - {from: "5000.00", percent: "5"}
            - {from: "10000.00", percent: "10"}
            - {from: "30000.00", percent: "15"}
            - {from: "50000.00", percent: "25"}
          floor: "3"
          top: "20"
  - code: morning
    window: {until: "12:00"}
    effects: [{discount: {percent: "5"}}]
"""


def test_next_months_discount_from_this_months_spend_with_a_floor_and_a_top_and_the_morning_bonus():
    program = rules(NEXT_MONTH)
    afternoon = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    morning = datetime(2026, 11, 16, 11, 59, tzinfo=UTC)
    assert run(program, purchase(line("", "1000.00"), previous_period=0, at=afternoon)).discount_minor == 3000
    assert run(program, purchase(line("", "1000.00"), previous_period=1200000, at=afternoon)).discount_minor == 10000
    assert run(program, purchase(line("", "1000.00"), previous_period=8000000, at=afternoon)).discount_minor == 20000
    # +5 % before 12:00 is added to the minimum discount: 3 % + 5 % = 8 %
    early = run(program, purchase(line("", "1000.00"), previous_period=0, at=morning))
    assert early.discount_minor == 8000
    assert early.discounts_by_rule_minor == {"next-month": 3000, "morning": 5000}


def test_fifteen_percent_on_the_fifteenth_and_five_more_for_social_card_holders():
    program = rules("""
rules:
  - code: day-15
    window: {days_of_month: [15]}
    effects: [{discount: {percent: "15"}}]
  - code: social
    condition: '"social" in member.segments || member.card_type == "social"'
    effects: [{discount: {percent: "5"}}]
""")
    fifteenth = datetime(2026, 12, 15, 18, 0, tzinfo=UTC)
    assert run(program, purchase(line("", "200.00"), at=fifteenth)).discount_minor == 3000
    assert run(program, purchase(line("", "200.00"), at=fifteenth, card_type="social")).discount_minor == 4000
    assert run(program, purchase(line("", "200.00"), segments=("social",))).discount_minor == 1000
    assert run(program, purchase(line("", "200.00"))).discount_minor == 0


def test_a_discount_only_on_listed_categories_with_sale_items_excluded():
    program = rules("""
rules:
  - code: drinks-10
    effects:
      - discount: {percent: "10", target: lines, lines: {categories: [coffee, tea], exclude_tags: [sale]}}
""")
    result = run(
        program,
        purchase(
            line("espresso", "300.00", category="coffee"),
            line("green-tea", "200.00", category="tea", tags=("sale",)),
            line("cake", "100.00", category="pastry"),
        ),
    )
    assert result.line_discounts_minor == (3000, 0, 0)


def test_welcome_and_birthday_bonuses():
    program = rules("""
rules:
  - code: welcome
    trigger: enrolment
    effects: [{accrue_fixed: {points: 100}}]
  - code: birthday-double
    condition: member.is_birthday
    effects: [{accrue_percent: {percent: "3"}}]
  - code: base
    effects: [{accrue_percent: {percent: "3"}}]
""")
    assert earned(run(program, purchase(), Trigger.ENROLMENT)) == 100
    birthday = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert earned(run(program, purchase(line("", "1000.00"), at=birthday, birth_date=date(1990, 5, 4)))) == 60
    assert earned(run(program, purchase(line("", "1000.00"), at=birthday, birth_date=date(1990, 5, 5)))) == 30


def test_a_coupon_valid_for_a_short_period_on_one_product():
    program = rules("""
rules:
  - code: spring-coupon
    condition: '"SPRING10" in coupons'
    window: {starts_at: "2026-03-01T00:00:00+03:00", ends_at: "2026-03-08T00:00:00+03:00"}
    effects: [{discount: {percent: "10", target: lines, lines: {skus: [latte]}}}]
""")
    inside = datetime(2026, 3, 7, 20, 59, tzinfo=UTC)
    after = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    basket = (line("latte", "250.00"), line("cake", "150.00"))
    assert run(program, purchase(*basket, at=inside, coupons=("SPRING10",))).discount_minor == 2500
    assert run(program, purchase(*basket, at=inside)).discount_minor == 0
    assert run(program, purchase(*basket, at=after, coupons=("SPRING10",))).discount_minor == 0


def test_a_gift_at_outlet_b_granted_by_a_purchase_at_outlet_a():
    program = rules("""
rules:
  - code: ticket-gives-photo
    scope: {outlets: [ticket-office]}
    condition: basket.total_minor >= 150000
    effects: [{grant_gift: {gift_type: free-photo, outlets: [photo-booth], valid_days: 1}}]
""")
    granted = run(program, purchase(line("day-pass", "1500.00"), outlet="ticket-office"))
    assert [(code, gift.gift_type, sorted(gift.outlets)) for code, gift in granted.gifts] == [
        ("ticket-gives-photo", "free-photo", ["photo-booth"])
    ]
    assert run(program, purchase(line("latte", "1500.00"), outlet="cafe")).gifts == ()
