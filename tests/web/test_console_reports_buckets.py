"""The report's buckets are the outlet's own hours and days: clock changes, half-hour zones and midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from coalition.application.reports import Figures, bucket_key, bucket_starts, check_period
from coalition.domain.errors import InvalidInput


def test_a_day_has_an_hour_per_bucket_from_the_outlets_midnight() -> None:
    starts = bucket_starts(date(2026, 3, 10), date(2026, 3, 10), "Europe/Moscow", "hour")
    assert len(starts) == 25  # 24 hours and the end of the last
    assert starts[0] == datetime(2026, 3, 9, 21, tzinfo=UTC)
    assert starts[-1] == datetime(2026, 3, 10, 21, tzinfo=UTC)
    assert [bucket_key(starts, n, "Europe/Moscow", "hour", date(2026, 3, 10)) for n in (0, 9, 23)] == [0, 9, 23]


def test_a_day_when_clocks_go_back_has_25_hours_and_the_repeated_hour_shares_its_bar() -> None:
    day = date(2026, 10, 25)  # Berlin: 03:00 summer time becomes 02:00 winter time
    starts = bucket_starts(day, day, "Europe/Berlin", "hour")
    assert len(starts) - 1 == 25
    keys = [bucket_key(starts, n, "Europe/Berlin", "hour", day) for n in range(25)]
    assert keys.count(2) == 2 and sorted(set(keys)) == list(range(24))


def test_a_day_when_clocks_go_forward_has_23_hours() -> None:
    day = date(2026, 3, 29)
    starts = bucket_starts(day, day, "Europe/Berlin", "hour")
    assert len(starts) - 1 == 23
    assert 2 not in [bucket_key(starts, n, "Europe/Berlin", "hour", day) for n in range(23)]


def test_a_half_hour_zone_starts_its_hours_at_the_half_hour_utc() -> None:
    starts = bucket_starts(date(2026, 3, 10), date(2026, 3, 10), "Asia/Kolkata", "hour")
    assert starts[0] == datetime(2026, 3, 9, 18, 30, tzinfo=UTC)
    assert all(later - earlier == timedelta(hours=1) for earlier, later in pairwise(starts))


def test_a_period_has_a_bucket_per_local_day() -> None:
    starts = bucket_starts(date(2026, 3, 1), date(2026, 3, 31), "Europe/Berlin", "day")
    assert len(starts) == 32
    assert starts[0] == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert starts[-1] == datetime(2026, 3, 31, 22, tzinfo=UTC)  # summer time since the 29th
    assert bucket_key(starts, 30, "Europe/Berlin", "day", date(2026, 3, 1)) == date(2026, 3, 31)


def test_periods_are_checked() -> None:
    check_period(date(2026, 1, 1), date(2026, 4, 2))  # 92 days
    with pytest.raises(InvalidInput, match="at most 92 days") as too_long:
        check_period(date(2026, 1, 1), date(2026, 4, 3))
    assert too_long.value.field == "to"
    with pytest.raises(InvalidInput, match="comes before"):
        check_period(date(2026, 1, 2), date(2026, 1, 1))


def test_the_average_check_is_rounded_half_up_and_zero_without_checks() -> None:
    assert Figures().average_check_minor == 0
    assert Figures(checks=3, revenue_minor=484567).average_check_minor == 161522  # 1615.223…
    assert Figures(checks=2, revenue_minor=3).average_check_minor == 2  # 1.5 → 2
