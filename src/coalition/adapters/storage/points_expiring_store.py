"""The `points_expiring` job's reads (application/points_expiring.py) on SQLAlchemy Core, both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.adapters.storage.campaign_store import SqlCampaignSendUnit, SqlCampaignStore
from coalition.application.audit import entry
from coalition.application.points_expiring import ExpiringLot


class SqlPointsExpiringStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._campaigns = SqlCampaignStore(engine)

    async def expiring_lots(self, network_id: int, after: datetime, until: datetime) -> list[ExpiringLot]:
        lots, balances, accounts = t.lots, t.member_balances, t.accounts
        query = (
            select(balances.c.member_id, lots.c.expires_at, lots.c.remaining)
            .select_from(
                lots.join(balances, balances.c.account_id == lots.c.account_id).join(
                    accounts, accounts.c.id == lots.c.account_id
                )
            )
            .where(
                accounts.c.network_id == network_id,
                lots.c.remaining > 0,
                lots.c.expires_at > after,
                lots.c.expires_at <= until,
            )
            .order_by(balances.c.member_id, lots.c.expires_at)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [ExpiringLot(int(row[0]), t.as_utc(row[1]), int(row[2])) for row in rows]

    async def network_zone(self, network_id: int) -> str:
        return await self._campaigns.network_zone(network_id)

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[SqlCampaignSendUnit]:
        async with self.engine.begin() as connection:
            yield SqlCampaignSendUnit(connection)

    async def record(self, network_id: int, result: dict[str, Any]) -> None:
        async with self.engine.begin() as connection:
            audited = entry(network_id, "job.points_expiring", "network", network_id, after=result)
            await ConnectionAuditTrail(connection).audit(audited)
