"""The seed's small-shop bonus program, exactly as the demo network runs it.

Lifetime spend below 10,000 → accrue 3 %, points pay up to 15 % of a check; 10,000–50,000 → 5 % and 30 %;
above 50,000 → 7 % and 50 %; points pay only checks from 1,500; 1 point = 1 RUB = 100 minor units.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.bonus import BonusProgram, Quote, Tier, points_earned, quote, redeem_cap_points
from coalition.domain.errors import InsufficientPoints, InvalidInput, RedeemNotAllowed
from tests.domain.support import small_shop

PROGRAM = small_shop()


def rub(units: str) -> int:
    """'1500.00' → 150000 minor units (a test shorthand, independent of the code under test)."""
    whole, _, cents = units.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0"))


def test_the_demo_program_is_the_seeds_small_shop_service() -> None:
    assert [
        (t.min_lifetime_spend_minor, t.accrual_bp, t.redeem_cap_bp, t.fixed_points_per_check) for t in PROGRAM.tiers
    ] == [(0, 300, 1500, 0), (1_000_000, 500, 3000, 0), (5_000_001, 700, 5000, 0)]
    assert PROGRAM.min_check_for_redeem_minor == rub("1500.00")
    assert PROGRAM.point_value_minor == 100
    assert PROGRAM.points_asset == "points:bonus"
    assert PROGRAM.money_asset == "money:RUB"


# --- tiers by lifetime spend ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "accrual_bp", "cap_bp"),
    [
        ("0.00", 300, 1500),
        ("9999.99", 300, 1500),
        ("10000.00", 500, 3000),
        ("10000.01", 500, 3000),
        ("49999.99", 500, 3000),
        ("50000.00", 500, 3000),
        ("50000.01", 700, 5000),
        ("1000000.00", 700, 5000),
    ],
)
def test_tier_is_chosen_by_lifetime_spend(lifetime: str, accrual_bp: int, cap_bp: int) -> None:
    tier = PROGRAM.tier_for(rub(lifetime))
    assert (tier.accrual_bp, tier.redeem_cap_bp) == (accrual_bp, cap_bp)


def test_lifetime_spend_of_exactly_50000_is_still_in_the_middle_tier() -> None:
    """'10,000–50,000 → 5 %; above 50,000 → 7 %': 50,000.00 itself is not above 50,000."""
    tier = PROGRAM.tier_for(rub("50000.00"))
    assert (tier.accrual_bp, tier.redeem_cap_bp) == (500, 3000)
    assert quote_at("50000.00", "2000.00").points_to_earn == 100
    assert quote_at("50000.00", "2000.00").max_redeemable_points == 600


def quote_at(lifetime: str, check: str, *, balance: int = 10_000, redeem: int | None = None) -> Quote:
    return quote(
        PROGRAM,
        lifetime_spend_minor=rub(lifetime),
        spendable_points=balance,
        check_minor=rub(check),
        redeem_points=redeem,
    )


@pytest.mark.parametrize(
    ("lifetime", "max_redeemable", "points_to_earn"),
    [
        ("9999.99", 300, 60),  # 15 % of 2,000 = 300; 3 % of 2,000 = 60
        ("10000.00", 600, 100),  # 30 % and 5 %
        ("49999.99", 600, 100),
        ("50000.00", 600, 100),
        ("50000.01", 1000, 140),  # 50 % and 7 %
    ],
)
def test_worked_quotes_around_the_tier_boundaries(lifetime: str, max_redeemable: int, points_to_earn: int) -> None:
    q = quote_at(lifetime, "2000.00")
    assert q.max_redeemable_points == max_redeemable
    assert q.points_to_earn == points_to_earn
    assert q.amount_due_minor == rub("2000.00")
    assert q.redeem_points == 0
    assert q.points_balance == 10_000
    assert q.check_minor == rub("2000.00")


def test_worked_purchase_with_points_at_the_10000_boundary() -> None:
    q = quote_at("10000.00", "3000.00", balance=1_000, redeem=900)  # cap 30 % of 3,000 = 900
    assert q.amount_due_minor == rub("2100.00")
    assert q.points_to_earn == 105  # 5 % of 2,100 paid in money


def test_worked_purchase_with_points_just_above_50000() -> None:
    q = quote_at("50000.01", "3000.00", balance=2_000, redeem=1_500)  # cap 50 % of 3,000 = 1,500
    assert q.amount_due_minor == rub("1500.00")
    assert q.points_to_earn == 105  # 7 % of 1,500


# --- accrual ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "earned"),
    [("1000.00", 30), ("1234.56", 37), ("3333.33", 99), ("33.33", 0), ("33.34", 1), ("0.01", 0)],
)
def test_accrual_rounds_down_to_whole_points(check: str, earned: int) -> None:
    assert quote_at("0.00", check).points_to_earn == earned


def test_points_are_earned_only_on_the_part_paid_in_money() -> None:
    q = quote_at("0.00", "2000.00", balance=500, redeem=300)
    assert q.amount_due_minor == rub("1700.00")
    assert q.points_to_earn == 51  # 3 % of 1,700, not of 2,000


def fixed_and_percent(fixed: int, accrual_bp: int, cap_bp: int = 1500) -> BonusProgram:
    return small_shop(tiers=(Tier(0, accrual_bp, fixed, cap_bp),), min_check_for_redeem_minor=0)


def test_fixed_points_per_check_alone() -> None:
    program = fixed_and_percent(fixed=10, accrual_bp=0)
    assert points_earned(program, program.tiers[0], rub("0.01")) == 10
    assert points_earned(program, program.tiers[0], rub("99999.00")) == 10


def test_fixed_points_are_added_to_the_percent() -> None:
    program = fixed_and_percent(fixed=5, accrual_bp=300)
    assert points_earned(program, program.tiers[0], rub("1000.00")) == 35
    assert points_earned(program, program.tiers[0], rub("33.33")) == 5


def test_a_check_paid_entirely_with_points_earns_only_the_fixed_part() -> None:
    program = fixed_and_percent(fixed=5, accrual_bp=300, cap_bp=10_000)
    q = quote(program, lifetime_spend_minor=0, spendable_points=1_000, check_minor=rub("500.00"), redeem_points=500)
    assert q.amount_due_minor == 0
    assert q.points_to_earn == 5


# --- redemption limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "cap"),
    [("1500.00", 225), ("1999.99", 299), ("2000.00", 300), ("1499.99", 0), ("100.00", 0)],
)
def test_redeem_cap_is_a_share_of_the_check_from_the_minimum(check: str, cap: int) -> None:
    assert redeem_cap_points(PROGRAM, PROGRAM.tiers[0], rub(check)) == cap


def test_max_redeemable_is_limited_by_the_balance() -> None:
    assert quote_at("0.00", "2000.00", balance=120).max_redeemable_points == 120
    assert quote_at("0.00", "2000.00", balance=0).max_redeemable_points == 0


def test_max_redeemable_is_zero_for_a_member_in_debt() -> None:
    q = quote_at("0.00", "2000.00", balance=-40)
    assert q.max_redeemable_points == 0
    assert q.points_balance == -40


def test_redeeming_exactly_the_cap_is_allowed() -> None:
    q = quote_at("0.00", "1500.00", redeem=225)
    assert q.amount_due_minor == rub("1275.00")
    assert q.points_to_earn == 38  # 3 % of 1,275 = 38.25


def test_redeeming_above_the_cap_is_refused() -> None:
    with pytest.raises(RedeemNotAllowed, match=r"at most 300 points \(15 % of this check\) may be redeemed") as error:
        quote_at("0.00", "2000.00", redeem=301)
    assert error.value.field == "redeem_points"
    assert error.value.code == "redeem-not-allowed"


def test_redeeming_on_a_check_below_the_minimum_is_refused() -> None:
    with pytest.raises(RedeemNotAllowed, match=r"points pay only checks from 1500\.00"):
        quote_at("0.00", "1499.99", redeem=1)


def test_a_check_below_the_minimum_without_redemption_is_fine() -> None:
    q = quote_at("0.00", "1499.99", redeem=0)
    assert q.max_redeemable_points == 0
    assert q.points_to_earn == 44  # 3 % of 1,499.99 = 44.9997


def test_redeeming_more_than_the_balance_is_refused() -> None:
    with pytest.raises(InsufficientPoints, match="200 points asked, the member has 100") as error:
        quote_at("0.00", "2000.00", balance=100, redeem=200)
    assert error.value.code == "insufficient-points"


def test_redeeming_with_a_debt_reports_a_balance_of_zero() -> None:
    with pytest.raises(InsufficientPoints, match="1 points asked, the member has 0"):
        quote_at("0.00", "2000.00", balance=-30, redeem=1)


def test_negative_redemption_is_invalid() -> None:
    with pytest.raises(InvalidInput) as error:
        quote_at("0.00", "2000.00", redeem=-1)
    assert error.value.field == "redeem_points"


@pytest.mark.parametrize("check_minor", [0, -1, -150_000])
def test_a_check_must_be_positive(check_minor: int) -> None:
    with pytest.raises(InvalidInput) as error:
        quote(PROGRAM, lifetime_spend_minor=0, spendable_points=0, check_minor=check_minor, redeem_points=None)
    assert error.value.field == "amount"


# --- point value other than one currency unit -------------------------------------------------------------------


def test_half_a_rouble_per_point_doubles_points_earned_and_redeemable() -> None:
    program = small_shop(point_value_minor=50)
    q = quote(program, lifetime_spend_minor=0, spendable_points=10_000, check_minor=rub("2000.00"), redeem_points=None)
    assert q.max_redeemable_points == 600  # 15 % of 2,000 = 300.00 RUB = 600 points of 0.50
    assert q.points_to_earn == 120  # 3 % of 2,000 = 60.00 RUB
    q = quote(program, lifetime_spend_minor=0, spendable_points=10_000, check_minor=rub("2000.00"), redeem_points=600)
    assert q.amount_due_minor == rub("1700.00")
    assert q.points_to_earn == 102
    assert program.points_value_minor(600) == rub("300.00")


def test_ten_roubles_per_point_rounds_cap_and_accrual_down() -> None:
    program = small_shop(point_value_minor=1_000)
    q = quote(program, lifetime_spend_minor=0, spendable_points=100, check_minor=rub("1999.99"), redeem_points=29)
    assert q.max_redeemable_points == 29  # 299.99 RUB of cap → 29 whole points
    assert q.amount_due_minor == rub("1709.99")
    assert q.points_to_earn == 5  # 3 % of 1,709.99 = 51.2997 RUB → 5 points of 10 RUB
    with pytest.raises(RedeemNotAllowed):
        quote(program, lifetime_spend_minor=0, spendable_points=100, check_minor=rub("1999.99"), redeem_points=30)


@given(
    lifetime=st.integers(0, 10**9),
    balance=st.integers(-1_000, 10**6),
    check=st.integers(1, 10**9),
    point_value=st.sampled_from([1, 50, 100, 1_000]),
    data=st.data(),
)
def test_any_allowed_redemption_keeps_amount_due_within_the_check(
    lifetime: int, balance: int, check: int, point_value: int, data: st.DataObject
) -> None:
    program = small_shop(point_value_minor=point_value)
    tier = program.tier_for(lifetime)
    q = quote(program, lifetime_spend_minor=lifetime, spendable_points=balance, check_minor=check, redeem_points=None)
    assert q.max_redeemable_points == min(max(balance, 0), redeem_cap_points(program, tier, check))
    redeem = data.draw(st.integers(0, q.max_redeemable_points))
    q = quote(program, lifetime_spend_minor=lifetime, spendable_points=balance, check_minor=check, redeem_points=redeem)
    assert q.amount_due_minor == check - redeem * point_value
    assert check - q.amount_due_minor <= check * tier.redeem_cap_bp // 10_000
    assert q.points_to_earn * point_value * 10_000 <= q.amount_due_minor * tier.accrual_bp
    assert (q.points_to_earn + 1) * point_value * 10_000 > q.amount_due_minor * tier.accrual_bp


# --- program validation -----------------------------------------------------------------------------------------

FIRST = Tier(0, 300, 0, 1500)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tiers": ()}, "tiers", "a tier starting at a lifetime spend of 0"),
        ({"tiers": (Tier(100, 300, 0, 1500),)}, "tiers", "a tier starting at a lifetime spend of 0"),
        ({"tiers": (FIRST, Tier(100, 500, 0, 3000), Tier(100, 700, 0, 5000))}, "tiers", "strictly increasing"),
        ({"tiers": (FIRST, Tier(500, 500, 0, 3000), Tier(100, 700, 0, 5000))}, "tiers", "strictly increasing"),
        ({"point_value_minor": 0}, "point_value", "worth more than zero"),
        ({"point_value_minor": -100}, "point_value", "worth more than zero"),
        ({"min_check_for_redeem_minor": -1}, "min_check_for_redeem", "cannot be negative"),
        ({"points_expire_days": 0}, "points_expire_days", "at least one day"),
        ({"points_expire_days": -30}, "points_expire_days", "at least one day"),
    ],
)
def test_invalid_programs_are_refused(changes: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        small_shop(**changes)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("tier_args", "message"),
    [
        ((-1, 300, 0, 1500), "cannot be negative"),
        ((0, 300, -5, 1500), "cannot be negative"),
        ((0, -1, 0, 1500), "accrual must be between"),
        ((0, 10_001, 0, 1500), "accrual must be between"),
        ((0, 300, 0, -1), "redemption cap must be between"),
        ((0, 300, 0, 10_001), "redemption cap must be between"),
    ],
)
def test_invalid_tiers_are_refused(tier_args: tuple[int, int, int, int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        Tier(*tier_args)
    assert error.value.field == "tiers"


def test_limits_of_a_valid_tier_and_program() -> None:
    tier = Tier(0, 10_000, 0, 10_000)
    program = small_shop(tiers=(tier,), min_check_for_redeem_minor=0, points_expire_days=1, point_value_minor=1)
    assert program.tier_for(10**12) is tier
