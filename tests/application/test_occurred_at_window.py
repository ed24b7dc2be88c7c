"""The window a till's `occurred_at` must fall in: its bounds remembered for the last `now`, never stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from coalition.application.occurred_at import OccurredAtWindow
from coalition.domain.errors import InvalidInput

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))


def test_a_sale_inside_the_window_keeps_its_moment_and_none_is_now() -> None:
    window = OccurredAtWindow(max_age_hours=72, max_ahead_minutes=5)
    inside = datetime(2026, 12, 5, 15, 0, tzinfo=MOSCOW)
    assert window.moment(inside, NOW) is inside
    assert window.moment(None, NOW) is NOW
    assert window.moment(NOW - timedelta(hours=72), NOW) == NOW - timedelta(hours=72)  # the bounds are inside
    assert window.moment(NOW + timedelta(minutes=5), NOW) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("occurred_at", "words"),
    [
        (NOW - timedelta(hours=72, microseconds=1), "more than 72 hours before"),
        ((NOW + timedelta(minutes=5, seconds=1)).astimezone(MOSCOW), "more than 5 minutes after"),
        (datetime(2026, 12, 7, 11, 0), "needs a time zone offset"),
    ],
)
def test_a_sale_outside_the_window_is_refused_naming_the_field(occurred_at: datetime, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        OccurredAtWindow(max_age_hours=72, max_ahead_minutes=5).moment(occurred_at, NOW)
    assert refused.value.field == "occurred_at"
    assert words in refused.value.detail


def test_the_bounds_follow_each_new_now() -> None:
    window = OccurredAtWindow(max_age_hours=1, max_ahead_minutes=1)
    sale = NOW - timedelta(minutes=30)
    assert window.moment(sale, NOW) is sale  # remembered for NOW
    later = NOW + timedelta(hours=1)
    with pytest.raises(InvalidInput):
        window.moment(sale, later)  # 90 minutes old for the later clock: not the bounds of NOW
    assert window.bounds(later) == (later - timedelta(hours=1), later + timedelta(minutes=1))
    assert window.moment(sale, NOW) is sale  # and back
    earlier_equal = datetime(2026, 12, 7, 12, 0, tzinfo=MOSCOW)  # another instant written with the same digits
    assert window.bounds(earlier_equal) == (earlier_equal - timedelta(hours=1), earlier_equal + timedelta(minutes=1))


def test_the_remembered_bounds_do_not_change_what_the_window_is() -> None:
    used, fresh = OccurredAtWindow(), OccurredAtWindow()
    used.moment(NOW, NOW)
    assert used == fresh
    assert hash(used) == hash(fresh)
    assert repr(used) == repr(fresh)
