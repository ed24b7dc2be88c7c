"""The program editor's forms written as rule sets (docs/program-editor.md): the exact document and YAML for the
brief's examples, priced by the engine; bad fields refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalition.application.program_editor import (
    BRIEF_FORM,
    BRIEF_NEXT_MONTH,
    BeforeTime,
    CouponDiscount,
    DayOfMonth,
    DiscountForm,
    ExtrasForm,
    ProgramForm,
    SegmentExtra,
    SpendStep,
    WeekdayExtra,
    program_document,
    program_yaml,
)
from coalition.application.program_form import form_fields, parse_program_form
from coalition.domain.errors import InvalidInput
from coalition.domain.rules.engine import compile_rule_set
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.parsing import parse_rule_set
from tests.domain.rules.support import POINT_VALUE_MINOR, earned, line, purchase, run

BRIEF_YAML = """\
rules:
  - code: bonus-tier-1
    name: 'Bonus tier 1: from a lifetime spend of 0.00'
    condition: member.lifetime_spend_minor < 1000000
    effects:
      - accrue_percent:
          percent: '3'
      - set_redemption:
          cap_percent: '15'
          min_check: '1500.00'
  - code: bonus-tier-2
    name: 'Bonus tier 2: from a lifetime spend of 10000.00'
    condition: member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000001
    effects:
      - accrue_percent:
          percent: '5'
      - set_redemption:
          cap_percent: '30'
          min_check: '1500.00'
  - code: bonus-tier-3
    name: 'Bonus tier 3: from a lifetime spend of 50000.01'
    condition: member.lifetime_spend_minor >= 5000001
    effects:
      - accrue_percent:
          percent: '7'
      - set_redemption:
          cap_percent: '50'
          min_check: '1500.00'
"""


def _compiled(form: ProgramForm):
    return compile_rule_set(parse_rule_set(program_document(form, "RUB"), "RUB"), version=1)


def test_the_brief_bonus_form_writes_three_tier_rules():
    document = program_document(BRIEF_FORM, "RUB")
    assert document["rules"][1] == {
        "code": "bonus-tier-2",
        "name": "Bonus tier 2: from a lifetime spend of 10000.00",
        "condition": "member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000001",
        "effects": [
            {"accrue_percent": {"percent": "5"}},
            {"set_redemption": {"cap_percent": "30", "min_check": "1500.00"}},
        ],
    }
    assert program_yaml(document) == BRIEF_YAML


def test_the_engine_prices_2000_for_a_member_with_12000_spent_at_5_percent_and_600_in_points():
    evaluation = run(_compiled(BRIEF_FORM), purchase(line("", "2000.00"), lifetime=1_200_000))
    assert evaluation.applied_rules == ("bonus-tier-2",)
    assert earned(evaluation) == 100  # 5 % of 2,000.00
    assert evaluation.max_redeemable_points(POINT_VALUE_MINOR) == 600  # 30 % of 2,000.00 = 600.00
    assert earned(evaluation, redeemed_points=600) == 70  # 5 % of the 1,400.00 paid in money
    newcomer = run(_compiled(BRIEF_FORM), purchase(line("", "1499.99"), lifetime=0))
    assert (earned(newcomer), newcomer.max_redeemable_points(POINT_VALUE_MINOR)) == (44, 0)  # below the minimum
    loyal = run(_compiled(BRIEF_FORM), purchase(line("", "2000.00"), lifetime=5_000_001))
    assert (earned(loyal), loyal.max_redeemable_points(POINT_VALUE_MINOR)) == (140, 1000)


def test_the_form_fields_round_trip_and_default_to_the_brief():
    fields = form_fields(BRIEF_FORM, "RUB")
    assert fields["tier2_from"] == "10000.00" and fields["tier2_accrual"] == "5" and fields["tier3_cap"] == "50"
    assert fields["min_check"] == "1500.00"
    assert parse_program_form(fields, "RUB") == BRIEF_FORM


FULL = ProgramForm(
    bonus=None,
    discounts=DiscountForm(
        fixed_bp=0,
        cumulative=(SpendStep(300_000, 500), SpendStep(1_000_000, 1000)),
        next_month=BRIEF_NEXT_MONTH,
        before_time=BeforeTime(12 * 60, 500),
        day_of_month=DayOfMonth(15, 1500),
        segment=SegmentExtra("social", 500),
        weekday=WeekdayExtra(2, 250),
    ),
    extras=ExtrasForm(
        welcome_points=100,
        birthday_points=200,
        coupon=CouponDiscount("flyer", 1000),
        excluded_skus=("tobacco-1",),
        excluded_categories=("alcohol",),
    ),
)


def test_discounts_and_extras_are_written_and_round_trip():
    rules = {rule["code"]: rule for rule in program_document(FULL, "RUB")["rules"]}
    assert list(rules) == [
        "cumulative-discount",
        "next-month-discount",
        "before-time",
        "day-of-month",
        "segment",
        "weekday",
        "welcome",
        "birthday",
        "coupon",
    ]
    excluded = {"exclude_skus": ["tobacco-1"], "exclude_categories": ["alcohol"]}
    assert rules["next-month-discount"]["effects"] == [
        {
            "spend_tier_discount": {
                "basis": "previous_period",
                "tiers": [
                    {"from": "5000.00", "percent": "5"},
                    {"from": "10000.00", "percent": "10"},
                    {"from": "30000.00", "percent": "15"},
                    {"from": "50000.00", "percent": "25"},
                ],
                "floor": "3",
                "top": "20",
                "lines": excluded,
            }
        }
    ]
    assert rules["before-time"]["window"] == {"until": "12:00"}
    assert rules["before-time"]["effects"] == [{"discount": {"percent": "5", "target": "lines", "lines": excluded}}]
    assert rules["segment"]["condition"] == '"social" in member.segments || member.card_type == "social"'
    assert rules["welcome"] == {
        "code": "welcome",
        "name": "Welcome bonus",
        "trigger": "enrolment",
        "effects": [{"accrue_fixed": {"points": 100}}],
    }
    assert rules["coupon"]["condition"] == '"flyer" in coupon_campaigns'
    assert parse_program_form(form_fields(FULL, "RUB"), "RUB") == FULL


def test_next_months_discount_on_a_1000_check_with_its_extras():
    compiled = _compiled(ProgramForm(None, DiscountForm(next_month=BRIEF_NEXT_MONTH, before_time=BeforeTime(720, 500))))
    noon = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # a Monday
    assert run(compiled, purchase(line("", "1000.00"), at=noon)).discount_minor == 3000  # the floor, 3 %
    assert run(compiled, purchase(line("", "1000.00"), at=noon, previous_period=1_200_000)).discount_minor == 10000
    assert run(compiled, purchase(line("", "1000.00"), at=noon, previous_period=8_000_000)).discount_minor == 20000
    morning = datetime(2026, 11, 16, 11, 59, tzinfo=UTC)
    assert run(compiled, purchase(line("", "1000.00"), at=morning)).discount_minor == 8000  # 3 % + 5 %


def test_excluded_categories_earn_and_save_nothing_and_the_welcome_bonus_is_granted_at_enrolment():
    form = ProgramForm(
        bonus=BRIEF_FORM.bonus,
        discounts=DiscountForm(fixed_bp=1000),
        extras=ExtrasForm(welcome_points=100, excluded_categories=("alcohol",)),
    )
    compiled = _compiled(form)
    evaluation = run(
        compiled, purchase(line("bread", "1000.00"), line("wine", "1000.00", category="alcohol"), lifetime=0)
    )
    assert evaluation.discount_minor == 10000  # 10 % of the bread only
    assert earned(evaluation) == 27  # 3 % of the 900.00 of bread paid
    welcome = run(compiled, purchase(), Trigger.ENROLMENT)
    assert welcome.applied_rules == ("welcome",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tier1_accrual": "3", "tier2_from": "abc", "tier2_accrual": "5"}, "tier2_from"),
        ({"tier1_accrual": "3", "tier2_from": "0.00", "tier2_accrual": "5"}, "tier2_from"),
        ({"tier1_from": "100.00", "tier1_accrual": "3"}, "tier1_from"),
        ({"tier1_accrual": "101"}, "tier1_accrual"),
        ({"tier1_accrual": "3", "min_check": "-1"}, "min_check"),
        ({"tier1_accrual": "3", "tier1_fixed": "1.5"}, "tier1_fixed"),
        ({"before_time": "25:00", "before_time_percent": "5"}, "before_time"),
        ({"day_of_month": "32", "day_percent": "5"}, "day_of_month"),
        ({"weekday": "8", "weekday_percent": "5"}, "weekday"),
        ({"segment": 'so"cial', "segment_percent": "5"}, "segment"),
        ({"next1_from": "100.00", "next1_percent": "5", "next_floor": "10", "next_top": "5"}, "next_top"),
        ({"excluded_skus": "a b"}, "excluded_skus"),
        ({"coupon_campaign": "flyer"}, "coupon_percent"),
    ],
)
def test_a_bad_field_is_refused_by_name(fields, field):
    with pytest.raises(InvalidInput) as refused:
        parse_program_form(fields, "RUB")
    assert refused.value.field == field


def test_an_empty_form_writes_an_empty_rule_set():
    assert program_document(parse_program_form({}, "RUB"), "RUB") == {"rules": []}


def test_the_yaml_writes_the_exclusions_out_in_every_rule():
    text = program_yaml(program_document(FULL, "RUB"))
    assert "&id" not in text and "*id" not in text
    assert text.count("- alcohol") == 7  # the lines of each of the 7 discount rules
