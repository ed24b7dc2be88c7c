"""When a scheduled job is due and which period its run belongs to (domain/schedules.py), clock changes included."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coalition.domain.errors import InvalidInput
from coalition.domain.schedules import (
    DEFAULTS,
    Schedule,
    changed,
    latest_due,
    next_due,
    parse_time_of_day,
    period_key,
    retry_after,
)

MOSCOW, TOKYO, BERLIN = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_an_evening_report_reports_its_own_day_and_a_night_one_the_day_before():
    evening = changed(DEFAULTS["daily_reports"], at="23:30")
    before = latest_due(evening, MOSCOW, at(MOSCOW, 2026, 12, 6, 23, 29))
    assert (before.key, before.due_at) == ("2026-12-05", at(MOSCOW, 2026, 12, 5, 23, 30))
    due = latest_due(evening, MOSCOW, at(MOSCOW, 2026, 12, 6, 23, 30))
    assert (due.key, due.day, due.due_at) == (
        "2026-12-06",
        date(2026, 12, 6),
        datetime(2026, 12, 6, 20, 30, tzinfo=UTC),
    )
    assert next_due(evening, MOSCOW, at(MOSCOW, 2026, 12, 6, 23, 30)).key == "2026-12-07"
    night = DEFAULTS["daily_reports"]  # 00:30: the day that just ended
    assert latest_due(night, MOSCOW, at(MOSCOW, 2026, 12, 7, 0, 31)).key == "2026-12-06"
    assert latest_due(night, MOSCOW, at(MOSCOW, 2026, 12, 7, 0, 29)).key == "2026-12-05"


def test_the_same_utc_moment_is_another_local_day_in_tokyo():
    birthdays = DEFAULTS["birthdays"]  # 06:00 local
    now = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)  # 06:30 on the 7th in Tokyo, 00:30 on the 7th in Moscow
    assert latest_due(birthdays, TOKYO, now).key == "2026-12-07"
    assert latest_due(birthdays, MOSCOW, now).key == "2026-12-06"
    assert next_due(birthdays, MOSCOW, now).due_at == datetime(2026, 12, 7, 3, tzinfo=UTC)


def test_a_skipped_local_time_runs_once_that_day_just_after_the_jump():
    # Berlin, 29 March 2026: the clocks jump from 02:00 to 03:00; 02:30 does not exist
    job = changed(DEFAULTS["birthdays"], at="02:30")
    runs = {
        latest_due(job, BERLIN, moment).key: latest_due(job, BERLIN, moment).due_at
        for moment in _every_10_min(datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 12, tzinfo=UTC))
    }
    assert runs["2026-03-29"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 summer time
    assert list(runs) == ["2026-03-28", "2026-03-29", "2026-03-30"]  # one run a day


def test_a_repeated_local_time_runs_once_at_its_first_occurrence():
    # Berlin, 25 October 2026: 02:00–03:00 happens twice
    job = changed(DEFAULTS["birthdays"], at="02:30")
    due = [
        latest_due(job, BERLIN, moment)
        for moment in _every_10_min(datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC))
    ]
    keys = sorted({period.key for period in due})
    assert keys == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert {period.due_at for period in due if period.key == "2026-10-25"} == {
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    }


def _every_10_min(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(minutes=10 * n) for n in range(int((end - start) / timedelta(minutes=10)))]


def test_every_period_key_is_due_once_in_order_over_a_year_of_ticks():
    for job in ("daily_reports", "birthdays"):
        seen: list[str] = []
        for moment in _every_10_min(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))[::3]:
            key = latest_due(DEFAULTS[job], BERLIN, moment).key
            if not seen or seen[-1] != key:
                seen.append(key)
        days = [date.fromisoformat(key) for key in seen]
        assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days)), job


def test_period_close_runs_on_the_first_but_never_before_the_month_ended_in_utc():
    close = DEFAULTS["period_close"]  # 00:30 on the 1st
    assert latest_due(close, MOSCOW, at(MOSCOW, 2026, 12, 1, 0, 30)).key == "2026-10"  # November not over in UTC
    moscow = latest_due(close, MOSCOW, at(MOSCOW, 2026, 12, 1, 3, 0))
    assert (moscow.key, moscow.due_at) == ("2026-11", datetime(2026, 12, 1, tzinfo=UTC))  # 03:00 Moscow
    assert latest_due(close, MOSCOW, at(MOSCOW, 2026, 12, 1, 2, 59)).key == "2026-10"
    assert latest_due(close, ZoneInfo("America/New_York"), datetime(2026, 12, 1, 5, 30, tzinfo=UTC)).key == "2026-11"
    assert next_due(close, MOSCOW, datetime(2026, 12, 15, tzinfo=UTC)).key == "2026-12"
    january = latest_due(changed(close, day_of_month=3), MOSCOW, datetime(2027, 1, 5, tzinfo=UTC))
    assert (january.key, january.due_at) == ("2026-12", at(MOSCOW, 2027, 1, 3, 0, 30))


def test_expiry_slots_count_real_time_across_a_clock_change():
    hourly = DEFAULTS["expire"]
    first = latest_due(hourly, BERLIN, datetime(2026, 10, 25, 0, 59, tzinfo=UTC))
    second = latest_due(hourly, BERLIN, datetime(2026, 10, 25, 1, 0, tzinfo=UTC))
    assert (first.key, second.key) == ("2026-10-25T00:00Z", "2026-10-25T01:00Z")
    assert next_due(changed(hourly, every_minutes=15), BERLIN, datetime(2026, 10, 25, 1, 7, tzinfo=UTC)).key == (
        "2026-10-25T01:15Z"
    )


def test_a_run_by_hand_records_the_period_the_scheduler_would():
    now = datetime(2026, 12, 6, 15, 20, tzinfo=UTC)
    assert period_key(DEFAULTS["expire"], now, None) == "2026-12-06T15:00Z"
    assert period_key(DEFAULTS["daily_reports"], now, date(2026, 12, 5)) == "2026-12-05"
    assert period_key(DEFAULTS["period_close"], now, date(2026, 11, 1)) == "2026-11"


@pytest.mark.parametrize("text", ["25:00", "23:60", "7pm", "", "1:5", "12:00:00", "１２:００", "\x00", "-1:00"])
def test_a_time_that_is_not_one_is_refused_naming_the_field(text: str):
    with pytest.raises(InvalidInput) as refused:
        parse_time_of_day(text)
    assert refused.value.field == "time"


def test_each_job_takes_only_its_own_settings():
    assert parse_time_of_day("7:05") == 425
    with pytest.raises(InvalidInput) as refused:
        changed(DEFAULTS["expire"], at="03:00")
    assert refused.value.field == "time"
    for job, kwargs, field in [
        ("birthdays", {"every_minutes": 10}, "every_minutes"),
        ("expire", {"every_minutes": 1}, "every_minutes"),
        ("birthdays", {"day_of_month": 2}, "day_of_month"),
        ("period_close", {"day_of_month": 29}, "day_of_month"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            changed(DEFAULTS[job], **kwargs)  # type: ignore[arg-type]
        assert refused.value.field == field
    assert changed(Schedule("birthdays", at_minute=360), enabled=False).enabled is False


def test_a_failed_run_waits_longer_each_time():
    assert [retry_after(n) for n in (1, 2, 3, 4, 9)] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
