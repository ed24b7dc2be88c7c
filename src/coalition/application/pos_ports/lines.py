"""Which lines of a member's account a page of its statement or wallet history reads (issue 17, point 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.application.time_window import check_window, utc_bound


@dataclass(frozen=True, slots=True)
class LineWindow:
    """The account's transactions before `before_tx_id` (the previous page's oldest; None: up to the newest),
    recorded at or after `since` and before `until`. A line's balance after it counts every transaction before it,
    inside the window or not."""

    before_tx_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        check_window(self.since, self.until)
        for name in ("since", "until"):  # in UTC, as stored: a bound past the calendar's edge is the edge
            bound = getattr(self, name)
            if bound is not None:
                object.__setattr__(self, name, utc_bound(bound))

    def admits(self, tx_id: int, recorded_at: datetime) -> bool:
        """The same test in memory (the fakes of the tests)."""
        return (
            (self.before_tx_id is None or tx_id < self.before_tx_id)
            and (self.since is None or recorded_at >= self.since)
            and (self.until is None or recorded_at < self.until)
        )


EVERY_LINE = LineWindow()
