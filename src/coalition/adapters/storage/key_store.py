"""The SQL side of key rotation and expiry: current keys live on their network or terminal row, replaced ones in
`retired_keys` until their grace ends (all as SHA-256 hashes). The terminal lookup of the purchase path is in
pos_reference (`terminal_by_key_hash`), one round trip over both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.application.admin import NetworkRef
from coalition.application.key_life import AdminKeyMatch
from coalition.application.keys import StoredKey


def _moment(value: datetime | None) -> datetime | None:
    return None if value is None else t.as_utc(value)


async def admin_key_match(connection: AsyncConnection, key_hash: str) -> AdminKeyMatch | None:
    """The network an admin key opens: its current key, else a replaced one (with the end of its grace)."""
    n, r = t.networks, t.retired_keys
    columns = (n.c.id, n.c.code, n.c.name, n.c.currency)
    row = (
        await connection.execute(select(*columns, n.c.admin_key_expires_at).where(n.c.admin_key_hash == key_hash))
    ).first()
    if row is not None:
        return AdminKeyMatch(
            NetworkRef(row.id, row.code, row.name, row.currency), _moment(row.admin_key_expires_at), False
        )
    retired = (
        await connection.execute(
            select(*columns, r.c.valid_until)
            .join(n, n.c.id == r.c.network_id)
            .where(r.c.key_hash == key_hash, r.c.terminal_id.is_(None))
        )
    ).first()
    if retired is None:
        return None
    network = NetworkRef(retired.id, retired.code, retired.name, retired.currency)
    return AdminKeyMatch(network, _moment(retired.valid_until), True)


async def retired_terminal_keys(
    connection: AsyncConnection, network_id: int, now: datetime
) -> dict[int, list[dict[str, Any]]]:
    """The replaced keys of a network's terminals still in their grace period, by terminal."""
    r = t.retired_keys
    rows = await connection.execute(
        select(r.c.terminal_id, r.c.key_prefix, r.c.valid_until)
        .where(r.c.network_id == network_id, r.c.terminal_id.is_not(None), r.c.valid_until > now)
        .order_by(r.c.valid_until, r.c.id)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(int(row.terminal_id), []).append(
            {"key_prefix": row.key_prefix, "valid_until": t.as_utc(row.valid_until)}
        )
    return found


class SqlKeyUnitOfWork(CoreAuditTrail):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def network_by_code(self, code: str) -> NetworkRef | None:
        n = t.networks
        row = (
            await self.connection.execute(select(n.c.id, n.c.code, n.c.name, n.c.currency).where(n.c.code == code))
        ).first()
        return None if row is None else NetworkRef(row.id, row.code, row.name, row.currency)

    async def admin_key_for_update(self, network_id: int) -> StoredKey:
        # FOR UPDATE: two rotations at once take turns, so each retires the key the other left (on SQLite the
        # write lock of BEGIN IMMEDIATE does the same)
        n = t.networks
        statement = select(n.c.admin_key_hash, n.c.admin_key_expires_at).where(n.c.id == network_id).with_for_update()
        row = (await self.connection.execute(statement)).one()
        return StoredKey(row.admin_key_hash, None, _moment(row.admin_key_expires_at))

    async def set_admin_key(self, network_id: int, key_hash: str, expires_at: datetime | None) -> None:
        n = t.networks
        await self.connection.execute(
            update(n).where(n.c.id == network_id).values(admin_key_hash=key_hash, admin_key_expires_at=expires_at)
        )

    async def set_admin_key_expiry(self, network_id: int, expires_at: datetime | None) -> None:
        n = t.networks
        await self.connection.execute(update(n).where(n.c.id == network_id).values(admin_key_expires_at=expires_at))

    async def terminal_key_for_update(self, network_id: int, terminal_id: int) -> StoredKey | None:
        term = t.terminals
        statement = (
            select(term.c.key_hash, term.c.key_prefix, term.c.key_expires_at, term.c.active)
            .where(term.c.id == terminal_id, term.c.network_id == network_id)
            .with_for_update()
        )
        row = (await self.connection.execute(statement)).first()
        if row is None:
            return None
        return StoredKey(row.key_hash, row.key_prefix, _moment(row.key_expires_at), bool(row.active))

    async def set_terminal_key(
        self, terminal_id: int, key_hash: str, key_prefix: str, expires_at: datetime | None
    ) -> None:
        term = t.terminals
        await self.connection.execute(
            update(term)
            .where(term.c.id == terminal_id)
            .values(key_hash=key_hash, key_prefix=key_prefix, key_expires_at=expires_at)
        )

    async def set_terminal_key_expiry(self, terminal_id: int, expires_at: datetime | None) -> None:
        term = t.terminals
        await self.connection.execute(update(term).where(term.c.id == terminal_id).values(key_expires_at=expires_at))

    async def retire_key(
        self,
        network_id: int,
        terminal_id: int | None,
        old: StoredKey,
        valid_until: datetime,
        now: datetime,
        rotation_key_hash: str | None = None,
    ) -> None:
        await self.connection.execute(
            insert(t.retired_keys).values(
                network_id=network_id,
                terminal_id=terminal_id,
                key_hash=old.key_hash,
                key_prefix=old.key_prefix,
                valid_until=valid_until,
                retired_at=now,
                rotation_key_hash=rotation_key_hash,
            )
        )

    async def retired_by_rotation(self, key_hash: str, rotation_key_hash: str) -> bool:
        r = t.retired_keys
        statement = select(r.c.id).where(r.c.key_hash == key_hash, r.c.rotation_key_hash == rotation_key_hash)
        return (await self.connection.execute(statement)).first() is not None

    async def end_retired_keys(self, network_id: int, terminal_id: int, now: datetime) -> int:
        r = t.retired_keys
        result = await self.connection.execute(
            update(r)
            .where(r.c.network_id == network_id, r.c.terminal_id == terminal_id, r.c.valid_until > now)
            .values(valid_until=now)
        )
        return int(result.rowcount)


class SqlKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlKeyUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlKeyUnitOfWork(connection)
