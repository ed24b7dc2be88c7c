"""The POS unit of work's offline device uses (issue 15): the price lists a device had over time, and each uploaded
use recorded once by the device's key for it (the unique (device_id, key) makes a concurrent re-upload a
DuplicateKey, so the use is charged once)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from coalition.adapters.storage.driver import Db
from coalition.adapters.storage.pos_base import SqlPart
from coalition.adapters.storage.schema.device_offline import device_price_lists
from coalition.application.pos_ports.device_offline import OfflineTerms, OfflineUseRecord

_PRICE_LIST_AT = (
    "SELECT price_list FROM device_price_lists WHERE device_id = $1 AND effective_from <= $2 "
    "ORDER BY effective_from DESC LIMIT 1"
)
_FIRST_PRICE_LIST = "SELECT price_list FROM device_price_lists WHERE device_id = $1 ORDER BY effective_from LIMIT 1"
_APPEND_PRICE_LIST = (
    "INSERT INTO device_price_lists (device_id, effective_from, price_list) VALUES ($1, $2, $3) "
    "ON CONFLICT (device_id, effective_from) DO UPDATE SET price_list = excluded.price_list"
)
# A device whose list was never recorded (registered without it) keeps its current list from its creation on: call
# the append before devices.price_list is updated, so the list before the change is the one kept.
_KEEP_FIRST_PRICE_LIST = (
    "INSERT INTO device_price_lists (device_id, effective_from, price_list) "
    "SELECT d.id, d.created_at, d.price_list FROM devices d WHERE d.id = {device} "
    "AND NOT EXISTS (SELECT 1 FROM device_price_lists l WHERE l.device_id = d.id)"
)
_USE_COLUMNS = (
    "device_id",
    "key",
    "request_hash",
    "status",
    "member_id",
    "amount_minor",
    "unpaid_minor",
    "minutes",
    "occurred_at",
    "result",
    "charge_tx_id",
    "created_at",
)


async def append_price_list(db: Db, device_id: int, price_list: str, effective_from: datetime) -> None:
    """Record a device's new price list from `effective_from` on (call it in the transaction that changes
    devices.price_list, with the same moment, before the row is updated): offline uses before it stay priced by the
    list before."""
    await db.execute(_KEEP_FIRST_PRICE_LIST.format(device="$1"), device_id)
    await db.execute(_APPEND_PRICE_LIST, device_id, effective_from, price_list)


async def record_price_list(
    connection: AsyncConnection, device_id: int, price_list: str, effective_from: datetime
) -> None:
    """`append_price_list` for the stores on SQLAlchemy connections (the administrator's: its change of a device's
    price list, in the same transaction and with the same moment)."""
    await connection.execute(text(_KEEP_FIRST_PRICE_LIST.format(device=":device")), {"device": device_id})
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(device_price_lists).values(
        device_id=device_id, effective_from=effective_from, price_list=price_list
    )
    await connection.execute(
        insert.on_conflict_do_update(
            index_elements=["device_id", "effective_from"], set_={"price_list": insert.excluded.price_list}
        )
    )


class SqlDeviceOffline(SqlPart):
    """The `DeviceOfflinePort` in SQL."""

    async def device_offline_terms(self, device_id: int) -> OfflineTerms:
        row = await self.db.fetchrow("SELECT offline_limit_minor, created_at FROM devices WHERE id = $1", device_id)
        if row is None:
            raise LookupError(f"no device {device_id}")
        return OfflineTerms(int(row["offline_limit_minor"]), self._timestamp(row["created_at"]))

    async def price_list_at(self, device_id: int, moment: datetime) -> str | None:
        found = await self.db.fetchval(_PRICE_LIST_AT, device_id, moment)
        if found is None:
            found = await self.db.fetchval(_FIRST_PRICE_LIST, device_id)
        return None if found is None else str(found)

    async def append_price_list(self, device_id: int, price_list: str, effective_from: datetime) -> None:
        await append_price_list(self.db, device_id, price_list, effective_from)

    async def offline_use(self, device_id: int, key: str) -> OfflineUseRecord | None:
        row = await self.db.fetchrow(
            f"SELECT {', '.join(_USE_COLUMNS)} FROM device_offline_uses WHERE device_id = $1 AND key = $2",
            device_id,
            key,
        )
        if row is None:
            return None
        return OfflineUseRecord(
            device_id=int(row["device_id"]),
            key=row["key"],
            request_hash=row["request_hash"],
            status=row["status"],
            member_id=int(row["member_id"]),
            amount_minor=int(row["amount_minor"]),
            unpaid_minor=int(row["unpaid_minor"]),
            minutes=None if row["minutes"] is None else int(row["minutes"]),
            occurred_at=self._timestamp(row["occurred_at"]),
            result=json.loads(row["result"]),
            charge_tx_id=None if row["charge_tx_id"] is None else int(row["charge_tx_id"]),
        )

    async def insert_offline_use(self, use: OfflineUseRecord, now: datetime) -> None:
        await self.db.execute(
            f"INSERT INTO device_offline_uses ({', '.join(_USE_COLUMNS)}) "
            f"VALUES ({', '.join(f'${n}' for n in range(1, len(_USE_COLUMNS) + 1))})",
            use.device_id,
            use.key,
            use.request_hash,
            use.status,
            use.member_id,
            use.amount_minor,
            use.unpaid_minor,
            use.minutes,
            use.occurred_at,
            json.dumps(use.result, separators=(",", ":")),
            use.charge_tx_id,
            now,
        )
