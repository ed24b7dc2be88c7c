"""How far a till's own clock may put a sale from the server's (issue 12, hole 5).

A purchase may carry `occurred_at`, the till's time of the sale, so that an offline till's day uploaded later keeps
its times. Unbounded, it let a till file a sale years away, out of every report of the day. A sale is accepted only
within a window around the server's clock (by default 72 hours back, 5 minutes ahead: an offline weekend, a till's
clock a little fast), and the reports go by the time the server recorded it (`recorded_at`) anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from coalition.domain.errors import InvalidInput

DEFAULT_MAX_AGE_HOURS = 72
DEFAULT_MAX_AHEAD_MINUTES = 5


@dataclass(frozen=True, slots=True)
class OccurredAtWindow:
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS
    max_ahead_minutes: int = DEFAULT_MAX_AHEAD_MINUTES

    def moment(self, occurred_at: datetime | None, now: datetime) -> datetime:
        """The sale's moment: the till's, when it sent one inside the window, else the server's `now`."""
        if occurred_at is None:
            return now
        if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
            raise InvalidInput("occurred_at needs a time zone offset, such as Z or +03:00", field="occurred_at")
        if occurred_at < now - timedelta(hours=self.max_age_hours):
            raise InvalidInput(
                f"occurred_at is more than {self.max_age_hours} hours before the server's time ({now.isoformat()})",
                field="occurred_at",
            )
        if occurred_at > now + timedelta(minutes=self.max_ahead_minutes):
            raise InvalidInput(
                f"occurred_at is more than {self.max_ahead_minutes} minutes after the server's time "
                f"({now.isoformat()})",
                field="occurred_at",
            )
        return occurred_at
