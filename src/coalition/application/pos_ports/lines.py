"""Which lines of a member's account a page of its statement or wallet history reads (issue 17, point 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LineWindow:
    """The account's transactions before `before_tx_id` (the previous page's oldest; None: up to the newest),
    recorded at or after `since` and before `until`. A line's balance after it counts every transaction before it,
    inside the window or not."""

    before_tx_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidInput("`until` must be later than `since`", field="until")

    def admits(self, tx_id: int, recorded_at: datetime) -> bool:
        """The same test in memory (the fakes of the tests)."""
        return (
            (self.before_tx_id is None or tx_id < self.before_tx_id)
            and (self.since is None or recorded_at >= self.since)
            and (self.until is None or recorded_at < self.until)
        )


EVERY_LINE = LineWindow()
