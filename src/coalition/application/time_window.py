"""The time window a list is filtered by (docs/api.md "Conventions"): `since` inclusive, `until` exclusive; a window
that ends at or before it starts is a 422 naming `until`."""

from __future__ import annotations

from datetime import datetime

from coalition.domain.errors import InvalidInput

Window = tuple[datetime | None, datetime | None]  # (since, until)


def check_window(
    since: datetime | None, until: datetime | None, *, since_name: str = "since", until_name: str = "until"
) -> None:
    if since is not None and until is not None and until <= since:
        raise InvalidInput(f"`{until_name}` must be later than `{since_name}`", field=until_name)
