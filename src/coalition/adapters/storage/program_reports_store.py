"""The SQL behind the program's reports (application/program_reports.py): the period's purchases in scope, one row
each, with the customer's kind and the moment of the customer's first purchase in the network."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.reports_store import SqlReportsUnitOfWork
from coalition.application.program_reports import CheckRow


class SqlProgramReportsUnitOfWork(SqlReportsUnitOfWork):
    async def period_checks(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[CheckRow]:
        if not outlet_ids:
            return []
        p, m = t.purchases, t.members
        earlier = t.purchases.alias("earlier")
        first_purchase = (
            select(func.min(earlier.c.recorded_at)).where(earlier.c.member_id == p.c.member_id).scalar_subquery()
        )
        query = (
            select(
                p.c.outlet_id,
                p.c.member_id,
                m.c.kind,
                p.c.check_minor,
                p.c.amount_due_minor,
                p.c.points_redeemed,
                p.c.points_earned,
                p.c.recorded_at,
                first_purchase.label("first_purchase_at"),
            )
            .join(m, m.c.id == p.c.member_id)
            .where(
                p.c.network_id == network_id,
                p.c.outlet_id.in_(list(outlet_ids)),
                p.c.recorded_at >= start.astimezone(UTC),
                p.c.recorded_at < end.astimezone(UTC),
            )
            .order_by(p.c.recorded_at, p.c.id)
        )
        return [
            CheckRow(
                int(row.outlet_id),
                int(row.member_id),
                row.kind,
                int(row.check_minor),
                int(row.amount_due_minor),
                int(row.points_redeemed),
                int(row.points_earned),
                t.as_utc(row.recorded_at),
                _moment(row.first_purchase_at),
            )
            for row in await self.connection.execute(query)
        ]


def _moment(value: datetime | str) -> datetime:
    """A MIN() over timestamps: a datetime on PostgreSQL, the stored text on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return t.as_utc(value)


class SqlProgramReportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlProgramReportsUnitOfWork]:
        async with self.engine.connect() as connection:
            yield SqlProgramReportsUnitOfWork(connection)
