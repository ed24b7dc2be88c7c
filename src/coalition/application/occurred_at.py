"""How far a till's own clock may put a sale from the server's (issue 12, hole 5).

A purchase may carry `occurred_at`, the till's time of the sale, so that an offline till's day uploaded later keeps
its times. Unbounded, it let a till file a sale years away, out of every report of the day. A sale is accepted only
within a window around the server's clock (by default 72 hours back, 5 minutes ahead: an offline weekend, a till's
clock a little fast), and the reports go by the time the server recorded it (`recorded_at`) anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coalition.domain.errors import InvalidInput

DEFAULT_MAX_AGE_HOURS = 72
DEFAULT_MAX_AHEAD_MINUTES = 5


@dataclass(frozen=True, slots=True)
class OccurredAtWindow:
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS
    max_ahead_minutes: int = DEFAULT_MAX_AHEAD_MINUTES
    # The window's bounds around the last `now` asked about, as (now, earliest, latest): a batch or an import asks
    # about a thousand sales with one `now`, and building the two bounds for each sale was 7 % of an import's record
    # phase and 5 % of its checks (py-spy; docs/benchmarks.md, 2026-12-07 09:39). One tuple replaced whole, so
    # threads sharing the window never read half of one; it holds its `now`, so an `is` match is never a reused id.
    _last: list[tuple[datetime, datetime, datetime]] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and the latest moment a sale may carry when the server's clock says `now`."""
        last = self._last
        if last:
            seen, earliest, latest = last[0]
            if seen is now:
                return earliest, latest
        earliest, latest = now - timedelta(hours=self.max_age_hours), now + timedelta(minutes=self.max_ahead_minutes)
        if last:
            last[0] = (now, earliest, latest)
        else:
            last.append((now, earliest, latest))
        return earliest, latest

    def moment(self, occurred_at: datetime | None, now: datetime) -> datetime:
        """The sale's moment: the till's, when it sent one inside the window, else the server's `now`."""
        if occurred_at is None:
            return now
        if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
            raise InvalidInput("occurred_at needs a time zone offset, such as Z or +03:00", field="occurred_at")
        earliest, latest = self.bounds(now)
        if occurred_at < earliest:
            raise InvalidInput(
                f"occurred_at is more than {self.max_age_hours} hours before the server's time ({now.isoformat()})",
                field="occurred_at",
            )
        if occurred_at > latest:
            raise InvalidInput(
                f"occurred_at is more than {self.max_ahead_minutes} minutes after the server's time "
                f"({now.isoformat()})",
                field="occurred_at",
            )
        return occurred_at
