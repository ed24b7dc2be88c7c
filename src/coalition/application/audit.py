"""The audit log: who changed what in a network, when, from where, with the changed fields before and after.

Entries are append-only (the database refuses UPDATE and DELETE) and written through the unit of work of the change
they record, so a refused or rolled-back change leaves no entry and a done one always has one.

Who is acting is set once at each edge, for the rest of the request or command (`act_as`): the admin API's key, the
operator token, a console user's session, the CLI. Commands never take it from their callers' arguments, so a page
or route cannot pass the wrong one; code that sets none (the demo loader, tests calling services directly) is
recorded as `system`. tests/http/test_audit_coverage.py performs every administrative route and console action and
fails when one leaves no entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from coalition.application.time_window import utc_bound

ActorKind = Literal["admin_key", "operator", "console_user", "cli", "registrant", "system"]
REDACTED = "[redacted]"
# a field whose name has one of these words (split at _ and -) never reaches the log: passwords, PINs, keys, hashes
_SECRET_WORDS = frozenset({"password", "pin", "key", "hash", "token", "secret"})
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: `id` is a console user's number or an admin key's fingerprint (never the key), `name` a login."""

    kind: ActorKind
    id: str | None = None
    name: str | None = None
    role: str | None = None
    address: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system")
_acting: ContextVar[Actor] = ContextVar("coalition_audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _acting.get()


def act_as(actor: Actor) -> None:
    """For the rest of the current request (its context): every audit entry names `actor`."""
    _acting.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(token)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    network_id: int
    action: str  # a stable dotted code: terminal.revoke, cashier.password_reset, rules.publish
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: Actor
    partner_id: int | None = None  # the partner the entry is about, when there is one


@dataclass(frozen=True, slots=True)
class StoredAuditEntry:
    id: int
    network_id: int
    recorded_at: datetime
    actor: Actor
    action: str
    object_type: str
    object_id: str | None
    partner_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    network_id: int
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None  # matches the actor's kind, id or name
    action: str | None = None  # an action, or a prefix ending in '.' (`terminal.`)
    object_type: str | None = None
    object_id: str | None = None
    before_id: int | None = None  # the cursor: entries older than this one
    limit: int = 100


class AuditTrail(Protocol):
    """What every unit of work that changes administrative state offers: an entry in the same transaction."""

    async def audit(self, entry: AuditEntry) -> None: ...


class AuditStore(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """An entry in a transaction of its own: for jobs and e-mails, recorded once they are done."""
        ...

    async def entries(self, query: AuditQuery) -> list[StoredAuditEntry]: ...


def redacted(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The fields as JSON-ready values, with every secret replaced: the log must never hold one."""
    if values is None:
        return None
    return {name: REDACTED if _secret(name) else _plain(value) for name, value in values.items()}


def _secret(name: str) -> bool:
    words = set(re.split(r"[_\-\s.]+", name.lower()))
    return bool(words & _SECRET_WORDS)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return redacted(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def entry(
    network_id: int,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    partner_id: int | None = None,
) -> AuditEntry:
    """An entry for the actor of the current request, with secrets removed from before and after."""
    return AuditEntry(
        network_id=network_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=redacted(before),
        after=redacted(after),
        actor=current_actor(),
        partner_id=partner_id,
    )


def as_json(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


CSV_HEADER = (
    "id", "recorded_at", "actor_kind", "actor_id", "actor_name", "actor_role", "address", "request_id",
    "action", "object_type", "object_id", "partner_id", "before", "after",
)  # fmt: skip


def csv_rows(entries: list[StoredAuditEntry]) -> list[tuple[object, ...]]:
    return [CSV_HEADER, *(_csv_row(e) for e in entries)]


def _csv_row(e: StoredAuditEntry) -> tuple[object, ...]:
    actor = e.actor
    who = (actor.kind, actor.id or "", actor.name or "", actor.role or "", actor.address or "", actor.request_id or "")
    what = (e.action, e.object_type, e.object_id or "", "" if e.partner_id is None else e.partner_id)
    return (e.id, e.recorded_at.isoformat(), *who, *what, as_json(e.before) or "", as_json(e.after) or "")


class AuditLog:
    """Reading the log (API, console, CLI) and recording what is not one transaction (jobs, e-mails)."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    async def record(self, entry: AuditEntry) -> None:
        await self._store.record(entry)

    async def entries(self, query: AuditQuery) -> list[StoredAuditEntry]:
        return await self._store.entries(_in_utc(query))

    async def all_entries(self, query: AuditQuery) -> list[StoredAuditEntry]:
        """Every entry matching, newest first."""
        return [entry async for page in self.pages(query) for entry in page]

    async def pages(self, query: AuditQuery) -> AsyncIterator[list[StoredAuditEntry]]:
        """Every entry matching, newest first, a page at a time: an export of a long log is never held whole."""
        cursor = query.before_id
        while True:
            page = await self._store.entries(_in_utc(replace(query, before_id=cursor, limit=MAX_PAGE)))
            if page:
                yield page
            if len(page) < MAX_PAGE:
                return
            cursor = page[-1].id


async def csv_chunks(pages: AsyncIterator[list[StoredAuditEntry]]) -> AsyncIterator[list[tuple[object, ...]]]:
    """The CSV's rows a page at a time, the header first."""
    yield [CSV_HEADER]
    async for page in pages:
        yield [_csv_row(entry) for entry in page]


def _utc(moment: datetime | None) -> datetime | None:
    """The bound in UTC; one at the calendar's very edge (year 1 at +14:00) is the edge itself, not an overflow."""
    return None if moment is None else utc_bound(moment)


def _in_utc(query: AuditQuery) -> AuditQuery:
    return replace(query, since=_utc(query.since), until=_utc(query.until))
