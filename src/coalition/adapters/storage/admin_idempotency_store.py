"""The admin API's idempotency records in SQL (application/admin_idempotency.py): a claim is an INSERT that the
UNIQUE (scope, key_hash) constraint refuses to a concurrent duplicate. A record holds the SHA-256 of the
Idempotency-Key and its answer sealed under the raw key (application/replay_sealing.py), never either in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.tables import as_utc
from coalition.application.admin_idempotency import StoredAdminAnswer

_keys = t.admin_idempotency_keys


class SqlAdminIdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def claim(
        self, network_id: int | None, scope: str, key_digest: str, request_hash: str, now: datetime
    ) -> bool:
        try:
            async with self.engine.begin() as connection:
                await connection.execute(
                    _keys.insert().values(
                        network_id=network_id,
                        scope=scope,
                        key_hash=key_digest,
                        request_hash=request_hash,
                        created_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def read(self, scope: str, key_digest: str) -> StoredAdminAnswer | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(_keys.c.request_hash, _keys.c.status_code, _keys.c.response, _keys.c.created_at).where(
                        _keys.c.scope == scope, _keys.c.key_hash == key_digest
                    )
                )
            ).first()
        if row is None:
            return None
        return StoredAdminAnswer(row.request_hash, row.status_code, row.response, as_utc(row.created_at))

    async def complete(self, scope: str, key_digest: str, status_code: int, response: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(_keys)
                .where(_keys.c.scope == scope, _keys.c.key_hash == key_digest)
                .values(status_code=status_code, response=response)
            )

    async def release(self, scope: str, key_digest: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(_keys).where(
                    _keys.c.scope == scope, _keys.c.key_hash == key_digest, _keys.c.status_code.is_(None)
                )
            )

    async def take_over(
        self, scope: str, key_digest: str, abandoned_before: datetime, request_hash: str, now: datetime
    ) -> bool:
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(_keys)
                .where(
                    _keys.c.scope == scope,
                    _keys.c.key_hash == key_digest,
                    _keys.c.status_code.is_(None),
                    _keys.c.created_at < abandoned_before,
                )
                .values(request_hash=request_hash, created_at=now)
            )
        return bool(result.rowcount)

    async def delete_older_than(self, network_id: int, before: datetime, limit: int) -> int:
        async with self.engine.begin() as connection:
            ids = list(
                (
                    await connection.execute(
                        select(_keys.c.id)
                        .where(
                            or_(_keys.c.network_id == network_id, _keys.c.network_id.is_(None)),
                            _keys.c.created_at < before,
                        )
                        .order_by(_keys.c.id)
                        .limit(limit)
                    )
                ).scalars()
            )
            if ids:
                await connection.execute(delete(_keys).where(_keys.c.id.in_(ids)))
        return len(ids)
