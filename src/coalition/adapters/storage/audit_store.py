"""The audit log in SQL: an entry written inside the unit of work of the change it records, and the reading.

Two ways in, one row shape: `CoreAuditTrail` for the units of work on SQLAlchemy Core (`self.connection`) and
`DriverAuditTrail` for the POS unit of work on the plain driver (`self.db`). Both are mixins, so a unit of work gains
`audit` by naming one among its bases.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.driver import Db
from coalition.application.audit import Actor, AuditEntry, AuditQuery, StoredAuditEntry, as_json

_COLUMNS = (
    "network_id", "recorded_at", "actor_kind", "actor_id", "actor_name", "actor_role", "address", "request_id",
    "action", "object_type", "object_id", "partner_id", "before", "after",
)  # fmt: skip


def _row(entry: AuditEntry) -> dict[str, Any]:
    actor = entry.actor
    return {
        "network_id": entry.network_id,
        # the server's own time, not a test's or a job's clock: when the change was really made
        "recorded_at": datetime.now(UTC),
        "actor_kind": actor.kind,
        "actor_id": _cut(actor.id, 100),
        "actor_name": _cut(actor.name, 200),
        "actor_role": actor.role,
        "address": _cut(actor.address, 100),
        "request_id": _cut(actor.request_id, 100),
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": _cut(entry.object_id, 100),
        "partner_id": entry.partner_id,
        "before": as_json(entry.before),
        "after": as_json(entry.after),
    }


def _cut(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


class CoreAuditTrail:
    connection: AsyncConnection

    async def audit(self, entry: AuditEntry) -> None:
        await self.connection.execute(insert(t.audit_entries).values(**_row(entry)))


_DRIVER_INSERT = (
    f"INSERT INTO audit_entries ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'${n}' for n in range(1, 15))})"
)


class DriverAuditTrail:
    db: Db

    async def audit(self, entry: AuditEntry) -> None:
        row = _row(entry)
        await self.db.execute(_DRIVER_INSERT, *(row[name] for name in _COLUMNS))


class ConnectionAuditTrail(CoreAuditTrail):
    """Entries written on a connection whose transaction holds the change they record."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection


class SqlAuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection

    async def record(self, entry: AuditEntry) -> None:
        async with self._connection() as connection:
            await ConnectionAuditTrail(connection).audit(entry)

    async def entries(self, query: AuditQuery) -> list[StoredAuditEntry]:
        a = t.audit_entries
        statement = select(a).where(a.c.network_id == query.network_id)
        if query.since is not None:
            statement = statement.where(a.c.recorded_at >= query.since)
        if query.until is not None:
            statement = statement.where(a.c.recorded_at < query.until)
        if query.actor:
            statement = statement.where(
                or_(a.c.actor_kind == query.actor, a.c.actor_id == query.actor, a.c.actor_name == query.actor)
            )
        if query.action:
            if query.action.endswith("."):
                statement = statement.where(a.c.action.startswith(query.action, autoescape=True))
            else:
                statement = statement.where(a.c.action == query.action)
        if query.object_type:
            statement = statement.where(a.c.object_type == query.object_type)
        if query.object_id:
            statement = statement.where(a.c.object_id == query.object_id)
        if query.before_id is not None:
            statement = statement.where(a.c.id < query.before_id)
        statement = statement.order_by(a.c.id.desc()).limit(query.limit)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [_stored(row) for row in rows]


def _stored(row: Any) -> StoredAuditEntry:
    return StoredAuditEntry(
        id=row.id,
        network_id=row.network_id,
        recorded_at=t.as_utc(row.recorded_at),
        actor=Actor(row.actor_kind, row.actor_id, row.actor_name, row.actor_role, row.address, row.request_id),
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        partner_id=row.partner_id,
        before=None if row.before is None else json.loads(row.before),
        after=None if row.after is None else json.loads(row.after),
    )
