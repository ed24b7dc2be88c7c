"""The network's purchase limits in the `networks` table (domain.limits). The purchase path reads them with the
program (`PROGRAM_WITH_LIMITS`, one query for both, cached); the administrator reads and sets them here."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.application.audit import AuditEntry
from coalition.domain.limits import LIMIT_COLUMNS, PurchaseLimits

PROGRAM_WITH_LIMITS = (
    "SELECT p.id, p.code, p.currency, p.point_value_minor, p.min_check_for_redeem_minor, p.points_expire_days, "
    + ", ".join(f"n.{name}" for name in LIMIT_COLUMNS)
    + ", n.card_min_first_purchase_minor, n.country"
    + " FROM programs p JOIN networks n ON n.id = p.network_id WHERE p.network_id = $1"
)


class SqlLimitsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def limits(self, network_id: int) -> PurchaseLimits:
        columns = [t.networks.c[name] for name in LIMIT_COLUMNS]
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(*columns).where(t.networks.c.id == network_id))).one()
        return PurchaseLimits(*row)

    async def card_minimum(self, network_id: int) -> int:
        column = t.networks.c.card_min_first_purchase_minor
        async with self.engine.connect() as connection:
            return int((await connection.execute(select(column).where(t.networks.c.id == network_id))).scalar_one())

    async def set_card_minimum(self, network_id: int, minimum_minor: int, audited: AuditEntry) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(t.networks)
                .where(t.networks.c.id == network_id)
                .values(card_min_first_purchase_minor=minimum_minor)
            )
            await ConnectionAuditTrail(connection).audit(audited)

    async def country(self, network_id: int) -> str | None:
        column = t.networks.c.country
        async with self.engine.connect() as connection:
            found = (await connection.execute(select(column).where(t.networks.c.id == network_id))).scalar_one()
        return None if found is None else str(found)

    async def set_country(self, network_id: int, country: str, audited: AuditEntry) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(update(t.networks).where(t.networks.c.id == network_id).values(country=country))
            await ConnectionAuditTrail(connection).audit(audited)

    async def set_limits(self, network_id: int, limits: PurchaseLimits, audited: AuditEntry) -> None:
        values = {name: getattr(limits, name) for name in LIMIT_COLUMNS}
        async with self.engine.begin() as connection:
            await connection.execute(update(t.networks).where(t.networks.c.id == network_id).values(**values))
            await ConnectionAuditTrail(connection).audit(audited)
