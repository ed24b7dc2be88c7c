"""The SQL implementation of the rules unit of work (SQLAlchemy Core: the admin side, off the purchase path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.application.rules import StoredRuleSet
from coalition.application.simulation import StoredSale
from coalition.domain.errors import Conflict
from coalition.domain.rules.context import LineFacts

_COLUMNS = (
    t.rule_sets.c.version,
    t.rule_sets.c.status,
    t.rule_sets.c.body,
    t.rule_sets.c.updated_at,
    t.rule_sets.c.published_at,
    t.rule_sets.c.effective_from,
    t.rule_sets.c.editor_form,
)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else t.as_utc(moment)


def _stored(row: Any) -> StoredRuleSet:
    return StoredRuleSet(
        row.version,
        row.status,
        row.body,
        _utc(row.updated_at) or row.updated_at,
        _utc(row.published_at),
        _utc(row.effective_from),
        row.editor_form,
    )


class SqlRulesUnitOfWork(CoreAuditTrail):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def _one(self, *conditions: Any) -> StoredRuleSet | None:
        row = (await self.connection.execute(select(*_COLUMNS).where(*conditions))).first()
        return None if row is None else _stored(row)

    async def draft(self, network_id: int) -> StoredRuleSet | None:
        return await self._one(t.rule_sets.c.network_id == network_id, t.rule_sets.c.status == "draft")

    async def version(self, network_id: int, version: int) -> StoredRuleSet | None:
        if version > t.MAX_INTEGER_COLUMN:
            return None
        return await self._one(t.rule_sets.c.network_id == network_id, t.rule_sets.c.version == version)

    async def history(self, network_id: int) -> list[StoredRuleSet]:
        rows = await self.connection.execute(
            select(*_COLUMNS).where(t.rule_sets.c.network_id == network_id).order_by(t.rule_sets.c.version.desc())
        )
        return [_stored(row) for row in rows]

    async def in_force(self, network_id: int, at: datetime) -> StoredRuleSet | None:
        r = t.rule_sets
        row = (
            await self.connection.execute(
                select(*_COLUMNS)
                .where(r.c.network_id == network_id, r.c.status == "published", r.c.effective_from <= at)
                .order_by(r.c.effective_from.desc(), r.c.version.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _stored(row)

    async def published_schedule(self, network_id: int) -> list[tuple[datetime, int]]:
        r = t.rule_sets
        rows = await self.connection.execute(
            select(r.c.effective_from, r.c.version).where(r.c.network_id == network_id, r.c.status == "published")
        )
        return [(t.as_utc(row.effective_from), row.version) for row in rows if row.effective_from is not None]

    async def save_draft(self, network_id: int, body: str, now: datetime, editor_form: str | None = None) -> int:
        r = t.rule_sets
        current = await self.draft(network_id)
        if current is not None:
            await self.connection.execute(
                update(r)
                .where(r.c.network_id == network_id, r.c.version == current.version, r.c.status == "draft")
                .values(body=body, editor_form=editor_form, updated_at=now)
            )
            return current.version
        latest = (
            await self.connection.execute(
                select(func.coalesce(func.max(r.c.version), 0)).where(r.c.network_id == network_id)
            )
        ).scalar_one()
        version = int(latest) + 1
        try:
            await self.connection.execute(
                insert(r).values(
                    network_id=network_id,
                    version=version,
                    status="draft",
                    body=body,
                    editor_form=editor_form,
                    created_at=now,
                    updated_at=now,
                )
            )
        except IntegrityError:  # another edit created the draft at the same moment
            raise Conflict(
                "another edit created this draft at the same moment: load it and try again", field="draft"
            ) from None
        return version

    async def publish_draft(self, network_id: int, version: int, now: datetime, effective_from: datetime) -> bool:
        r = t.rule_sets
        result = await self.connection.execute(
            update(r)
            .where(r.c.network_id == network_id, r.c.version == version, r.c.status == "draft")
            .values(status="published", published_at=now, effective_from=effective_from, updated_at=now)
        )
        return bool(result.rowcount)

    async def scope_names(self, network_id: int) -> tuple[frozenset[str], frozenset[str]]:
        partners = await self.connection.execute(select(t.partners.c.name).where(t.partners.c.network_id == network_id))
        outlets = await self.connection.execute(select(t.outlets.c.name).where(t.outlets.c.network_id == network_id))
        return frozenset(row.name for row in partners), frozenset(row.name for row in outlets)

    async def gift_type_codes(self, network_id: int) -> frozenset[str]:
        rows = await self.connection.execute(select(t.gift_types.c.code).where(t.gift_types.c.network_id == network_id))
        return frozenset(row.code for row in rows)

    async def outlet_place(self, network_id: int, outlet: str) -> tuple[str, str] | None:
        o, p = t.outlets, t.partners
        row = (
            await self.connection.execute(
                select(p.c.name, o.c.timezone)
                .join(p, p.c.id == o.c.partner_id)
                .where(o.c.network_id == network_id, o.c.name == outlet)
                .order_by(o.c.id)
                .limit(1)
            )
        ).first()
        return None if row is None else (row.name, row.timezone)

    async def network_currency(self, network_id: int) -> str | None:
        value = (
            await self.connection.execute(select(t.networks.c.currency).where(t.networks.c.id == network_id))
        ).scalar_one_or_none()
        return None if value is None else str(value)

    async def point_value_minor(self, network_id: int) -> int:
        value = (
            await self.connection.execute(
                select(t.programs.c.point_value_minor).where(t.programs.c.network_id == network_id).limit(1)
            )
        ).scalar_one_or_none()
        return int(value) if value is not None else 100

    async def spend_before(self, network_id: int, start: datetime, end: datetime) -> dict[int, int]:
        """Each member's checks before `start`, for the members who bought between `start` and `end`."""
        p = t.purchases
        buyers = select(p.c.member_id).where(
            p.c.network_id == network_id, p.c.occurred_at >= start, p.c.occurred_at < end
        )
        rows = await self.connection.execute(
            select(p.c.member_id, func.sum(p.c.check_minor))
            .where(p.c.network_id == network_id, p.c.occurred_at < start, p.c.member_id.in_(buyers))
            .group_by(p.c.member_id)
        )
        return {int(member_id): int(total) for member_id, total in rows}

    async def summarize_time_index(self) -> None:
        """PostgreSQL: summarise the BRIN ranges filled since autovacuum last did (migration 0009)."""
        if self.connection.dialect.name == "postgresql":
            await self.connection.execute(text("SELECT brin_summarize_new_values('ix_purchases_occurred_brin')"))

    async def count_sales(self, network_id: int, start: datetime, end: datetime) -> int:
        p = t.purchases
        return int(
            (
                await self.connection.execute(
                    select(func.count()).where(
                        p.c.network_id == network_id, p.c.occurred_at >= start, p.c.occurred_at < end
                    )
                )
            ).scalar_one()
        )

    async def sales_between(self, network_id: int, start: datetime, end: datetime) -> list[StoredSale]:
        """The purchases of [start, end) in (occurred_at, id) order, with their lines."""
        p, o, pa = t.purchases, t.outlets, t.partners
        query = (
            select(
                p.c.id,
                p.c.occurred_at,
                o.c.name.label("outlet"),
                pa.c.name.label("partner"),
                o.c.timezone,
                p.c.member_id,
                p.c.check_minor,
                p.c.amount_due_minor,
                p.c.points_redeemed,
                p.c.points_earned,
            )
            .join(o, o.c.id == p.c.outlet_id)
            .join(pa, pa.c.id == o.c.partner_id)
            .where(p.c.network_id == network_id, p.c.occurred_at >= start, p.c.occurred_at < end)
            .order_by(p.c.occurred_at, p.c.id)
        )
        rows = (await self.connection.execute(query)).all()
        lines: dict[str, list[LineFacts]] = {}
        if rows:
            pl = t.purchase_lines
            for line in await self.connection.execute(
                select(
                    pl.c.purchase_id,
                    pl.c.sku,
                    pl.c.category,
                    pl.c.quantity_milli,
                    pl.c.unit_price_minor,
                    pl.c.total_minor,
                )
                .where(pl.c.purchase_id.in_([row.id for row in rows]))
                .order_by(pl.c.purchase_id, pl.c.line_no)
            ):
                lines.setdefault(line.purchase_id, []).append(
                    LineFacts(line.sku, line.total_minor, line.quantity_milli, line.unit_price_minor, line.category)
                )
        return [
            StoredSale(
                row.id,
                _utc(row.occurred_at) or row.occurred_at,
                row.outlet,
                row.partner,
                row.timezone,
                row.member_id,
                row.check_minor,
                row.amount_due_minor,
                row.points_redeemed,
                row.points_earned,
                tuple(lines.get(row.id, ())),
            )
            for row in rows
        ]


class SqlRulesStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlRulesUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlRulesUnitOfWork(connection)
