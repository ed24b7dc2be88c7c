"""A network's customer-message settings and a member's balance-threshold state (migration 0044), on both engines:
read by the administrator's store, and in an event's own unit of work (the POS one on the driver, the Core ones)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.adapters.storage.driver import Db
from coalition.application.audit import AuditEntry
from coalition.domain.message_settings import MessageSettings
from coalition.domain.messages import Channel, MessageKind

_SETTINGS_SQL = (
    "SELECT network_id, enabled, quiet_start, quiet_end, cap_per_day, balance_threshold, expiring_days_before, "
    "version, updated_at FROM message_settings WHERE network_id = $1"
)
_ARMED_SQL = "SELECT threshold_armed FROM member_message_state WHERE member_id = $1"
_SET_ARMED_SQL = (
    "INSERT INTO member_message_state (member_id, threshold_armed, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (member_id) DO UPDATE SET threshold_armed = excluded.threshold_armed, updated_at = excluded.updated_at"
)


_KINDS = frozenset(kind.value for kind in MessageKind)


def _time(text: str | None) -> time | None:
    return None if text is None else time.fromisoformat(text)


def settings_from_row(row: Mapping[Any, Any], updated_at: datetime | None) -> MessageSettings:
    enabled = json.loads(row["enabled"])
    switches = frozenset(
        (MessageKind(kind), Channel(channel))
        for kind, channels in enabled.items()
        if kind in _KINDS
        for channel in channels
    )
    start, end = _time(row["quiet_start"]), _time(row["quiet_end"])
    return MessageSettings(
        network_id=int(row["network_id"]),
        enabled=switches,
        quiet_hours=None if start is None or end is None else (start, end),
        cap_per_day=int(row["cap_per_day"]),
        balance_threshold=None if row["balance_threshold"] is None else int(row["balance_threshold"]),
        expiring_days_before=int(row["expiring_days_before"]),
        version=int(row["version"]),
        updated_at=updated_at,
    )


def _values(settings: MessageSettings) -> dict[str, Any]:
    quiet = settings.quiet_hours
    return {
        "enabled": json.dumps(settings.enabled_json(), sort_keys=True),
        "quiet_start": None if quiet is None else quiet[0].strftime("%H:%M"),
        "quiet_end": None if quiet is None else quiet[1].strftime("%H:%M"),
        "cap_per_day": settings.cap_per_day,
        "balance_threshold": settings.balance_threshold,
        "expiring_days_before": settings.expiring_days_before,
        "version": settings.version,
        "updated_at": settings.updated_at,
    }


class DriverMessageWrites:
    """The POS units of work's side (OutboxWriter): read only when an event may feed a message."""

    db: Db

    async def stored_message_settings(self, network_id: int) -> MessageSettings | None:
        row = await self.db.fetchrow(_SETTINGS_SQL, network_id)
        return None if row is None else settings_from_row(row, self.db.timestamp(row["updated_at"]))

    async def threshold_armed(self, member_id: int) -> bool | None:
        value = await self.db.fetchval(_ARMED_SQL, member_id)
        return None if value is None else bool(value)

    async def set_threshold_armed(self, member_id: int, armed: bool, now: datetime) -> None:
        await self.db.execute(_SET_ARMED_SQL, member_id, armed, now)


async def _settings(connection: AsyncConnection, network_id: int) -> MessageSettings | None:
    s = t.message_settings
    row = (await connection.execute(select(s).where(s.c.network_id == network_id))).mappings().first()
    return None if row is None else settings_from_row(row, t.as_utc(row["updated_at"]))


class CoreMessageWrites:
    connection: AsyncConnection

    async def stored_message_settings(self, network_id: int) -> MessageSettings | None:
        return await _settings(self.connection, network_id)

    async def threshold_armed(self, member_id: int) -> bool | None:
        m = t.member_message_state
        value = await self.connection.scalar(select(m.c.threshold_armed).where(m.c.member_id == member_id))
        return None if value is None else bool(value)

    async def set_threshold_armed(self, member_id: int, armed: bool, now: datetime) -> None:
        m = t.member_message_state
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        values = {"threshold_armed": armed, "updated_at": now}
        await self.connection.execute(
            dialect.insert(m)
            .values(member_id=member_id, **values)
            .on_conflict_do_update(index_elements=[m.c.member_id], set_=values)
        )


class SqlMessageSettingsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def message_settings(self, network_id: int) -> MessageSettings | None:
        async with self.engine.connect() as connection:
            return await _settings(connection, network_id)

    async def save_message_settings(
        self, settings: MessageSettings, expected_version: int, audited: AuditEntry
    ) -> bool:
        s = t.message_settings
        values = _values(settings)
        async with self.engine.begin() as connection:
            if expected_version == 0:
                dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
                result = await connection.execute(
                    dialect.insert(s)
                    .values(network_id=settings.network_id, **values)
                    .on_conflict_do_nothing(index_elements=[s.c.network_id])
                )
            else:
                result = await connection.execute(
                    update(s)
                    .where(s.c.network_id == settings.network_id, s.c.version == expected_version)
                    .values(**values)
                )
            if result.rowcount != 1:
                return False
            await ConnectionAuditTrail(connection).audit(audited)
        return True
