"""The SQL side of settlement (SQLAlchemy Core: the admin side, off the purchase path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.application.settlement import PartnerEntry
from coalition.domain.errors import Conflict
from coalition.domain.ledger import AccountPurpose, OwnerKind, TransactionKind, money_asset
from coalition.domain.settlement import (
    NO_MONEY,
    FeeSchedule,
    Flows,
    MoneyFlows,
    NodeHoldings,
    PartnerLine,
    Party,
    Statement,
)

# the stored columns of a partner's prepaid money (settlement_money_lines), named as MoneyFlows' fields
_MONEY_COLUMNS = tuple(field.name for field in fields(MoneyFlows))

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

# One row per transaction kind: the partner's prepaid postings in each direction, and how much of each moved
# gift-card money — the smaller of the posting and the transaction's gift-card postings the other way (the rest is
# wallet money: MoneyFlows.plus sorts them).
_PARTNER_MONEY = text(
    """
WITH mine AS (
  SELECT p.tx_id, t.kind,
         SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END) AS owed_by_node,
         SUM(CASE WHEN p.amount < 0 THEN -p.amount ELSE 0 END) AS owed_to_node
    FROM accounts a
    JOIN postings p ON p.account_id = a.id AND p.tx_id BETWEEN :low AND :high
    JOIN ledger_transactions t ON t.id = p.tx_id
   WHERE a.network_id = :network AND a.owner_kind = :partner_kind AND a.owner_id = :partner
     AND a.purpose = :purpose AND a.asset = :asset AND t.recorded_at >= :start AND t.recorded_at < :end
   GROUP BY p.tx_id, t.kind
), cards AS (
  SELECT p.tx_id,
         SUM(CASE WHEN p.amount < 0 THEN -p.amount ELSE 0 END) AS paid,
         SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END) AS funded
    FROM mine
    JOIN postings p ON p.tx_id = mine.tx_id
    JOIN accounts a ON a.id = p.account_id AND a.purpose = :gift_card AND a.asset = :asset
   GROUP BY p.tx_id
)
SELECT mine.kind,
       SUM(mine.owed_by_node) AS owed_by_node,
       SUM(CASE WHEN mine.owed_by_node < COALESCE(cards.paid, 0) THEN mine.owed_by_node
                ELSE COALESCE(cards.paid, 0) END) AS owed_by_node_card,
       SUM(mine.owed_to_node) AS owed_to_node,
       SUM(CASE WHEN mine.owed_to_node < COALESCE(cards.funded, 0) THEN mine.owed_to_node
                ELSE COALESCE(cards.funded, 0) END) AS owed_to_node_card,
       COUNT(*) AS transactions
  FROM mine LEFT JOIN cards ON cards.tx_id = mine.tx_id
 GROUP BY mine.kind
"""
).bindparams(bindparam("start", type_=t.Timestamp), bindparam("end", type_=t.Timestamp))

# The node's side of the period's prepaid money: in every transaction recorded in it that touched a partner's or the
# node's prepaid account or the prepaid breakage, the postings on members' wallets, gift cards and the node's own
# prepaid accounts, summed by account purpose (the partners' and the node's prepaid accounts are few: indexed).
_NODE_MONEY = text(
    """
WITH moved AS (
  SELECT DISTINCT p.tx_id
    FROM accounts a
    JOIN postings p ON p.account_id = a.id AND p.tx_id BETWEEN :low AND :high
    JOIN ledger_transactions t ON t.id = p.tx_id
   WHERE a.network_id = :network AND a.owner_kind IN (:partner_kind, :node_kind)
     AND a.purpose IN (:prepaid, :prepaid_breakage) AND a.asset = :asset
     AND t.recorded_at >= :start AND t.recorded_at < :end
)
SELECT a.purpose, a.owner_kind, SUM(p.amount) AS amount
  FROM moved
  JOIN postings p ON p.tx_id = moved.tx_id
  JOIN accounts a ON a.id = p.account_id
 WHERE a.asset = :asset AND a.purpose IN (:wallet, :held, :gift_card, :prepaid, :prepaid_breakage)
 GROUP BY a.purpose, a.owner_kind
"""
).bindparams(bindparam("start", type_=t.Timestamp), bindparam("end", type_=t.Timestamp))

_ENTRIES_SQL = text(
    """
SELECT t.id, t.kind, o.name AS outlet, t.occurred_at, t.recorded_at, a.purpose, SUM(p.amount) AS amount
  FROM ledger_transactions t
  JOIN postings p ON p.tx_id = t.id
  JOIN accounts a ON a.id = p.account_id
  LEFT JOIN outlets o ON o.id = t.outlet_id
 WHERE t.network_id = :network AND t.recorded_at >= :start AND t.recorded_at < :end
   AND a.owner_kind = :partner_kind AND a.purpose IN (:purpose, :prepaid) AND a.owner_id = :partner
 GROUP BY t.id, t.kind, o.name, t.occurred_at, t.recorded_at, a.purpose
 ORDER BY t.recorded_at, t.id, a.purpose DESC
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

    async def partner_money(
        self,
        network_id: int,
        partner_id: int,
        start: datetime,
        end: datetime,
        tx_range: tuple[int, int],
        currency: str,
    ) -> MoneyFlows:
        rows = await self.connection.execute(
            _PARTNER_MONEY,
            {
                "network": network_id,
                "partner": partner_id,
                "start": start,
                "end": end,
                "low": tx_range[0],
                "high": tx_range[1],
                "partner_kind": OwnerKind.PARTNER.value,
                "purpose": AccountPurpose.PREPAID.value,
                "gift_card": AccountPurpose.GIFT_CARD.value,
                "asset": money_asset(currency),
            },
        )
        money = NO_MONEY
        for row in rows:
            kind = TransactionKind(row.kind)
            # each direction's sum, added as one posting of that sign with its gift-card part: MoneyFlows.plus sorts it
            merged = money.plus(kind, int(row.owed_by_node), int(row.owed_by_node_card))
            merged = merged.plus(kind, -int(row.owed_to_node), int(row.owed_to_node_card))
            money = merged + MoneyFlows(transactions=int(row.transactions))
        return money

    async def node_holdings(
        self, network_id: int, start: datetime, end: datetime, tx_range: tuple[int, int], currency: str
    ) -> NodeHoldings:
        rows = await self.connection.execute(
            _NODE_MONEY,
            {
                "network": network_id,
                "start": start,
                "end": end,
                "low": tx_range[0],
                "high": tx_range[1],
                "partner_kind": OwnerKind.PARTNER.value,
                "node_kind": OwnerKind.NODE.value,
                "prepaid": AccountPurpose.PREPAID.value,
                "prepaid_breakage": AccountPurpose.PREPAID_BREAKAGE.value,
                "wallet": AccountPurpose.MEMBER_WALLET.value,
                "held": AccountPurpose.HELD_MONEY.value,
                "gift_card": AccountPurpose.GIFT_CARD.value,
                "asset": money_asset(currency),
            },
        )
        sums = {(row.purpose, row.owner_kind): int(row.amount) for row in rows}

        def of(purpose: AccountPurpose) -> int:
            return sum(amount for (found, _), amount in sums.items() if found == purpose.value)

        node_prepaid = sums.get((AccountPurpose.PREPAID.value, OwnerKind.NODE.value), 0)
        return NodeHoldings(
            # money a device held is still the members' until captured: a capture's held −A is its wallet payment
            wallets_minor=of(AccountPurpose.MEMBER_WALLET) + of(AccountPurpose.HELD_MONEY),
            gift_cards_minor=of(AccountPurpose.GIFT_CARD),
            breakage_kept_minor=of(AccountPurpose.PREPAID_BREAKAGE),
            funded_minor=-node_prepaid,
        )

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
                    node_net_minor=statement.node_points_net_minor,
                    closed_at=statement.closed_at,
                    node_wallets_minor=statement.holdings.wallets_minor,
                    node_gift_cards_minor=statement.holdings.gift_cards_minor,
                    node_breakage_kept_minor=statement.holdings.breakage_kept_minor,
                    node_funded_minor=statement.holdings.funded_minor,
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
                        "net_minor": line.points_net_minor,
                        "transactions": line.flows.transactions,
                        "fees_minor": line.fees_minor,
                    }
                    for line in statement.lines
                ],
            )
        money_lines = [line for line in statement.lines if not line.money.is_empty]
        if money_lines:
            await self.connection.execute(
                insert(t.settlement_money_lines),
                [
                    {"statement_id": statement_id, "partner_id": line.party.partner_id}
                    | {name: getattr(line.money, name) for name in _MONEY_COLUMNS}
                    | {"net_minor": line.money.net_minor}
                    for line in money_lines
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
        money_table = t.settlement_money_lines
        money_rows = await self.connection.execute(select(money_table).where(money_table.c.statement_id == row.id))
        money = {
            int(found.partner_id): MoneyFlows(**{name: int(getattr(found, name)) for name in _MONEY_COLUMNS})
            for found in money_rows
        }
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
                money.get(int(line.partner_id), NO_MONEY),
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
            NodeHoldings(
                int(row.node_wallets_minor),
                int(row.node_gift_cards_minor),
                int(row.node_breakage_kept_minor),
                int(row.node_funded_minor),
            ),
        )
        if statement.node_points_net_minor != row.node_net_minor:
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
                "prepaid": AccountPurpose.PREPAID.value,
                "partner": partner_id,
            },
        )
        return [
            PartnerEntry(
                int(row.id),
                row.kind,
                row.outlet,
                _utc(row.occurred_at),
                _utc(row.recorded_at),
                int(row.amount),
                "money" if row.purpose == AccountPurpose.PREPAID.value else "points",
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
