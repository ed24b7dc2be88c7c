"""The built-in bonus program as a rule set (issue 13, one pricing engine): the rules engine prices a check exactly as
the program did — the same points, cap, redemption, amount due and tier, and the same refusals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.bonus import BonusProgram, Quote, Tier
from coalition.domain.checkout import CheckoutContext, Sale, Till, price
from coalition.domain.errors import DomainError
from coalition.domain.lots import Lot
from coalition.domain.money import MAX_AMOUNT_MINOR
from coalition.domain.purchase import BasketLine, MemberPoints, points_balance, quote_for
from coalition.domain.rules.builtin import (
    BUILTIN_VERSION,
    builtin_rule_document,
    builtin_rule_set,
    builtin_tier,
    quote_by_builtin_rules,
    quote_in_force,
)
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import evaluate
from coalition.domain.rules.pricing import quote_from_rules
from tests.domain.support import ACCOUNTS, NOW, small_shop

MAX_TIERS = 20  # as the admin API's program body (schemas.ProgramBody)
MAX_POINTS = 10**12  # as the API's points fields
TILL = Till(outlet_id=9, outlet_name="Shop till", partner_id=1, partner_name="Shop", zone=UTC)


def facts(program: BonusProgram, lifetime_minor: int, spendable: int, lines_minor: tuple[int, ...]) -> PurchaseFacts:
    return PurchaseFacts(
        lines=tuple(LineFacts(f"sku-{index}", total) for index, total in enumerate(lines_minor)),
        outlet="Shop till",
        partner="Shop",
        member=MemberFacts(lifetime_spend_minor=lifetime_minor, points_balance=spendable),
        now_utc=NOW,
        local_time=NOW,
    )


def outcome(price: object) -> Quote | tuple[type, str | None, str]:
    """A quote, or the refusal it raised (its type, field and words)."""
    try:
        return price()  # type: ignore[operator,no-any-return]
    except DomainError as error:
        return (type(error), error.field, error.detail)


def both(
    program: BonusProgram, state: MemberPoints, lines_minor: tuple[int, ...], redeem: int | None
) -> tuple[object, object]:
    """The program's quote and the engine's quote of the built-in rule set (refusals as values)."""
    check_minor = sum(lines_minor)
    spendable = points_balance(state, NOW)
    by_program = outcome(lambda: quote_for(program, state, check_minor, redeem, NOW))
    member = facts(program, state.lifetime_spend_minor, spendable, lines_minor)
    by_rules = outcome(
        lambda: quote_by_builtin_rules(program, member, spendable_points=spendable, redeem_points=redeem)
    )
    return by_program, by_rules


def compiled(program: BonusProgram, state: MemberPoints, lines_minor: tuple[int, ...], redeem: int | None) -> object:
    """What a purchase with no published set is priced by: the built-in set's compiled form, as `quote_in_force`
    reaches it and as `decide` reaches it (its `price`, from the basket's lines without building the rules' facts)."""
    spendable = points_balance(state, NOW)
    member = facts(program, state.lifetime_spend_minor, spendable, lines_minor)
    in_force = outcome(lambda: quote_in_force(None, program, member, spendable_points=spendable, redeem_points=redeem))
    context = CheckoutContext(till=TILL, program=program, accounts=ACCOUNTS, member_id=7, points=state)
    basket = tuple(BasketLine(f"sku-{index}", None, 1000, total) for index, total in enumerate(lines_minor))
    by_lines = outcome(lambda: price(context, Sale(sum(lines_minor), basket, redeem, NOW)))
    by_amount = outcome(lambda: price(context, Sale(sum(lines_minor), (), redeem, NOW)))
    if not in_force == by_lines == by_amount:
        return (in_force, by_lines, by_amount)
    return in_force


# --- the programs an administrator can configure -------------------------------------------------------------


@st.composite
def programs(draw: st.DrawFn) -> BonusProgram:
    count = draw(st.integers(1, MAX_TIERS))
    small = st.integers(1, 10**7)
    thresholds = draw(
        st.lists(
            st.one_of(small, st.integers(1, MAX_AMOUNT_MINOR)), min_size=count - 1, max_size=count - 1, unique=True
        )
    )
    share = st.one_of(st.sampled_from([0, 1, 300, 1500, 3333, 5000, 9999, 10_000]), st.integers(0, 10_000))
    fixed = st.one_of(st.just(0), st.integers(1, 100), st.integers(0, MAX_POINTS))
    tiers = tuple(Tier(threshold, draw(share), draw(fixed), draw(share)) for threshold in [0, *sorted(thresholds)])
    return BonusProgram(
        id=1,
        code="bonus",
        currency=draw(st.sampled_from(["RUB", "JPY", "KWD"])),
        tiers=tiers,
        min_check_for_redeem_minor=draw(st.one_of(st.just(0), small, st.integers(0, MAX_AMOUNT_MINOR))),
        point_value_minor=draw(
            st.one_of(st.sampled_from([1, 50, 100, 1000]), st.integers(1, 10**4), st.integers(1, MAX_AMOUNT_MINOR))
        ),
        points_expire_days=draw(st.one_of(st.none(), st.integers(1, 36_500))),
    )


@st.composite
def near(draw: st.DrawFn, bounds: list[int], top: int) -> int:
    """A value on a bound, one either side of it, or anywhere up to `top`; never negative."""
    anywhere = st.integers(0, top)
    around = st.sampled_from(bounds).flatmap(lambda bound: st.sampled_from([bound - 1, bound, bound + 1]))
    return max(0, draw(st.one_of(around, anywhere)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[BonusProgram, MemberPoints, tuple[int, ...], int | None]:
    program = draw(programs())
    lifetime = draw(near([tier.min_lifetime_spend_minor for tier in program.tiers], MAX_AMOUNT_MINOR))
    check = max(1, draw(near([program.min_check_for_redeem_minor], 10**10)))
    parts = draw(st.integers(1, 4))
    lines = tuple(check // parts + (1 if index < check % parts else 0) for index in range(parts))
    lines = tuple(total for total in lines if total) or (check,)
    balance = draw(st.one_of(st.integers(-1_000, 1_000), st.integers(-(10**9), MAX_POINTS)))
    expired = draw(st.integers(0, 50))  # points of a lapsed lot the sweep has not taken yet: not spendable
    lots = (Lot(1, expired, NOW - timedelta(days=1)),) if expired else ()
    state = MemberPoints(balance + expired, lifetime, lots)
    tier = program.tier_for(lifetime)
    cap = check * tier.redeem_cap_bp // 10_000 // program.point_value_minor
    redeem = draw(
        st.one_of(
            st.none(),
            st.just(0),
            st.sampled_from([cap, cap + 1, max(balance, 0), balance + 1, 1]),
            st.integers(0, min(cap, max(balance, 0))),  # allowed when the check reaches the minimum
            st.integers(0, MAX_POINTS),
        )
    )
    return program, state, lines, redeem


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_rules_engine_prices_a_check_exactly_as_the_program(
    case: tuple[BonusProgram, MemberPoints, tuple[int, ...], int | None],
) -> None:
    program, state, lines, redeem = case
    by_program, by_rules = both(program, state, lines, redeem)
    assert by_rules == by_program  # every field of the quote, or the same refusal in the same words
    # and the compiled form that prices purchases without a published set gives the engine's answer
    assert compiled(program, state, lines, redeem) == by_rules


@settings(max_examples=100, deadline=None)
@given(cases())
def test_the_engine_alone_gives_the_purchase_figures_of_the_program(
    case: tuple[BonusProgram, MemberPoints, tuple[int, ...], int | None],
) -> None:
    """Without the relabelling of `quote_in_force`: quote_from_rules(evaluate(builtin_rule_set(p), facts)) has the
    program's points, cap, redemption, discount and amount due, and its applied rule is the member's tier."""
    program, state, lines, redeem = case
    spendable = points_balance(state, NOW)
    try:
        expected = quote_for(program, state, sum(lines), redeem, NOW)
    except DomainError:
        return  # refusals are compared above
    evaluation = evaluate(builtin_rule_set(program), facts(program, state.lifetime_spend_minor, spendable, lines))
    priced = quote_from_rules(
        evaluation,
        point_value_minor=program.point_value_minor,
        spendable_points=spendable,
        redeem_points=redeem,
        currency=program.currency,
    )
    figures = ("points_to_earn", "max_redeemable_points", "redeem_points", "discount_minor", "amount_due_minor")
    assert {name: getattr(priced, name) for name in figures} == {name: getattr(expected, name) for name in figures}
    assert builtin_tier(program, priced.applied_rules) == expected.tier
    assert len(priced.applied_rules) == 1
    assert priced.rule_set_version == BUILTIN_VERSION


# --- the document and its cache --------------------------------------------------------------------------------


def test_the_small_shop_program_reads_as_three_tier_rules() -> None:
    document = builtin_rule_document(small_shop())
    assert [(rule["code"], rule["condition"]) for rule in document["rules"]] == [
        ("tier-1", "member.lifetime_spend_minor < 1000000"),
        ("tier-2", "member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor < 5000001"),
        ("tier-3", "member.lifetime_spend_minor >= 5000001"),
    ]
    assert document["rules"][1]["effects"] == [
        {"accrue_percent": {"percent": "5"}},
        {"set_redemption": {"cap_percent": "30", "min_check": "1500.00"}},
    ]
    assert SMALL_SHOP_PROGRAM.tiers == small_shop().tiers


def test_a_program_is_compiled_once_and_a_changed_program_again() -> None:
    program = small_shop()
    assert builtin_rule_set(program) is builtin_rule_set(small_shop())
    assert builtin_rule_set(small_shop(min_check_for_redeem_minor=0)) is not builtin_rule_set(program)


def test_fixed_points_per_check_become_an_accrual_of_their_own() -> None:
    program = small_shop(tiers=(Tier(0, 250, 7, 1000),))
    (rule,) = builtin_rule_document(program)["rules"]
    assert rule["condition"] == ""
    assert {"accrue_fixed": {"points": 7, "per": "check"}} in rule["effects"]
    state = MemberPoints(0, 0, ())
    # 2.5 % of 999.99 = 24.99975 → 24 points, plus 7 per check
    assert quote_for(program, state, 99_999, None, NOW).points_to_earn == 31
    assert both(program, state, (99_999,), None)[1].points_to_earn == 31  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("lifetime_minor", "tier"),
    [(0, 1), (9_999_99, 1), (10_000_00, 2), (50_000_00, 2), (50_000_01, 3), (10**12, 3)],
)
def test_the_tier_rule_that_fires_is_the_programs_tier(lifetime_minor: int, tier: int) -> None:
    program = small_shop()
    evaluation = evaluate(builtin_rule_set(program), facts(program, lifetime_minor, 0, (150_000,)))
    assert evaluation.applied_rules == (f"tier-{tier}",)


def test_the_worked_example_of_the_rules_doc() -> None:
    """docs/rules.md: a member with a lifetime spend of 12,000.00 buys for 2,000.00 with 1,000 points."""
    program = small_shop()
    member = facts(program, 12_000_00, 1_000, (2_000_00,))
    earn_only = quote_in_force(None, program, member, spendable_points=1_000, redeem_points=None)
    assert (earn_only.points_to_earn, earn_only.max_redeemable_points) == (100, 600)
    paying = quote_in_force(None, program, member, spendable_points=1_000, redeem_points=600)
    assert (paying.amount_due_minor, paying.points_to_earn) == (1_400_00, 70)
    assert paying.tier == program.tiers[1]


def test_a_published_rule_set_is_not_relabelled() -> None:
    program = small_shop()
    published = builtin_rule_set(small_shop(min_check_for_redeem_minor=0))
    member = facts(program, 0, 100, (1_000_00,))
    priced = quote_in_force(published, program, member, spendable_points=100, redeem_points=None)
    assert priced.tier is None and priced.applied_rules == ("tier-1",)
    assert priced.max_redeemable_points == 100  # the published set's terms: no minimum check


def test_now_is_any_moment() -> None:
    """The built-in rules have no window: the local time does not matter."""
    program = small_shop()
    for hour in (0, 9, 13, 23):
        moment = datetime(2026, 6, 1, hour, tzinfo=UTC)
        member = PurchaseFacts(
            lines=(LineFacts("", 200_000),),
            outlet="o",
            partner="p",
            member=MemberFacts(lifetime_spend_minor=0, points_balance=500),
            now_utc=moment,
            local_time=moment,
        )
        assert quote_in_force(None, program, member, spendable_points=500, redeem_points=None).points_to_earn == 60


def test_the_rules_doc_shows_the_small_shop_program_as_it_is_written() -> None:
    """docs/rules.md's block under "The built-in program is a rule set" is what builtin_rule_document writes."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    section = text.split("## The built-in program is a rule set", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, flags=re.S)
    assert block is not None
    assert yaml.safe_load(block.group(1)) == builtin_rule_document(small_shop())
