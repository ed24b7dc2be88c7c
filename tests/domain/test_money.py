"""Money as integer minor units: parsing, formatting and every named rounding step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput
from coalition.domain.money import (
    MAX_AMOUNT_MINOR,
    currency_exponent,
    format_basis_points,
    format_minor,
    format_quantity_milli,
    line_total_minor,
    parse_amount_minor,
    parse_quantity_milli,
    prorate_floor,
    round_down_div,
    round_half_up_div,
    share_of_minor_floor,
)

# --- currencies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "exponent"), [("RUB", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3)])
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["rub", "RU", "RUBL", "", "R1B"])
def test_currency_exponent_rejects_codes_that_are_not_three_capital_letters(currency: str) -> None:
    with pytest.raises(InvalidInput) as error:
        currency_exponent(currency)
    assert error.value.field == "currency"


# --- parsing ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1500.00", 150_000),
        ("1500", 150_000),
        ("1500.5", 150_050),
        ("0.01", 1),
        ("0", 0),
        ("0.00", 0),
        ("007.10", 710),
        ("100000000000.00", MAX_AMOUNT_MINOR),
    ],
)
def test_parse_amount_turns_decimal_strings_into_minor_units(text: str, minor: int) -> None:
    assert parse_amount_minor(text, "RUB") == minor


def test_parse_amount_rejects_more_decimals_than_the_currency_has() -> None:
    with pytest.raises(InvalidInput, match="more than 2 decimal places for RUB") as error:
        parse_amount_minor("10.001", "RUB")
    assert error.value.field == "amount"


@pytest.mark.parametrize("text", ["-1", "-0.01", "-1500.00"])
def test_parse_amount_rejects_negative_amounts(text: str) -> None:
    with pytest.raises(InvalidInput, match="non-negative"):
        parse_amount_minor(text, "RUB")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1,500.00",
        "1 500.00",
        "1500.",
        ".50",
        "+10",
        "1e3",
        "1_000",
        "10.0.0",
        "0x10",
        "1500.00 RUB",
        "1234567890123456",
    ],
)
def test_parse_amount_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount_minor(text, "RUB")


# Only ASCII digits, no surrounding spaces (issue 12, hole 11): Python's \\d and int() take any script's digits.
NON_ASCII_OR_PADDED = [
    "\u0661\u0665\u0660\u0660",  # Arabic-Indic 1500
    "\uff11\uff15\uff10\uff10.\uff10\uff10",  # full-width 1500.00
    "1500.\u0660\u0660",
    "\u06f1\u06f5",  # extended Arabic-Indic (Persian) 15
    "\u0967\u0966",  # Devanagari 10
    "\u00b2",  # superscript two: isdigit() says yes, int() says no
    " 42.42",
    "42.42 ",
    "  42.42 ",
    "42.42\n",
    "\t42",
    "\u00a042",
]


@pytest.mark.parametrize("text", NON_ASCII_OR_PADDED)
def test_parse_amount_takes_only_ascii_digits_without_spaces(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_amount_minor(text, "RUB", field="unit_price")
    assert error.value.field == "unit_price"


@pytest.mark.parametrize("text", [*NON_ASCII_OR_PADDED, " 3 ", "3\n"])
def test_parse_quantity_takes_only_ascii_digits_without_spaces(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_quantity_milli(text, field="items[0].quantity")
    assert error.value.field == "items[0].quantity"


@pytest.mark.parametrize("value", [1500, 1500.0, None, b"1500.00", True, ["1500.00"]])
def test_parse_amount_rejects_anything_but_a_string(value: object) -> None:
    with pytest.raises(InvalidInput, match="decimal string") as error:
        parse_amount_minor(value, "RUB", field="unit_price")
    assert error.value.field == "unit_price"


def test_parse_amount_in_yen_has_no_decimals() -> None:
    assert parse_amount_minor("1500", "JPY") == 1500
    assert parse_amount_minor("0", "JPY") == 0
    with pytest.raises(InvalidInput, match="more than 0 decimal places for JPY"):
        parse_amount_minor("1500.0", "JPY")


def test_parse_amount_in_a_three_decimal_currency() -> None:
    assert parse_amount_minor("1.5", "BHD") == 1_500
    assert parse_amount_minor("1.234", "BHD") == 1_234
    with pytest.raises(InvalidInput):
        parse_amount_minor("1.2345", "BHD")


def test_parse_amount_rejects_an_unknown_currency_code() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_amount_minor("10.00", "rub")
    assert error.value.field == "currency"


# --- formatting -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (150_000, "RUB", "1500.00"),
        (1, "RUB", "0.01"),
        (0, "RUB", "0.00"),
        (-150_050, "RUB", "-1500.50"),
        (-5, "RUB", "-0.05"),
        (1500, "JPY", "1500"),
        (-7, "JPY", "-7"),
        (1_005, "BHD", "1.005"),
    ],
)
def test_format_minor_prints_exactly_the_currency_decimals(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text


@given(st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR), st.sampled_from(["RUB", "EUR", "BHD"]))
def test_parse_of_format_is_the_identity(minor: int, currency: str) -> None:
    assert parse_amount_minor(format_minor(minor, currency), currency) == minor


def test_parse_amount_refuses_more_than_the_largest_amount() -> None:
    with pytest.raises(InvalidInput, match="larger than this server accepts") as error:
        parse_amount_minor("100000000000.01", "RUB", field="amount")
    assert error.value.field == "amount"


@given(st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR))
def test_parse_of_format_is_the_identity_in_yen(minor: int) -> None:
    assert parse_amount_minor(format_minor(minor, "JPY"), "JPY") == minor


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_MINOR))
def test_format_of_a_negative_amount_is_the_positive_one_with_a_minus(minor: int) -> None:
    assert format_minor(-minor, "RUB") == "-" + format_minor(minor, "RUB")


@pytest.mark.parametrize(
    ("share_bp", "text"),
    [(1500, "15 %"), (250, "2.5 %"), (1, "0.01 %"), (0, "0 %"), (10_000, "100 %"), (1050, "10.5 %")],
)
def test_format_basis_points(share_bp: int, text: str) -> None:
    assert format_basis_points(share_bp) == text


# --- quantities -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "milli"), [(2, 2_000), ("2", 2_000), ("1.5", 1_500), ("0.001", 1), ("0.25", 250), ("3", 3_000)]
)
def test_parse_quantity_in_thousandths(value: object, milli: int) -> None:
    assert parse_quantity_milli(value) == milli


@pytest.mark.parametrize("value", [0, "0", "0.000", -1, "-1", "1.2345", "abc", "", True, 1.5, None])
def test_parse_quantity_rejects_zero_negative_and_malformed(value: object) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_quantity_milli(value)
    assert error.value.field == "quantity"


@pytest.mark.parametrize(("milli", "text"), [(1_000, "1"), (1_500, "1.5"), (1, "0.001"), (2_250, "2.25")])
def test_format_quantity(milli: int, text: str) -> None:
    assert format_quantity_milli(milli) == text


@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_parse_of_format_quantity_is_the_identity(milli: int) -> None:
    assert parse_quantity_milli(format_quantity_milli(milli)) == milli


# --- rounding steps ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d", "q"), [(0, 7, 0), (6, 3, 2), (7, 3, 2), (8, 3, 2), (9, 3, 3), (99, 100, 0)])
def test_round_down_div(n: int, d: int, q: int) -> None:
    assert round_down_div(n, d) == q


@pytest.mark.parametrize(("n", "d"), [(-1, 3), (1, 0), (1, -3)])
def test_round_down_div_refuses_negative_numerators_and_non_positive_denominators(n: int, d: int) -> None:
    with pytest.raises(ValueError):
        round_down_div(n, d)


@pytest.mark.parametrize(
    ("n", "d", "q"), [(0, 10, 0), (4, 10, 0), (5, 10, 1), (14, 10, 1), (15, 10, 2), (1, 2, 1), (1, 3, 0), (2, 3, 1)]
)
def test_round_half_up_div(n: int, d: int, q: int) -> None:
    assert round_half_up_div(n, d) == q


@pytest.mark.parametrize(("n", "d"), [(-1, 3), (1, 0), (1, -3)])
def test_round_half_up_div_refuses_negative_numerators_and_non_positive_denominators(n: int, d: int) -> None:
    with pytest.raises(ValueError):
        round_half_up_div(n, d)


@given(st.integers(min_value=0, max_value=10**18), st.integers(min_value=1, max_value=10**9))
def test_round_half_up_div_is_within_half_a_unit_with_halves_up(n: int, d: int) -> None:
    q = round_half_up_div(n, d)
    # |n/d - q| <= 1/2, and exactly 1/2 only when q is the upper neighbour: -d <= 2(n - qd) < d.
    assert -d <= 2 * (n - q * d) < d


@given(st.integers(min_value=0, max_value=10**18), st.integers(min_value=1, max_value=10**9))
def test_round_down_div_is_the_largest_whole_not_above(n: int, d: int) -> None:
    q = round_down_div(n, d)
    assert q * d <= n < (q + 1) * d


@pytest.mark.parametrize(
    ("quantity_milli", "unit_price_minor", "total"),
    [
        (1_000, 12_345, 12_345),  # 1 × 123.45
        (3_000, 999, 2_997),  # 3 × 9.99
        (1_500, 333, 500),  # 1.5 × 3.33 = 4.995 → 5.00 (half up)
        (1_500, 331, 497),  # 1.5 × 3.31 = 4.965 → 4.97
        (250, 1_001, 250),  # 0.25 × 10.01 = 2.5025 → 2.50
        (333, 100, 33),  # 0.333 × 1.00 = 0.333 → 0.33
        (1, 500, 1),  # 0.001 × 5.00 = 0.005 → 0.01 (half up)
        (1, 499, 0),  # 0.001 × 4.99 = 0.00499 → 0.00
    ],
)
def test_line_total_rounds_half_up_to_the_minor_unit(quantity_milli: int, unit_price_minor: int, total: int) -> None:
    assert line_total_minor(quantity_milli, unit_price_minor) == total


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=10**9))
def test_line_total_of_whole_quantities_is_exact(units: int, unit_price_minor: int) -> None:
    assert line_total_minor(units * 1000, unit_price_minor) == units * unit_price_minor


@pytest.mark.parametrize(
    ("amount", "share_bp", "share"),
    [
        (150_000, 1_500, 22_500),  # 15 % of 1500.00 = 225.00
        (199_999, 1_500, 29_999),  # 15 % of 1999.99 = 299.9985 → 299.99
        (100, 300, 3),
        (99, 300, 2),  # 2.97 → 2
        (12_345, 10_000, 12_345),
        (12_345, 0, 0),
    ],
)
def test_share_of_minor_floor(amount: int, share_bp: int, share: int) -> None:
    assert share_of_minor_floor(amount, share_bp) == share


def test_share_of_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        share_of_minor_floor(-1, 1500)


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10_000))
def test_a_share_never_exceeds_the_amount_and_is_the_floor(amount: int, share_bp: int) -> None:
    share = share_of_minor_floor(amount, share_bp)
    assert 0 <= share <= amount
    assert share * 10_000 <= amount * share_bp < (share + 1) * 10_000


@pytest.mark.parametrize(
    ("total", "part", "whole", "share"),
    [(51, 500, 2_000, 12), (51, 1_000, 2_000, 25), (51, 2_000, 2_000, 51), (10, 0, 3, 0), (10, 1, 3, 3), (10, 2, 3, 6)],
)
def test_prorate_floor(total: int, part: int, whole: int, share: int) -> None:
    assert prorate_floor(total, part, whole) == share


@pytest.mark.parametrize(("part", "whole"), [(4, 3), (-1, 3), (0, 0), (1, -1)])
def test_prorate_floor_needs_a_part_within_a_positive_whole(part: int, whole: int) -> None:
    with pytest.raises(ValueError):
        prorate_floor(10, part, whole)


@st.composite
def whole_split_into_parts(draw: st.DrawFn) -> tuple[int, list[int]]:
    parts = draw(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20))
    return sum(parts), parts


@given(st.integers(min_value=0, max_value=10**12), whole_split_into_parts())
def test_cumulative_prorated_parts_sum_exactly_to_the_total(total: int, split: tuple[int, list[int]]) -> None:
    whole, parts = split
    done, shares = 0, []
    for part in parts:
        shares.append(prorate_floor(total, done + part, whole) - prorate_floor(total, done, whole))
        done += part
    assert sum(shares) == total
    assert all(share >= 0 for share in shares)
