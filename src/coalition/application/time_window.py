"""The time window a list is filtered by (docs/api.md "Conventions"): `since` inclusive, `until` exclusive; a window
that ends at or before it starts is a 422 naming `until`."""

from __future__ import annotations

from datetime import UTC, datetime

from coalition.domain.errors import InvalidInput

Window = tuple[datetime | None, datetime | None]  # (since, until)


def check_window(
    since: datetime | None, until: datetime | None, *, since_name: str = "since", until_name: str = "until"
) -> None:
    if since is not None and until is not None and until <= since:
        raise InvalidInput(f"`{until_name}` must be later than `{since_name}`", field=until_name)


def utc_bound(moment: datetime) -> datetime:
    """A bound of a window in UTC, as the stores compare stored moments (SQLite: as text, in UTC); a moment whose UTC
    falls outside the calendar (9999-12-31T23:00-05:00, 0001-01-01T00:30+05:00) is the calendar's end or start,
    which no stored moment passes."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year < 5000 else datetime.max).replace(tzinfo=UTC)
