"""Money, points, dates and percentages written for the reader's language, with Babel.

Money stays integer minor units up to here: the conversion to a Decimal for display is exact (a shift of the decimal
point), never a float.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, format_percent

from coalition.domain.money import currency_exponent

# CLDR writes a currency without a symbol of its own in the language as its code glued to the number ("RUB2,000.00"
# in English); a no-break space keeps it readable and on one line ("RUB 2,000.00").
_GLUED_CODE = re.compile(r"^(-?)([A-Z]{3})(?=\d)")


def money(amount_minor: int, currency: str, language: str) -> str:
    exponent = currency_exponent(currency)
    text = format_currency(Decimal(amount_minor).scaleb(-exponent), currency, locale=language)
    return _GLUED_CODE.sub("\\1\\2\u00a0", text)


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=language)


def basis_points(value_bp: int, language: str) -> str:
    """1250 bp → 12.5 %."""
    # the language's own pattern (a space before % in Russian), every decimal kept: 12.5 % is never shown as 13 %
    return format_percent(Decimal(value_bp).scaleb(-4), locale=language, decimal_quantization=False)


def moment(value: datetime, timezone: str, language: str, style: str = "medium") -> str:
    return format_datetime(value, style, tzinfo=ZoneInfo(timezone), locale=language)


def clock_time(value: datetime, timezone: str, language: str) -> str:
    return format_time(value, "short", tzinfo=ZoneInfo(timezone), locale=language)


def day(value: date, language: str, style: str = "medium") -> str:
    return format_date(value, style, locale=language)
