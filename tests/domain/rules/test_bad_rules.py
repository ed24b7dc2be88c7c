"""Bad rules are refused at save time with the rule and the field named."""

from __future__ import annotations

import pytest
import yaml

from coalition.domain.errors import InvalidInput
from coalition.domain.rules.parsing import parse_rule_set, rule_set_to_data
from tests.domain.rules.support import CURRENCY


def _refused(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_rule_set(yaml.safe_load(text), CURRENCY)
    return caught.value


def test_a_condition_that_does_not_parse_is_refused_with_its_line_and_column():
    error = _refused("""
rules:
  - code: broken
    condition: "basket.total_minor >= "
    effects: [{discount: {percent: "5"}}]
""")
    assert error.field == "rules[0].condition"
    assert "line 1, column 23" in error.detail


def test_an_unknown_field_or_name_is_refused_naming_it():
    misspelt = _refused("""
rules:
  - code: typo
    condition: member.lifetime_spend > 100
    effects: [{discount: {percent: "5"}}]
""")
    assert misspelt.field == "rules[0].condition"
    assert "lifetime_spend" in misspelt.detail
    unknown = _refused("""
rules:
  - code: ok
    effects: [{discount: {percent: "5"}}]
  - code: stranger
    condition: customer.vip
    effects: [{discount: {percent: "5"}}]
""")
    assert unknown.field == "rules[1].condition"
    assert "customer" in unknown.detail


def test_a_condition_that_does_not_type_check_is_refused():
    error = _refused("""
rules:
  - code: adds-text
    condition: basket.total_minor + "1" > 5
    effects: [{discount: {percent: "5"}}]
""")
    assert error.field == "rules[0].condition"
    assert "type-check" in error.detail


@pytest.mark.parametrize(
    ("effect", "field"),
    [
        ('{discount: {percent: "-5"}}', "rules[0].effects[0].discount.percent"),
        ('{discount: {percent: "100.01"}}', "rules[0].effects[0].discount.percent"),
        ('{discount: {percent: "150"}}', "rules[0].effects[0].discount.percent"),
        ('{discount: {amount: "-1.00"}}', "rules[0].effects[0].discount.amount"),
        ('{discount: {percent: "5", amount: "1.00"}}', "rules[0].effects[0].discount.percent"),
        ("{accrue_fixed: {points: -10}}", "rules[0].effects[0].accrue_fixed.points"),
        ('{accrue_percent: {percent: "3", expiry: {days: 0}}}', "rules[0].effects[0].accrue_percent.expiry.days"),
        ('{set_redemption: {cap_percent: "101"}}', "rules[0].effects[0].set_redemption.cap_percent"),
        ("{grant_gift: {gift_type: photo, valid_days: 0}}", "rules[0].effects[0].grant_gift.valid_days"),
        ("{teleport: {}}", "rules[0].effects[0].teleport"),  # the unknown kind named (issue 13)
        (
            '{spend_tier_discount: {basis: lifetime, tiers: [{from: "5000.00", percent: "5"}, '
            '{from: "3000.00", percent: "3"}]}}',
            "rules[0].effects[0].spend_tier_discount.tiers",
        ),
        (
            '{spend_tier_discount: {basis: lifetime, tiers: [{from: "3000.00", percent: "5"}, '
            '{from: "3000.00", percent: "7"}]}}',
            "rules[0].effects[0].spend_tier_discount.tiers",
        ),
        (
            '{spend_tier_discount: {basis: someday, tiers: [{from: "1.00", percent: "1"}]}}',
            "rules[0].effects[0].spend_tier_discount.basis",
        ),
    ],
)
def test_bad_effects_are_refused_naming_the_field(effect, field):
    error = _refused(f"""
rules:
  - code: bad
    effects: [{effect}]
""")
    assert error.field == field, error.detail


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("code: ''\n    effects: [{discount: {percent: '5'}}]", "rules[0].code"),
        ("code: x\n    effects: []", "rules[0].effects"),
        ("code: x\n    trigger: sometimes\n    effects: [{discount: {percent: '5'}}]", "rules[0].trigger"),
        ("code: x\n    stacking: exclusive\n    effects: [{discount: {percent: '5'}}]", "rules[0].group"),
        (
            "code: x\n    window: {from: '12:00', until: '09:00'}\n    effects: [{discount: {percent: '5'}}]",
            "rules[0].window.from",
        ),
        ("code: x\n    window: {weekdays: [8]}\n    effects: [{discount: {percent: '5'}}]", "rules[0].window.weekdays"),
        (
            "code: x\n    window: {starts_at: '2026-01-01T00:00:00'}\n    effects: [{discount: {percent: '5'}}]",
            "rules[0].window.starts_at",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(rule, field):
    error = _refused(f"rules:\n  - {rule}\n")
    assert error.field == field, error.detail


def test_a_code_used_twice_is_refused():
    error = _refused("""
rules:
  - code: same
    effects: [{discount: {percent: "5"}}]
  - code: same
    effects: [{discount: {percent: "6"}}]
""")
    assert error.field == "rules[1].code"


def test_a_rule_set_survives_export_and_import_unchanged():
    text = """
rules:
  - code: everything
    name: Every kind of field
    trigger: purchase
    condition: '"vip" in member.segments && now.hour >= 9'
    priority: 7
    stacking: exclusive
    group: g
    scope: {partners: [acme], outlets: [shop]}
    window:
      starts_at: "2026-01-01T00:00:00+03:00"
      weekdays: [1, 2]
      days_of_month: [15]
      from: "09:30"
      until: "18:00"
    effects:
      - accrue_percent:
          percent: "2.5"
          lines: {categories: [coffee]}
          multipliers: [{lines: {tags: [new]}, factor: "1.5"}]
          expiry: {days: 30}
      - accrue_fixed: {points: 10, per: unit, expiry: {kind: end_of_month}}
      - discount: {amount: "100.00", target: lines, max_amount: "300.00", lines: {exclude_tags: [sale]}}
      - spend_tier_discount: {basis: previous_period, tiers: [{from: "0.00", percent: "3"}], floor: "3", top: "20"}
      - set_redemption: {cap_percent: "50", min_check: "1500.00"}
      - grant_gift: {gift_type: photo, outlets: [booth], valid_days: 2}
      - issue_coupon: {campaign: spring, valid_days: 7, uses: 3}
      - set_tier: {tier: gold}
      - reset_balances: {points: true, gifts: false}
"""
    first = parse_rule_set(yaml.safe_load(text), CURRENCY)
    exported = rule_set_to_data(first, CURRENCY)
    assert parse_rule_set(exported, CURRENCY) == first
    assert parse_rule_set(yaml.safe_load(yaml.safe_dump(exported)), CURRENCY) == first
