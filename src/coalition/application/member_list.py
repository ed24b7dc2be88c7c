"""The network's members for the administrator, in pages and filtered (issue 17, point 5; docs/api.md
"Conventions"): newest first by id (keyset, so a page never repeats or skips a member however long a client takes
between pages), by a part of the name or of an identifier (`q`), tier, segment and enrolment time (`enrolled_since`
inclusive, `enrolled_until` exclusive). Members carry no enrolment outlet, so there is no outlet filter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.domain.errors import InvalidInput
from coalition.domain.members import parse_label

MAX_QUERY = 200  # characters of `q`, as the console's search
_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True, slots=True)
class MemberFilter:
    network_id: int
    q: str | None = None
    tier: str | None = None
    segment: str | None = None
    enrolled_since: datetime | None = None
    enrolled_until: datetime | None = None
    before_id: int | None = None  # the previous page's last (oldest) member: this page starts before it
    limit: int = 50

    def name_part(self) -> str | None:
        """`q` as a part of the name, folded to lower case (both sides are)."""
        return None if self.q is None else self.q.lower()

    def identifier_parts(self) -> tuple[str, ...]:
        """`q` as a part of a stored identifier: as typed, and as card numbers are stored (no separators, upper)."""
        if self.q is None:
            return ()
        return tuple(part for part in dict.fromkeys((self.q, _SEPARATORS.sub("", self.q).upper())) if part)


@dataclass(frozen=True, slots=True)
class ListedCard:
    number: str
    state: str


@dataclass(frozen=True, slots=True)
class ListedMember:
    id: int
    kind: str
    name: str | None
    phone: str | None
    tier: str
    segments: tuple[str, ...]
    enrolled_at: datetime
    cards: tuple[ListedCard, ...]


class MemberListStore(Protocol):
    async def members(self, query: MemberFilter) -> list[ListedMember]:
        """At most `query.limit` of the network's members matching it, newest first, before `before_id`."""
        ...


class MemberList:
    def __init__(self, store: MemberListStore) -> None:
        self.store = store

    async def page(self, query: MemberFilter) -> list[ListedMember]:
        return await self.store.members(checked(query))


def checked(query: MemberFilter) -> MemberFilter:
    """The filter with its labels in their stored form; a refusal names the field at fault."""
    q = None if query.q is None else query.q.strip() or None
    if q is not None and len(q) > MAX_QUERY:
        raise InvalidInput(f"`q` has at most {MAX_QUERY} characters", field="q")
    tier = None if query.tier is None else parse_label(query.tier, field="tier")
    segment = None if query.segment is None else parse_label(query.segment, field="segment")
    since, until = query.enrolled_since, query.enrolled_until
    if since is not None and until is not None and until <= since:
        raise InvalidInput("`enrolled_until` must be later than `enrolled_since`", field="enrolled_until")
    return MemberFilter(query.network_id, q, tier, segment, since, until, query.before_id, query.limit)
