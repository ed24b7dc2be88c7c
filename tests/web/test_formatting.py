"""Money, numbers and percentages written for the reader's language, exactly, from integer minor units."""

from __future__ import annotations

import pytest

from coalition.adapters.web.formatting import basis_points, money, number


@pytest.mark.parametrize(
    ("amount_minor", "currency", "language", "shown"),
    [
        (200_000, "RUB", "en", "RUB\xa02,000.00"),  # CLDR glues a code to the number: we keep a no-break space
        (-6_000, "RUB", "en", "-RUB\xa060.00"),
        (200_000, "RUB", "ru", "2\xa0000,00\xa0₽"),
        (-6_000, "RUB", "ru", "-60,00\xa0₽"),
        (150, "EUR", "en", "€1.50"),
        (123_456_789_012_345_678, "RUB", "en", "RUB\xa01,234,567,890,123,456.78"),  # no float on the way
        (5, "JPY", "en", "¥5"),
    ],
)
def test_money_is_written_for_the_language(amount_minor: int, currency: str, language: str, shown: str) -> None:
    assert money(amount_minor, currency, language) == shown


def test_numbers_and_percentages_follow_the_language() -> None:
    assert number(1234567, "en") == "1,234,567"
    assert number(1234567, "ru") == "1\xa0234\xa0567"
    assert basis_points(1250, "en") == "12.5%"
    assert basis_points(500, "ru") == "5\xa0%"
    assert basis_points(333, "ru") == "3,33\xa0%"
