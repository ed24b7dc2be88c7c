"""The SQL behind the console's reports: purchases and refunds summed per outlet, cashier and hour or day.

The application gives the moments where the buckets start (hours or days in the outlets' own time zone); a CASE puts
each row in its bucket, so the query is the same on SQLite and PostgreSQL and honours clock changes exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, delete, func, insert, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.anomalies_store import anomaly_facts
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.adapters.storage.device_store import device_records
from coalition.application.daily_reports import DayTransaction, ReportRecipient, till_time
from coalition.application.devices_admin import DeviceRecord
from coalition.application.reports import PrepaidBucket, RefundBucket, ReportOutlet, SalesBucket
from coalition.domain.anomalies import DayFacts
from coalition.domain.ledger import AccountPurpose, TransactionKind


def _bucket_of(moment: Any, starts: Sequence[datetime]) -> Any:
    """The bucket index of `moment`, given the buckets' starts and the last one's end (rows are filtered to them)."""
    inner = starts[1:-1]
    if not inner:
        return _index(0)
    return case(*((moment < start, _index(index)) for index, start in enumerate(inner)), else_=_index(len(inner)))


def _prepaid_money(tx_id: Any, purpose: AccountPurpose) -> Any:
    """The sum of a transaction's postings on members' wallets or on gift cards (0 when none): − paid from them,
    + put back."""
    po, a = t.postings, t.accounts
    return func.coalesce(
        select(func.sum(po.c.amount))
        .join(a, a.c.id == po.c.account_id)
        .where(po.c.tx_id == tx_id, a.c.purpose == purpose.value)
        .scalar_subquery(),
        0,
    )


def till_taking(tx: Any, account: Any) -> Any:
    """Postings of money a till took onto a card: a top-up's on the member's wallet, a card sale's on the card."""
    taken_onto = (
        (TransactionKind.TOP_UP.value, AccountPurpose.MEMBER_WALLET.value),
        (TransactionKind.GIFT_CARD_SALE.value, AccountPurpose.GIFT_CARD.value),
    )
    return or_(*(and_(tx.c.kind == kind, account.c.purpose == purpose) for kind, purpose in taken_onto))


def _index(value: int) -> Any:
    return literal_column(str(value), Integer)  # written into the SQL: a typed integer on both engines


def _utc(starts: Sequence[datetime]) -> list[datetime]:
    return [start.astimezone(UTC) for start in starts]  # SQLite compares timestamps as UTC text


class SqlReportsUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def report_outlets(self, network_id: int, partner_id: int | None) -> list[ReportOutlet]:
        o, p = t.outlets, t.partners
        query = (
            select(o.c.id, o.c.name, o.c.partner_id, p.c.name.label("partner_name"), o.c.timezone)
            .join(p, p.c.id == o.c.partner_id)
            .where(o.c.network_id == network_id)
            .order_by(p.c.name, o.c.name, o.c.id)
        )
        if partner_id is not None:
            query = query.where(o.c.partner_id == partner_id)
        return [
            ReportOutlet(row.id, row.name, row.partner_id, row.partner_name, row.timezone)
            for row in await self.connection.execute(query)
        ]

    async def partner_names(self, network_id: int) -> dict[int, str]:
        p = t.partners
        rows = await self.connection.execute(
            select(p.c.id, p.c.name).where(p.c.network_id == network_id).order_by(p.c.name)
        )
        return {int(row.id): row.name for row in rows}

    async def cashier_names(self, outlet_ids: Sequence[int]) -> dict[tuple[int, str], str]:
        if not outlet_ids:
            return {}
        c = t.cashiers
        rows = await self.connection.execute(
            select(c.c.outlet_id, c.c.login, c.c.name).where(c.c.outlet_id.in_(list(outlet_ids)))
        )
        return {(int(row.outlet_id), row.login): row.name for row in rows}

    async def point_value_minor(self, network_id: int) -> int:
        value = await self.connection.scalar(
            select(t.programs.c.point_value_minor).where(t.programs.c.network_id == network_id).limit(1)
        )
        return int(value) if value is not None else 100

    async def sales_by_bucket(
        self, network_id: int, outlet_ids: Sequence[int], boundaries: Sequence[datetime]
    ) -> list[SalesBucket]:
        if not outlet_ids:
            return []
        p = t.purchases
        starts = _utc(boundaries)
        rows = (
            select(
                p.c.outlet_id,
                p.c.cashier_login,
                _bucket_of(p.c.recorded_at, starts).label("bucket"),  # by the server's time: a till's is its own
                p.c.check_minor,
                p.c.amount_due_minor,
                p.c.points_redeemed,
                p.c.points_earned,
            )
            .where(
                p.c.network_id == network_id,
                p.c.outlet_id.in_(list(outlet_ids)),
                p.c.recorded_at >= starts[0],
                p.c.recorded_at < starts[-1],
            )
            .subquery()
        )
        query = select(
            rows.c.outlet_id,
            rows.c.cashier_login,
            rows.c.bucket,
            func.count().label("checks"),
            func.sum(rows.c.check_minor).label("check_minor"),
            func.sum(rows.c.amount_due_minor).label("amount_due_minor"),
            func.sum(rows.c.points_redeemed).label("points_redeemed"),
            func.sum(rows.c.points_earned).label("points_earned"),
        ).group_by(rows.c.outlet_id, rows.c.cashier_login, rows.c.bucket)
        return [
            SalesBucket(
                int(row.outlet_id),
                row.cashier_login,
                int(row.bucket),
                int(row.checks),
                int(row.check_minor),
                int(row.amount_due_minor),
                int(row.points_redeemed),
                int(row.points_earned),
            )
            for row in await self.connection.execute(query)
        ]

    async def refunds_by_bucket(
        self, network_id: int, outlet_ids: Sequence[int], boundaries: Sequence[datetime]
    ) -> list[RefundBucket]:
        if not outlet_ids:
            return []
        p, r = t.purchases, t.refunds
        starts = _utc(boundaries)
        rows = (
            select(
                p.c.outlet_id,
                # the cashier who gave the money back; a refund that names none, the sale's
                func.coalesce(r.c.cashier_login, p.c.cashier_login).label("cashier_login"),
                _bucket_of(r.c.recorded_at, starts).label("bucket"),
                r.c.refund_minor,
                r.c.money_back_minor,
            )
            .join(p, p.c.id == r.c.purchase_id)
            .where(
                p.c.network_id == network_id,
                p.c.outlet_id.in_(list(outlet_ids)),
                r.c.recorded_at >= starts[0],
                r.c.recorded_at < starts[-1],
            )
            .subquery()
        )
        query = select(
            rows.c.outlet_id,
            rows.c.cashier_login,
            rows.c.bucket,
            func.count().label("refunds"),
            func.sum(rows.c.refund_minor).label("refund_minor"),
            func.sum(rows.c.money_back_minor).label("money_back_minor"),
        ).group_by(rows.c.outlet_id, rows.c.cashier_login, rows.c.bucket)
        return [
            RefundBucket(
                int(row.outlet_id),
                row.cashier_login,
                int(row.bucket),
                int(row.refunds),
                int(row.refund_minor),
                int(row.money_back_minor),
            )
            for row in await self.connection.execute(query)
        ]

    async def prepaid_by_bucket(
        self, network_id: int, outlet_ids: Sequence[int], boundaries: Sequence[datetime], purposes: Sequence[str]
    ) -> list[PrepaidBucket]:
        """The postings on money-on-card accounts (`purposes`) in transactions recorded at these outlets, per outlet,
        cashier, bucket, transaction kind and purpose. Found through the transactions' (network, recorded_at) index;
        the cashier is the purchase's or the refund's, or the one a top-up or a card sale names."""
        if not outlet_ids or not purposes:
            return []
        tx, po, a, pu, r, rp = (
            t.ledger_transactions,
            t.postings,
            t.accounts,
            t.purchases,
            t.refunds,
            t.purchases.alias("refunded"),
        )
        starts = _utc(boundaries)
        rows = (
            select(
                tx.c.outlet_id,
                func.coalesce(pu.c.cashier_login, r.c.cashier_login, rp.c.cashier_login, tx.c.cashier_login).label(
                    "cashier_login"
                ),
                _bucket_of(tx.c.recorded_at, starts).label("bucket"),
                tx.c.kind,
                a.c.purpose,
                tx.c.id.label("tx_id"),
                po.c.amount,
            )
            .select_from(tx)
            .join(po, po.c.tx_id == tx.c.id)
            .join(a, a.c.id == po.c.account_id)
            .outerjoin(pu, pu.c.tx_id == tx.c.id)
            .outerjoin(r, r.c.tx_id == tx.c.id)
            .outerjoin(rp, rp.c.id == r.c.purchase_id)
            .where(
                tx.c.network_id == network_id,
                tx.c.outlet_id.in_(list(outlet_ids)),
                tx.c.recorded_at >= starts[0],
                tx.c.recorded_at < starts[-1],
                a.c.purpose.in_(list(purposes)),
            )
            .subquery()
        )
        query = select(
            rows.c.outlet_id,
            rows.c.cashier_login,
            rows.c.bucket,
            rows.c.kind,
            rows.c.purpose,
            func.count(rows.c.tx_id.distinct()).label("transactions"),
            func.sum(rows.c.amount).label("amount_minor"),
        ).group_by(rows.c.outlet_id, rows.c.cashier_login, rows.c.bucket, rows.c.kind, rows.c.purpose)
        return [
            PrepaidBucket(
                int(row.outlet_id),
                row.cashier_login,
                int(row.bucket),
                row.kind,
                row.purpose,
                int(row.transactions),
                int(row.amount_minor),
            )
            for row in await self.connection.execute(query)
        ]


class SqlReportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlReportsUnitOfWork]:
        async with self.engine.connect() as connection:
            yield SqlReportsUnitOfWork(connection)


class SqlDailyReportsUnitOfWork(CoreAuditTrail):
    """The daily report's reads (recipients, the day's purchases and refunds) and its record of what was sent."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def currency(self, network_id: int) -> str:
        n = t.networks
        return str((await self.connection.execute(select(n.c.currency).where(n.c.id == network_id))).scalar_one())

    async def recipients(self, network_id: int) -> list[ReportRecipient]:
        p = t.partners
        rows = await self.connection.execute(
            select(p.c.id, p.c.name, p.c.email, p.c.mail_language)
            .where(p.c.network_id == network_id)
            .order_by(p.c.name, p.c.id)
        )
        return [ReportRecipient(int(row.id), row.name, row.email or None, row.mail_language or "en") for row in rows]

    async def partner_devices(self, network_id: int, partner_id: int) -> list[DeviceRecord]:
        return await device_records(
            self.connection, t.devices.c.network_id == network_id, t.outlets.c.partner_id == partner_id
        )

    async def outlet_zones(self, network_id: int, partner_id: int | None) -> dict[int, str]:
        o = t.outlets
        query = select(o.c.id, o.c.timezone).where(o.c.network_id == network_id)
        if partner_id is not None:
            query = query.where(o.c.partner_id == partner_id)
        return {int(row.id): row.timezone for row in await self.connection.execute(query)}

    async def anomaly_facts(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> DayFacts:
        return await anomaly_facts(self.connection, network_id, outlet_ids, start, end)

    async def day_transactions(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[DayTransaction]:
        if not outlet_ids:
            return []
        p, r, o = t.purchases, t.refunds, t.outlets
        first, last = start.astimezone(UTC), end.astimezone(UTC)  # SQLite compares timestamps as UTC text
        at_outlets = (p.c.network_id == network_id, p.c.outlet_id.in_(list(outlet_ids)))
        purchases = await self.connection.execute(
            select(
                p,
                o.c.name.label("outlet_name"),
                (-_prepaid_money(p.c.tx_id, AccountPurpose.MEMBER_WALLET)).label("wallet_minor"),
                (-_prepaid_money(p.c.tx_id, AccountPurpose.GIFT_CARD)).label("gift_card_minor"),
            )
            .join(o, o.c.id == p.c.outlet_id)
            .where(*at_outlets, p.c.recorded_at >= first, p.c.recorded_at < last)
        )
        found = [
            DayTransaction(
                t.as_utc(row.recorded_at),
                row.outlet_name,
                row.cashier_login,
                "purchase",
                row.receipt,
                int(row.check_minor),
                # at the till: what the wallet and the gift cards paid is not
                int(row.amount_due_minor) - int(row.wallet_minor) - int(row.gift_card_minor),
                int(row.points_earned),
                int(row.points_redeemed),
                till_time=till_time(t.as_utc(row.occurred_at), t.as_utc(row.recorded_at)),
                wallet_minor=int(row.wallet_minor),
                gift_card_minor=int(row.gift_card_minor),
            )
            for row in purchases
        ]
        refunds = await self.connection.execute(
            select(
                r,
                p.c.receipt,
                func.coalesce(r.c.cashier_login, p.c.cashier_login).label("cashier"),
                o.c.name.label("outlet_name"),
                _prepaid_money(r.c.tx_id, AccountPurpose.MEMBER_WALLET).label("wallet_minor"),
                _prepaid_money(r.c.tx_id, AccountPurpose.GIFT_CARD).label("gift_card_minor"),
            )
            .join(p, p.c.id == r.c.purchase_id)
            .join(o, o.c.id == p.c.outlet_id)
            .where(*at_outlets, r.c.recorded_at >= first, r.c.recorded_at < last)
        )
        found += [
            DayTransaction(
                t.as_utc(row.recorded_at),
                row.outlet_name,
                row.cashier,
                "refund",
                row.receipt,
                int(row.refund_minor),
                int(row.money_back_minor),
                int(row.points_clawed_back),
                int(row.points_returned),
                wallet_minor=int(row.wallet_minor),
                gift_card_minor=int(row.gift_card_minor),
            )
            for row in refunds
        ]
        return found + await self._till_takings(network_id, outlet_ids, first, last)

    async def _till_takings(
        self, network_id: int, outlet_ids: Sequence[int], first: datetime, last: datetime
    ) -> list[DayTransaction]:
        """The day's top-ups and gift cards sold at these outlets: money the till took onto wallets and cards."""
        tx, po, a, o = t.ledger_transactions, t.postings, t.accounts, t.outlets
        rows = await self.connection.execute(
            select(
                tx.c.id,
                tx.c.kind,
                tx.c.recorded_at,
                tx.c.cashier_login,
                o.c.name.label("outlet_name"),
                func.sum(po.c.amount).label("amount"),
            )
            .join(po, po.c.tx_id == tx.c.id)
            .join(a, a.c.id == po.c.account_id)
            .join(o, o.c.id == tx.c.outlet_id)
            .where(
                tx.c.network_id == network_id,
                tx.c.outlet_id.in_(list(outlet_ids)),
                tx.c.recorded_at >= first,
                tx.c.recorded_at < last,
                till_taking(tx, a),
            )
            .group_by(tx.c.id, tx.c.kind, tx.c.recorded_at, tx.c.cashier_login, o.c.name)
        )
        return [
            DayTransaction(
                t.as_utc(row.recorded_at),
                row.outlet_name,
                row.cashier_login,
                row.kind,
                str(row.id),
                0,
                int(row.amount),
                0,
                0,
            )
            for row in rows
        ]

    async def sent_partners(self, network_id: int, day: date) -> set[int]:
        s, p = t.daily_reports_sent, t.partners
        rows = await self.connection.execute(
            select(s.c.partner_id).join(p, p.c.id == s.c.partner_id).where(p.c.network_id == network_id, s.c.day == day)
        )
        return {int(row.partner_id) for row in rows}

    async def record_sent(self, partner_id: int, day: date, address: str, now: datetime) -> None:
        s = t.daily_reports_sent
        await self.connection.execute(delete(s).where(s.c.partner_id == partner_id, s.c.day == day))
        await self.connection.execute(insert(s).values(partner_id=partner_id, day=day, address=address, sent_at=now))


class SqlDailyReportsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlDailyReportsUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlDailyReportsUnitOfWork(connection)
