"""The SQL side of settlement (SQLAlchemy Core: the admin side, off the purchase path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.application.settlement import PartnerEntry
from coalition.domain.errors import Conflict
from coalition.domain.ledger import AccountPurpose, OwnerKind, TransactionKind
from coalition.domain.settlement import FeeSchedule, Flows, PartnerLine, Party, Statement

# A period's ledger transactions lie between the lowest and highest id recorded in it: the range bounds each
# partner's scan of its obligations account's postings (index on account and transaction), whatever its history.
_TX_RANGE = text(
    "SELECT MIN(id) AS low, MAX(id) AS high FROM ledger_transactions "
    "WHERE network_id = :network AND recorded_at >= :start AND recorded_at < :end"
).bindparams(bindparam("start", type_=t.Timestamp), bindparam("end", type_=t.Timestamp))

# One row per transaction kind: what the partner's obligation postings added up to in each direction (an expiry's
# posting is the value the breakage policy returned to the partner).
_PARTNER_FLOWS = text(
    """
SELECT t.kind,
       SUM(CASE WHEN p.amount < 0 THEN -p.amount ELSE 0 END) AS owed_to_node,
       SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END) AS owed_by_node,
       COUNT(DISTINCT t.id) AS transactions
  FROM accounts a
  JOIN postings p ON p.account_id = a.id AND p.tx_id BETWEEN :low AND :high
  JOIN ledger_transactions t ON t.id = p.tx_id
 WHERE a.network_id = :network AND a.owner_kind = :partner_kind AND a.owner_id = :partner AND a.purpose = :purpose
   AND t.recorded_at >= :start AND t.recorded_at < :end
 GROUP BY t.kind
"""
).bindparams(bindparam("start", type_=t.Timestamp), bindparam("end", type_=t.Timestamp))

_ENTRIES_SQL = text(
    """
SELECT t.id, t.kind, o.name AS outlet, t.occurred_at, t.recorded_at, SUM(p.amount) AS amount
  FROM ledger_transactions t
  JOIN postings p ON p.tx_id = t.id
  JOIN accounts a ON a.id = p.account_id
  LEFT JOIN outlets o ON o.id = t.outlet_id
 WHERE t.network_id = :network AND t.recorded_at >= :start AND t.recorded_at < :end
   AND a.owner_kind = :partner_kind AND a.purpose = :purpose AND a.owner_id = :partner
 GROUP BY t.id, t.kind, o.name, t.occurred_at, t.recorded_at
 ORDER BY t.recorded_at, t.id
"""
).bindparams(bindparam("start", type_=t.Timestamp), bindparam("end", type_=t.Timestamp))
# typed columns: SQLite hands back timestamps as text unless told what they are
_ENTRIES = _ENTRIES_SQL.columns(occurred_at=t.Timestamp, recorded_at=t.Timestamp)


_utc = t.as_utc


class SqlSettlementUnitOfWork(CoreAuditTrail):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def _scalar(self, statement: Any) -> Any:
        return (await self.connection.execute(statement)).scalar_one()

    async def network_currency(self, network_id: int) -> str:
        return str(await self._scalar(select(t.networks.c.currency).where(t.networks.c.id == network_id)))

    async def network_created_at(self, network_id: int) -> datetime:
        return _utc(await self._scalar(select(t.networks.c.created_at).where(t.networks.c.id == network_id)))

    async def fee_schedule(self, network_id: int) -> FeeSchedule:
        n = t.networks
        row = (
            await self.connection.execute(
                select(n.c.settlement_fee_minor, n.c.settlement_fee_bp).where(n.c.id == network_id)
            )
        ).one()
        return FeeSchedule(int(row.settlement_fee_minor), int(row.settlement_fee_bp))

    async def set_fee_schedule(self, network_id: int, fees: FeeSchedule) -> None:
        await self.connection.execute(
            update(t.networks)
            .where(t.networks.c.id == network_id)
            .values(settlement_fee_minor=fees.per_transaction_minor, settlement_fee_bp=fees.granted_bp)
        )

    async def last_statement(self, network_id: int) -> tuple[int, datetime] | None:
        s = t.settlement_statements
        row = (
            await self.connection.execute(
                select(s.c.number, s.c.period_end)
                .where(s.c.network_id == network_id)
                .order_by(s.c.number.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else (int(row.number), _utc(row.period_end))

    async def partners(self, network_id: int) -> list[Party]:
        p = t.partners
        rows = await self.connection.execute(select(p.c.id, p.c.name).where(p.c.network_id == network_id))
        return [Party(row.name, int(row.id)) for row in rows]

    async def partner_emails(self, network_id: int) -> dict[int, str]:
        p = t.partners
        rows = await self.connection.execute(
            select(p.c.id, p.c.email).where(p.c.network_id == network_id, p.c.email.is_not(None))
        )
        return {int(row.id): row.email for row in rows}

    async def period_tx_range(self, network_id: int, start: datetime, end: datetime) -> tuple[int, int] | None:
        row = (await self.connection.execute(_TX_RANGE, {"network": network_id, "start": start, "end": end})).one()
        return None if row.low is None else (int(row.low), int(row.high))

    async def partner_flows(
        self, network_id: int, partner_id: int, start: datetime, end: datetime, tx_range: tuple[int, int]
    ) -> Flows:
        rows = await self.connection.execute(
            _PARTNER_FLOWS,
            {
                "network": network_id,
                "partner": partner_id,
                "start": start,
                "end": end,
                "low": tx_range[0],
                "high": tx_range[1],
                "partner_kind": OwnerKind.PARTNER.value,
                "purpose": AccountPurpose.OBLIGATIONS.value,
            },
        )
        flows = Flows()
        for row in rows:
            kind = TransactionKind(row.kind)
            # each direction's sum, added as one posting of that sign: Flows.plus sorts it
            merged = flows.plus(kind, -int(row.owed_to_node)).plus(kind, int(row.owed_by_node))
            flows = merged + Flows(transactions=int(row.transactions))
        return flows

    async def save_statement(self, statement: Statement) -> None:
        try:
            statement_id = await self._scalar(
                insert(t.settlement_statements)
                .values(
                    network_id=statement.network_id,
                    number=statement.number,
                    period_start=statement.period_start,
                    period_end=statement.period_end,
                    currency=statement.currency,
                    node_net_minor=statement.node_net_minor,
                    closed_at=statement.closed_at,
                )
                .returning(t.settlement_statements.c.id)
            )
        except IntegrityError as error:  # another close of the same period won
            raise Conflict("this period was closed by another request just now", field="end") from error
        if statement.lines:
            await self.connection.execute(
                insert(t.settlement_lines),
                [
                    {
                        "statement_id": statement_id,
                        "partner_id": line.party.partner_id,
                        "partner_name": line.party.name,
                        "granted_minor": line.flows.granted_minor,
                        "granted_refunded_minor": line.flows.granted_refunded_minor,
                        "honoured_minor": line.flows.honoured_minor,
                        "honoured_refunded_minor": line.flows.honoured_refunded_minor,
                        "breakage_minor": line.flows.breakage_minor,
                        "net_minor": line.net_minor,
                        "transactions": line.flows.transactions,
                        "fees_minor": line.fees_minor,
                    }
                    for line in statement.lines
                ],
            )

    async def statements(self, network_id: int) -> list[Statement]:
        s = t.settlement_statements
        rows = await self.connection.execute(select(s).where(s.c.network_id == network_id).order_by(s.c.number))
        return [await self._statement(row) for row in rows.all()]

    async def statement(self, network_id: int, number: int) -> Statement | None:
        if number > t.MAX_INTEGER_COLUMN:
            return None
        s = t.settlement_statements
        row = (
            await self.connection.execute(select(s).where(s.c.network_id == network_id, s.c.number == number))
        ).first()
        return None if row is None else await self._statement(row)

    async def _statement(self, row: Any) -> Statement:
        lines_table = t.settlement_lines
        lines = await self.connection.execute(
            select(lines_table).where(lines_table.c.statement_id == row.id).order_by(lines_table.c.partner_name)
        )
        partner_lines = tuple(
            PartnerLine(
                Party(line.partner_name, int(line.partner_id)),
                Flows(
                    line.granted_minor,
                    line.granted_refunded_minor,
                    line.honoured_minor,
                    line.honoured_refunded_minor,
                    line.transactions,
                    line.breakage_minor,
                ),
                line.fees_minor,
            )
            for line in lines
        )
        statement = Statement(
            int(row.network_id),
            _utc(row.period_start),
            _utc(row.period_end),
            row.currency,
            partner_lines,
            _utc(row.closed_at),
            int(row.number),
        )
        if statement.node_net_minor != row.node_net_minor:
            raise RuntimeError(f"statement {row.number}: the stored node position disagrees with its lines")
        return statement

    async def partner_entries(
        self, network_id: int, partner_id: int, start: datetime, end: datetime
    ) -> list[PartnerEntry]:
        rows = await self.connection.execute(
            _ENTRIES,
            {
                "network": network_id,
                "start": start,
                "end": end,
                "partner_kind": OwnerKind.PARTNER.value,
                "purpose": AccountPurpose.OBLIGATIONS.value,
                "partner": partner_id,
            },
        )
        return [
            PartnerEntry(
                int(row.id), row.kind, row.outlet, _utc(row.occurred_at), _utc(row.recorded_at), int(row.amount)
            )
            for row in rows
        ]


class SqlSettlementStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlSettlementUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlSettlementUnitOfWork(connection)

    async def wait_for_writers(self) -> None:
        """SHARE mode conflicts with the ROW EXCLUSIVE lock every writer of ledger transactions holds until it ends:
        taking it waits for them, and releasing it at once lets new writers go on. SQLite has one writer at a
        time, and a write transaction (BEGIN IMMEDIATE) waits for it the same way."""
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("LOCK TABLE ledger_transactions IN SHARE MODE"))
