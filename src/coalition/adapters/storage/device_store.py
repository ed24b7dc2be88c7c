"""The SQL side of devices (issue 15): the administrator's unit of work (the admin one, which already writes outlets
and terminals, with the device row beside them), the device's own reads and heartbeat, and today's takings.

The stored price list is read within the hard ceiling (domain.devices.price_list_from_text), so a lower network limit
set later never makes a stored device unreadable.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.admin_store import SqlAdminUnitOfWork
from coalition.adapters.storage.pos_device_offline import record_price_list
from coalition.application.devices_admin import DeviceRecord, DeviceTakings
from coalition.application.network_ref import NetworkRef
from coalition.application.ports import Clock
from coalition.domain.devices import (
    DeviceKind,
    DeviceLimits,
    opening_hours_from_text,
    price_list_from_text,
)
from coalition.domain.ledger import AccountPurpose, OwnerKind, TransactionKind

DEVICE_CHARGE = TransactionKind.DEVICE_CHARGE.value


def _device_query() -> Any:
    d, o, p, term, n = t.devices, t.outlets, t.partners, t.terminals, t.networks
    return (
        select(
            d,
            o.c.name.label("outlet_name"),
            o.c.timezone,
            o.c.partner_id,
            p.c.name.label("partner_name"),
            term.c.key_prefix,
            term.c.active.label("terminal_active"),
            n.c.currency,
        )
        .join(o, o.c.id == d.c.outlet_id)
        .join(p, p.c.id == o.c.partner_id)
        .join(term, term.c.id == d.c.terminal_id)
        .join(n, n.c.id == d.c.network_id)
    )


def _record(row: Any) -> DeviceRecord:
    return DeviceRecord(
        id=row.id,
        network_id=row.network_id,
        currency=row.currency,
        partner_id=row.partner_id,
        partner_name=row.partner_name,
        outlet_id=row.outlet_id,
        name=row.outlet_name,
        timezone=row.timezone,
        terminal_id=row.terminal_id,
        key_prefix=row.key_prefix,
        terminal_active=bool(row.terminal_active),
        kind=DeviceKind(row.kind),
        price_list=price_list_from_text(row.price_list, row.currency),
        opening_hours=opening_hours_from_text(row.opening_hours),
        limits=DeviceLimits(row.hold_ttl_seconds, row.offline_limit_minor, row.silent_after_seconds),
        active=bool(row.active),
        last_heartbeat_at=None if row.last_heartbeat_at is None else t.as_utc(row.last_heartbeat_at),
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=t.as_utc(row.created_at),
    )


async def device_records(connection: AsyncConnection, *conditions: Any) -> list[DeviceRecord]:
    rows = await connection.execute(_device_query().where(*conditions).order_by(t.outlets.c.name, t.devices.c.id))
    return [_record(row) for row in rows]


class SqlDeviceAdminUnitOfWork(SqlAdminUnitOfWork):
    async def max_amount_minor(self, network_id: int) -> int:
        n = t.networks
        found = await self.connection.execute(select(n.c.max_amount_minor).where(n.c.id == network_id))
        return int(found.scalar_one())

    async def create_device(
        self,
        network: NetworkRef,
        outlet_id: int,
        terminal_id: int,
        kind: DeviceKind,
        price_list: str,
        opening_hours: str | None,
        limits: DeviceLimits,
    ) -> int:
        created_at = self.clock.now().astimezone(UTC)
        device_id = await self._insert_id(
            insert(t.devices)
            .values(
                network_id=network.id,
                outlet_id=outlet_id,
                terminal_id=terminal_id,
                kind=kind.value,
                price_list=price_list,
                opening_hours=opening_hours,
                hold_ttl_seconds=limits.hold_ttl_seconds,
                offline_limit_minor=limits.offline_limit_minor,
                silent_after_seconds=limits.silent_after_seconds,
                active=True,
                created_at=created_at,
            )
            .returning(t.devices.c.id)
        )
        # the history an offline use is priced by (the price list in force at its time): the first list from now on
        await record_price_list(self.connection, device_id, price_list, created_at)
        return device_id

    async def devices(
        self,
        network: NetworkRef,
        partner_id: int | None = None,
        device_id: int | None = None,
        *,
        outlet_id: int | None = None,
    ) -> list[DeviceRecord]:
        conditions = [t.devices.c.network_id == network.id]
        if outlet_id is not None:
            conditions.append(t.devices.c.outlet_id == outlet_id)
        if partner_id is not None:
            conditions.append(t.outlets.c.partner_id == partner_id)
        if device_id is not None:
            conditions.append(t.devices.c.id == device_id)
        return await device_records(self.connection, *conditions)

    async def update_device(self, network_id: int, device_id: int, values: dict[str, Any]) -> None:
        d = t.devices
        if "price_list" in values:  # kept in the history before the row changes: offline uses are priced by it
            await record_price_list(self.connection, device_id, values["price_list"], self.clock.now().astimezone(UTC))
        await self.connection.execute(update(d).where(d.c.id == device_id, d.c.network_id == network_id).values(values))

    async def takings_since(self, network_id: int, outlet_ids: list[int], since: datetime) -> dict[int, DeviceTakings]:
        return await takings_since(self.connection, network_id, outlet_ids, since)


async def takings_since(
    connection: AsyncConnection, network_id: int, outlet_ids: list[int], since: datetime
) -> dict[int, DeviceTakings]:
    """Per device outlet: its DEVICE_CHARGE transactions recorded since `since`, and the sum of their postings to a
    partner's PREPAID account (what the device's partner took); its uses paid with points (purchases with a
    `device:` receipt) and their prices. Empty until the charges are written."""
    if not outlet_ids:
        return {}
    tx, post, acc = t.ledger_transactions, t.postings, t.accounts
    rows = await connection.execute(
        select(
            tx.c.outlet_id,
            func.count(func.distinct(tx.c.id)).label("uses"),
            func.coalesce(func.sum(post.c.amount), 0).label("takings"),
        )
        .select_from(tx)
        .join(post, post.c.tx_id == tx.c.id)
        .join(acc, acc.c.id == post.c.account_id)
        .where(
            tx.c.network_id == network_id,
            tx.c.kind == DEVICE_CHARGE,
            tx.c.outlet_id.in_(outlet_ids),
            tx.c.recorded_at >= since.astimezone(UTC),  # SQLite compares the stored (UTC) text
            acc.c.purpose == AccountPurpose.PREPAID.value,
            acc.c.owner_kind == OwnerKind.PARTNER.value,
        )
        .group_by(tx.c.outlet_id)
    )
    found = {int(row.outlet_id): DeviceTakings(int(row.uses), int(row.takings)) for row in rows}
    # an offline use the wallet could not pay at all is still a use, with no ledger transaction
    offline, d = t.device_offline_uses, t.devices
    unpaid = await connection.execute(
        select(d.c.outlet_id, func.count().label("uses"))
        .join(offline, offline.c.device_id == d.c.id)
        .where(
            d.c.network_id == network_id,
            d.c.outlet_id.in_(outlet_ids),
            offline.c.charge_tx_id.is_(None),
            offline.c.created_at >= since.astimezone(UTC),
        )
        .group_by(d.c.outlet_id)
    )
    for row in unpaid:
        taken = found.get(int(row.outlet_id), DeviceTakings(0, 0))
        found[int(row.outlet_id)] = DeviceTakings(taken.uses + int(row.uses), taken.takings_minor)
    # a use paid with points is a purchase at the device's outlet (application/device_points.py): its price
    bought = t.purchases
    paid_with_points = await connection.execute(
        select(bought.c.outlet_id, func.count().label("uses"), func.sum(bought.c.check_minor).label("takings"))
        .where(
            bought.c.network_id == network_id,
            bought.c.outlet_id.in_(outlet_ids),
            bought.c.receipt.startswith("device:", autoescape=True),
            bought.c.recorded_at >= since.astimezone(UTC),
        )
        .group_by(bought.c.outlet_id)
    )
    for row in paid_with_points:
        taken = found.get(int(row.outlet_id), DeviceTakings(0, 0))
        found[int(row.outlet_id)] = DeviceTakings(taken.uses + int(row.uses), taken.takings_minor + int(row.takings))
    return found


class SqlDeviceStore:
    """The devices' units of work: the administrator's (with the audit trail) and the device's own."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlDeviceAdminUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlDeviceAdminUnitOfWork(connection, self.clock)

    async def device_of_terminal(self, terminal_id: int) -> DeviceRecord | None:
        async with self.engine.connect() as connection:
            found = await device_records(connection, t.devices.c.terminal_id == terminal_id)
        return found[0] if found else None

    async def record_heartbeat(
        self, device_id: int, moment: datetime, status: dict[str, Any], error: str | None
    ) -> None:
        d = t.devices
        text = json.dumps(status, ensure_ascii=False, separators=(",", ":"))
        async with self.engine.begin() as connection:
            await connection.execute(
                update(d)
                .where(d.c.id == device_id)
                .values(last_heartbeat_at=moment.astimezone(UTC), last_status=text, last_error=error)
            )
