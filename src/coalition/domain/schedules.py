"""Scheduled jobs (issue 16): when a job's run is due in a network's time zone, and which period it belongs to.

A run is claimed by its period key: (job, network, period key) is unique in `job_runs`, so however many schedulers
look, a period runs once. The key is what the run does, not when it started:

- `daily_reports`: the reported day (`2026-12-05`). A time from 12:00 on reports that same day (an evening run after
  closing); a time before noon reports the day before (a run after midnight). Changing the time never reports a
  day twice: the key is the day.
- `birthdays`: the local day whose birthdays are granted (`2026-12-06`).
- `period_close`: the month closed (`2026-11`), run on `day_of_month` of the next month at the local time, but never
  before the month has ended in UTC (period close counts UTC months: application/period_close.py).
- `outbox_cleanup`: the local day it runs on (`2026-12-06`): settled outbox messages past their retention deleted.
- `points_expiring`: the local day it runs on: members told of points expiring within the network's window.
- `campaigns`: a slot of `every_minutes` like `expire`: the campaigns whose time has come are sent.
- `expire`: a slot of `every_minutes` counted from the epoch in UTC (`2026-12-06T15:00Z`): an interval has no local
  wall time, so clock changes neither skip nor repeat one.

Clock changes: a local time the clocks skip (02:30 on the night they jump from 02:00 to 03:00) is read at the offset
before the jump, so it comes 30 minutes after the jump (03:30); a local time that occurs twice is its first
occurrence. Either way the key is the day, so the run happens exactly once that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from coalition.domain.errors import InvalidInput

DAILY_REPORTS, EXPIRE, BIRTHDAYS, PERIOD_CLOSE = "daily_reports", "expire", "birthdays", "period_close"
OUTBOX_CLEANUP = "outbox_cleanup"
POINTS_EXPIRING, CAMPAIGNS = "points_expiring", "campaigns"  # customer messages (docs/messages.md)
JOBS = (DAILY_REPORTS, EXPIRE, BIRTHDAYS, PERIOD_CLOSE, OUTBOX_CLEANUP, POINTS_EXPIRING, CAMPAIGNS)
DAILY, INTERVAL, MONTHLY = "daily", "interval", "monthly"
CADENCES = {
    DAILY_REPORTS: DAILY,
    BIRTHDAYS: DAILY,
    EXPIRE: INTERVAL,
    PERIOD_CLOSE: MONTHLY,
    OUTBOX_CLEANUP: DAILY,
    POINTS_EXPIRING: DAILY,
    CAMPAIGNS: INTERVAL,
}
MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES = 5, 1440
MAX_DAY_OF_MONTH = 28  # every month has it
NOON_MINUTE = 12 * 60
LEASE = timedelta(minutes=5)  # a claim not renewed for this long is dead: another scheduler takes it over
RENEW_EVERY = timedelta(minutes=1)
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Schedule:
    job: str
    enabled: bool = True
    at_minute: int | None = None  # daily and monthly: minutes after local midnight
    every_minutes: int | None = None  # interval
    day_of_month: int | None = None  # monthly

    @property
    def cadence(self) -> str:
        return CADENCES[self.job]

    @property
    def time_text(self) -> str | None:
        return None if self.at_minute is None else f"{self.at_minute // 60:02d}:{self.at_minute % 60:02d}"


DEFAULTS = {
    DAILY_REPORTS: Schedule(DAILY_REPORTS, at_minute=30),  # 00:30: yesterday's report, just after midnight
    EXPIRE: Schedule(EXPIRE, every_minutes=60),
    BIRTHDAYS: Schedule(BIRTHDAYS, at_minute=6 * 60),
    PERIOD_CLOSE: Schedule(PERIOD_CLOSE, at_minute=30, day_of_month=1),
    OUTBOX_CLEANUP: Schedule(OUTBOX_CLEANUP, at_minute=3 * 60 + 30),  # 03:30: the quietest hour of most shops
    POINTS_EXPIRING: Schedule(POINTS_EXPIRING, at_minute=10 * 60),  # 10:00: after quiet hours end
    CAMPAIGNS: Schedule(CAMPAIGNS, every_minutes=5),  # a scheduled campaign goes within 5 minutes of its time
}


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    due_at: datetime  # UTC
    day: date | None = None  # daily: the day the job works on (reported, or whose birthdays); monthly: the month's 1st


def check_job(job: str) -> str:
    if job not in JOBS:
        raise InvalidInput(f"unknown job '{job}': one of {', '.join(JOBS)}", field="job")
    return job


def parse_time_of_day(text: str) -> int:
    """'23:30' → minutes after midnight; 422 naming `time` for anything else (25:00, 7pm, '')."""
    hours, colon, minutes = text.strip().partition(":")
    valid = colon and len(hours) in (1, 2) and len(minutes) == 2 and (hours + minutes).isascii()
    if not valid or not hours.isdigit() or not minutes.isdigit() or int(hours) > 23 or int(minutes) > 59:
        raise InvalidInput(f"'{text[:16]}' is not a time of day: use HH:MM from 00:00 to 23:59", field="time")
    return int(hours) * 60 + int(minutes)


def changed(
    current: Schedule,
    *,
    enabled: bool | None = None,
    at: str | None = None,
    every_minutes: int | None = None,
    day_of_month: int | None = None,
) -> Schedule:
    """`current` with what was given changed; a field the job's cadence does not have is refused by name."""
    cadence = current.cadence
    if at is not None and cadence == INTERVAL:
        raise InvalidInput(f"{current.job} runs every N minutes: set every_minutes, not a time", field="time")
    if every_minutes is not None and cadence != INTERVAL:
        raise InvalidInput(f"{current.job} runs at a time of day: set time, not every_minutes", field="every_minutes")
    if day_of_month is not None and cadence != MONTHLY:
        raise InvalidInput(f"{current.job} runs daily: day_of_month is for period_close", field="day_of_month")
    if every_minutes is not None and not MIN_INTERVAL_MINUTES <= every_minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidInput(
            f"every_minutes must be from {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES}", field="every_minutes"
        )
    if day_of_month is not None and not 1 <= day_of_month <= MAX_DAY_OF_MONTH:
        raise InvalidInput(f"day_of_month must be from 1 to {MAX_DAY_OF_MONTH}", field="day_of_month")
    return Schedule(
        current.job,
        current.enabled if enabled is None else enabled,
        current.at_minute if at is None else parse_time_of_day(at),
        current.every_minutes if every_minutes is None else every_minutes,
        current.day_of_month if day_of_month is None else day_of_month,
    )


def local_moment(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC moment of `minute` after midnight of `day` on the local clock. fold=0: a skipped time is read at the
    offset before the jump (it comes that much after the jump); a repeated time is its first occurrence."""
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _daily(schedule: Schedule, zone: ZoneInfo, run_day: date) -> Period:
    minute = schedule.at_minute if schedule.at_minute is not None else 0
    worked_on = run_day
    if schedule.job == DAILY_REPORTS and minute < NOON_MINUTE:
        worked_on = run_day - timedelta(days=1)  # a run after midnight reports the day that just ended
    return Period(worked_on.isoformat(), local_moment(run_day, minute, zone), worked_on)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _monthly(schedule: Schedule, zone: ZoneInfo, year: int, month: int) -> Period:
    """The run in month (year, month), closing the month before it."""
    run_month = _month_start(year, month)
    closed = _month_start(year, month - 1)
    day = run_month.replace(day=schedule.day_of_month or 1)
    local = local_moment(day, schedule.at_minute if schedule.at_minute is not None else 0, zone)
    ended_in_utc = datetime.combine(run_month, time(0), tzinfo=UTC)
    return Period(closed.strftime("%Y-%m"), max(local, ended_in_utc), closed)


def _slot(step_minutes: int, moment: datetime) -> datetime:
    step = step_minutes * 60
    seconds = int(moment.timestamp()) // step * step
    return datetime.fromtimestamp(seconds, UTC)


def interval_key(slot_start: datetime) -> str:
    return slot_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _candidates(schedule: Schedule, zone: ZoneInfo, now: datetime) -> list[Period]:
    """Periods around `now`, in time order: enough to find the last due one and the next one."""
    if schedule.cadence == INTERVAL:
        step = schedule.every_minutes or 60
        current = _slot(step, now)
        return [Period(interval_key(start), start) for start in (current, current + timedelta(minutes=step))]
    today = now.astimezone(zone).date()
    if schedule.cadence == DAILY:
        return [_daily(schedule, zone, today + timedelta(days=offset)) for offset in range(-2, 3)]
    return [_monthly(schedule, zone, today.year, today.month + offset) for offset in range(-1, 3)]


def latest_due(schedule: Schedule, zone: ZoneInfo, now: datetime) -> Period:
    """The last period whose run is due at `now` (missed or not): the one a scheduler starting now owes."""
    return [period for period in _candidates(schedule, zone, now) if period.due_at <= now][-1]


def next_due(schedule: Schedule, zone: ZoneInfo, now: datetime) -> Period:
    """The first period whose run comes after `now`."""
    return next(period for period in _candidates(schedule, zone, now) if period.due_at > now)


def retry_after(attempts: int) -> timedelta:
    """How long a failed run waits before it is tried again: 1 min, 5 min, 15 min, then every hour."""
    return RETRY_AFTER[min(max(attempts, 1), len(RETRY_AFTER)) - 1]


def period_key(schedule: Schedule, now: datetime, day: date | None) -> str:
    """The key a run asked for by hand (cron, the admin API) records: the day (or month) it works on, as the
    scheduler's run of that period would; expiry: the slot it runs in."""
    if schedule.cadence == INTERVAL or day is None:
        return interval_key(_slot(schedule.every_minutes or 60, now))
    return day.strftime("%Y-%m") if schedule.cadence == MONTHLY else day.isoformat()
