"""The facts the daily report's anomaly flags are worked out from (domain/anomalies.py): a day's purchases and
refunds at some outlets, their usual rate over the days before, and what devices with opening hours did.

Every query is bounded by the outlets and by recorded time, so it goes through the (network, recorded_at) indexes
(PostgreSQL: the BRIN on purchases.recorded_at) and never reads the ledger across all time: the usual rate reads the
TRAILING_DAYS before the day only; a refund's balance before it sums one member's postings (postings' (account_id,
tx_id) index), only for refunds that took points back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from coalition.adapters.storage import tables as t
from coalition.domain.anomalies import (
    TRAILING_DAYS,
    DayFacts,
    DayRefund,
    DaySale,
    DeviceActivity,
    DeviceHours,
    OutletUsualRate,
)
from coalition.domain.devices import opening_hours_from_text
from coalition.domain.ledger import AccountPurpose, OwnerKind


async def anomaly_facts(
    connection: AsyncConnection, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
) -> DayFacts:
    """The facts of [start, end) at these outlets (all in one time zone: the day's bounds are theirs)."""
    currency = str(
        (await connection.execute(select(t.networks.c.currency).where(t.networks.c.id == network_id))).scalar_one()
    )
    if not outlet_ids:
        return DayFacts(currency)
    first, last = start.astimezone(UTC), end.astimezone(UTC)  # SQLite compares timestamps as UTC text
    ids = list(outlet_ids)
    return DayFacts(
        currency,
        await _sales(connection, network_id, ids, first, last),
        await _refunds(connection, network_id, ids, first, last),
        await _usual_rates(connection, network_id, ids, first - timedelta(days=TRAILING_DAYS), first),
        *await _devices(connection, network_id, ids, first, last),
    )


async def _sales(
    connection: AsyncConnection, network_id: int, outlet_ids: list[int], first: datetime, last: datetime
) -> list[DaySale]:
    p, o, c = t.purchases, t.outlets, t.cards
    rows = await connection.execute(
        select(
            p.c.receipt,
            p.c.outlet_id,
            o.c.name.label("outlet_name"),
            p.c.cashier_login,
            p.c.member_id,
            c.c.number.label("card"),
            p.c.check_minor,
            p.c.points_earned,
            p.c.occurred_at,
            p.c.recorded_at,
            o.c.timezone,
        )
        .join(o, o.c.id == p.c.outlet_id)
        .outerjoin(c, c.c.id == p.c.card_id)
        .where(
            p.c.network_id == network_id,
            p.c.outlet_id.in_(outlet_ids),
            p.c.recorded_at >= first,
            p.c.recorded_at < last,
        )
    )
    return [
        DaySale(
            row.receipt,
            int(row.outlet_id),
            row.outlet_name,
            row.cashier_login,
            int(row.member_id),
            row.card,
            int(row.check_minor),
            int(row.points_earned),
            t.as_utc(row.occurred_at),
            t.as_utc(row.recorded_at),
            row.timezone,
        )
        for row in rows
    ]


async def _refunds(
    connection: AsyncConnection, network_id: int, outlet_ids: list[int], first: datetime, last: datetime
) -> list[DayRefund]:
    """The day's refunds by their recorded_at index (migration 0042), then their purchases by primary key: in one
    join, a planner without statistics walks the outlets' purchases of all time to find them."""
    p, r, o = t.purchases, t.refunds, t.outlets
    refunds = (
        await connection.execute(
            select(
                r.c.purchase_id,
                r.c.cashier_login,
                r.c.refund_minor,
                r.c.points_clawed_back,
                r.c.points_returned,
                r.c.tx_id,
                r.c.recorded_at,
            ).where(r.c.recorded_at >= first, r.c.recorded_at < last)
        )
    ).all()
    if not refunds:
        return []
    purchases = {
        row.id: row
        for row in await connection.execute(
            select(p.c.id, p.c.receipt, p.c.outlet_id, p.c.cashier_login, p.c.member_id, o.c.name.label("outlet_name"))
            .join(o, o.c.id == p.c.outlet_id)
            .where(
                p.c.id.in_(sorted({row.purchase_id for row in refunds})),
                p.c.network_id == network_id,
                p.c.outlet_id.in_(outlet_ids),
            )
        )
    }
    found = []
    for row in refunds:
        purchase = purchases.get(row.purchase_id)
        if purchase is None:  # another network's, or another partner's outlet
            continue
        before = 0
        if row.tx_id is not None and int(row.points_clawed_back) > 0:  # only then can it have been spent
            after = await _balance_after(connection, network_id, int(purchase.member_id), int(row.tx_id))
            before = after + int(row.points_clawed_back) - int(row.points_returned)
        found.append(
            DayRefund(
                purchase.receipt,
                int(purchase.outlet_id),
                purchase.outlet_name,
                row.cashier_login or purchase.cashier_login,  # who gave the money back, else the sale's cashier
                int(row.refund_minor),
                int(row.points_clawed_back),
                before,
                t.as_utc(row.recorded_at),
            )
        )
    return found


async def _balance_after(connection: AsyncConnection, network_id: int, member_id: int, tx_id: int) -> int:
    """The member's points balance just after a transaction: its postings up to that one (ids grow)."""
    po, a = t.postings, t.accounts
    total = await connection.scalar(
        select(func.coalesce(func.sum(po.c.amount), 0))
        .select_from(po)
        .join(a, a.c.id == po.c.account_id)
        .where(
            a.c.network_id == network_id,
            a.c.owner_kind == OwnerKind.MEMBER.value,
            a.c.owner_id == member_id,
            a.c.purpose == AccountPurpose.MEMBER_POINTS.value,
            po.c.tx_id <= tx_id,
        )
    )
    return int(total or 0)


async def _usual_rates(
    connection: AsyncConnection, network_id: int, outlet_ids: list[int], first: datetime, last: datetime
) -> list[OutletUsualRate]:
    p = t.purchases
    rows = await connection.execute(
        select(
            p.c.outlet_id,
            func.count().label("checks"),
            func.sum(p.c.check_minor).label("check_minor"),
            func.sum(p.c.points_earned).label("points_earned"),
        )
        .where(
            p.c.network_id == network_id,
            p.c.outlet_id.in_(outlet_ids),
            p.c.recorded_at >= first,
            p.c.recorded_at < last,
        )
        .group_by(p.c.outlet_id)
    )
    return [
        OutletUsualRate(int(row.outlet_id), int(row.checks), int(row.check_minor), int(row.points_earned))
        for row in rows
    ]


async def _devices(
    connection: AsyncConnection, network_id: int, outlet_ids: list[int], first: datetime, last: datetime
) -> tuple[list[DeviceActivity], list[DeviceHours]]:
    """The devices among the outlets that have opening hours, and their ledger transactions recorded in the day."""
    d, o, tx = t.devices, t.outlets, t.ledger_transactions
    rows = await connection.execute(
        select(d.c.outlet_id, d.c.opening_hours, o.c.timezone)
        .join(o, o.c.id == d.c.outlet_id)
        .where(d.c.network_id == network_id, d.c.outlet_id.in_(outlet_ids), d.c.opening_hours.is_not(None))
    )
    hours = []
    for row in rows:
        parsed = opening_hours_from_text(row.opening_hours)
        if parsed is not None:
            hours.append(DeviceHours(int(row.outlet_id), row.timezone, parsed))
    if not hours:
        return [], []
    activity = await connection.execute(
        select(tx.c.id, tx.c.outlet_id, o.c.name, tx.c.occurred_at)
        .join(o, o.c.id == tx.c.outlet_id)
        .where(
            tx.c.network_id == network_id,
            tx.c.outlet_id.in_([device.outlet_id for device in hours]),
            tx.c.recorded_at >= first,
            tx.c.recorded_at < last,
        )
    )
    return [
        DeviceActivity(int(row.id), int(row.outlet_id), row.name, t.as_utc(row.occurred_at)) for row in activity
    ], hours
