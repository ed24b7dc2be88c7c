"""Money as integer minor units, with every rounding step named.

Amounts travel as decimal strings ("1500.00") at the edges and as integers of minor units inside.
No float ever holds an amount.
"""

from __future__ import annotations

import re

from coalition.domain.errors import InvalidInput

# ISO 4217 minor-unit exponents for currencies whose exponent is not 2.
_EXPONENT_EXCEPTIONS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
# The whole grammar of an amount: ASCII digits only (`\d` and int() also take Arabic-Indic or full-width digits),
# matched in full (no surrounding spaces; `$` alone would let a trailing newline through). The sign is the
# currency's business, refused below where an amount may not be negative.
_AMOUNT = re.compile(r"(?P<sign>-?)(?P<units>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
_MAX_UNIT_DIGITS = 15
_QUANTITY_SCALE = 1000  # quantities are kept in thousandths (grams of a kilogram)
_QUANTITY = re.compile(r"(?P<units>[0-9]{1,9})(?:\.(?P<fraction>[0-9]{1,3}))?")

BASIS_POINTS_PER_WHOLE = 10_000
# 100 billion units of a two-decimal currency: far above any check, far below what a posting may hold.
MAX_AMOUNT_MINOR = 10**13
_MINOR_PER_UNIT = (1, 10, 100, 1000)  # indexed by currency exponent


_KNOWN_EXPONENTS: dict[str, int] = {}  # the codes already checked (a handful): every amount formatted asks


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    known = _KNOWN_EXPONENTS.get(currency)
    if known is not None:
        return known
    if not _CURRENCY_CODE.match(currency):
        raise InvalidInput(f"'{currency}' is not an ISO 4217 currency code", field="currency")
    exponent = _EXPONENT_EXCEPTIONS.get(currency, 2)
    if len(_KNOWN_EXPONENTS) < 1000:  # bounded whatever codes come in (a valid code has 26³ spellings)
        _KNOWN_EXPONENTS[currency] = exponent
    return exponent


def parse_amount_minor(text: object, currency: str, *, field: str = "amount") -> int:
    """Parse a non-negative decimal string into minor units; reject more decimals than the currency has."""
    if not isinstance(text, str):
        raise InvalidInput('an amount must be a decimal string such as "1500.00"', field=field)
    match = _AMOUNT.fullmatch(text)
    if match is None or match.group("sign") or len(match.group("units")) > _MAX_UNIT_DIGITS:
        raise InvalidInput(f"'{text}' is not a non-negative decimal amount such as \"1500.00\"", field=field)
    exponent = currency_exponent(currency)
    fraction = match.group("fraction") or ""
    if len(fraction) > exponent:
        raise InvalidInput(f"'{text}' has more than {exponent} decimal places for {currency}", field=field)
    amount_minor = int(match.group("units")) * _MINOR_PER_UNIT[exponent] + int(fraction.ljust(exponent, "0") or "0")
    if amount_minor > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"'{text}' is larger than this server accepts", field=field)
    return amount_minor


def format_minor(amount_minor: int, currency: str) -> str:
    """Format minor units as a decimal string with exactly the currency's decimal places."""
    exponent = currency_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    units, fraction = divmod(abs(amount_minor), _MINOR_PER_UNIT[exponent])
    if exponent == 0:
        return f"{sign}{units}"
    return f"{sign}{units}.{fraction:0{exponent}d}"


def parse_quantity_milli(text: object, *, field: str = "quantity") -> int:
    """Parse a positive quantity (integer or up to three decimals) into thousandths."""
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise InvalidInput("a quantity must be an integer or a decimal string", field=field)
    match = _QUANTITY.fullmatch(str(text))
    if match is None:
        raise InvalidInput(f"'{text}' is not a positive quantity with at most 3 decimals", field=field)
    fraction = (match.group("fraction") or "").ljust(3, "0")
    quantity_milli = int(match.group("units")) * _QUANTITY_SCALE + int(fraction)
    if quantity_milli <= 0:
        raise InvalidInput("a quantity must be greater than zero", field=field)
    return quantity_milli


def format_quantity_milli(quantity_milli: int) -> str:
    units, fraction = divmod(quantity_milli, _QUANTITY_SCALE)
    return str(units) if fraction == 0 else f"{units}.{fraction:03d}".rstrip("0")


def format_basis_points(share_bp: int) -> str:
    """1500 → "15 %", 250 → "2.5 %"."""
    whole, fraction = divmod(share_bp, 100)
    return f"{whole} %" if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0") + " %"


# --- rounding steps -------------------------------------------------------------------------------------------


def round_down_div(numerator: int, denominator: int) -> int:
    """Floor division of non-negative integers: 'round down to a whole unit'."""
    if denominator <= 0 or numerator < 0:
        raise ValueError("round_down_div takes a non-negative numerator and a positive denominator")
    return numerator // denominator


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Division rounded to the nearest integer, halves away from zero (numerator non-negative)."""
    if denominator <= 0 or numerator < 0:
        raise ValueError("round_half_up_div takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def line_total_minor(quantity_milli: int, unit_price_minor: int) -> int:
    """A basket line's total: quantity × unit price, rounded half up to the minor unit."""
    return round_half_up_div(quantity_milli * unit_price_minor, _QUANTITY_SCALE)


def share_of_minor_floor(amount_minor: int, share_bp: int) -> int:
    """`share_bp` basis points of an amount, rounded down to the minor unit."""
    return round_down_div(amount_minor * share_bp, BASIS_POINTS_PER_WHOLE)


def prorate_floor(total: int, part: int, whole: int) -> int:
    """`total` × part / whole, rounded down. Used cumulatively so that the parts of a whole add up exactly."""
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError("prorate_floor needs 0 <= part <= whole and whole > 0")
    return round_down_div(total * part, whole)
