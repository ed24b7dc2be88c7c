"""The operator's view of every network with its plan (application/operator.py), over SQLAlchemy (the admin side)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.application.audit import AuditEntry
from coalition.application.operator import NetworkPlan
from coalition.domain.plans import Plan, PlanState, plan_named

_MEMBERS = (
    select(func.count())
    .select_from(t.members)
    .where(t.members.c.network_id == t.networks.c.id)
    .correlate(t.networks)
    .scalar_subquery()
)
_COLUMNS = (
    t.networks.c.id,
    t.networks.c.code,
    t.networks.c.name,
    t.networks.c.created_at,
    t.networks.c.plan,
    t.networks.c.trial_ends_at,
    t.networks.c.suspended_at,
    _MEMBERS.label("members"),
)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _network(row: Any) -> NetworkPlan:
    state = PlanState(plan_named(row.plan), _utc(row.trial_ends_at), _utc(row.suspended_at))
    created = _utc(row.created_at)
    if created is None:
        raise LookupError(f"network {row.id} has no creation time")
    return NetworkPlan(int(row.id), row.code, row.name, created, state, int(row.members))


class SqlOperatorStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def networks_page(self, after_id: int | None, limit: int) -> list[NetworkPlan]:
        query = select(*_COLUMNS).order_by(t.networks.c.id).limit(limit)
        if after_id is not None:
            query = query.where(t.networks.c.id > after_id)
        async with self.engine.connect() as connection:
            return [_network(row) for row in await connection.execute(query)]

    async def network_plan(self, network_id: int) -> NetworkPlan | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(*_COLUMNS).where(t.networks.c.id == network_id))).first()
        return None if row is None else _network(row)

    async def set_plan(self, network_id: int, plan: Plan, trial_ends_at: datetime | None, audited: AuditEntry) -> None:
        values = {"plan": plan.code, "trial_ends_at": trial_ends_at}
        await self._update(network_id, values, audited)

    async def set_suspended(self, network_id: int, suspended_at: datetime | None, audited: AuditEntry) -> None:
        await self._update(network_id, {"suspended_at": suspended_at}, audited)

    async def _update(self, network_id: int, values: dict[str, Any], audited: AuditEntry) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(update(t.networks).where(t.networks.c.id == network_id).values(**values))
            await ConnectionAuditTrail(connection).audit(audited)
