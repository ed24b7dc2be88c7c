"""Money, points, dates and percentages written for the reader's language, with Babel.

Money stays integer minor units up to here: the conversion to a Decimal for display is exact (a shift of the decimal
point), never a float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, format_percent

from coalition.domain.money import currency_exponent


def money(amount_minor: int, currency: str, language: str) -> str:
    exponent = currency_exponent(currency)
    return format_currency(Decimal(amount_minor).scaleb(-exponent), currency, locale=language)


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=language)


def basis_points(value_bp: int, language: str) -> str:
    """1250 bp → 12.5 %."""
    return format_percent(Decimal(value_bp).scaleb(-4), format="#,##0.##%", locale=language)


def moment(value: datetime, timezone: str, language: str, style: str = "medium") -> str:
    return format_datetime(value, style, tzinfo=ZoneInfo(timezone), locale=language)


def clock_time(value: datetime, timezone: str, language: str) -> str:
    return format_time(value, "short", tzinfo=ZoneInfo(timezone), locale=language)


def day(value: date, language: str, style: str = "medium") -> str:
    return format_date(value, style, locale=language)
