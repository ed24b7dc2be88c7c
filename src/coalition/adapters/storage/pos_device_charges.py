"""The POS unit of work's device charges: the device behind a terminal key, the node's HELD_MONEY accounts and the
rows of `device_holds` (issue 15). The money moves in the ledger and on the wallet row (pos_wallets.py); a hold's row
closes once, by a guarded update (`WHERE status = 'held'`), so a capture and a void or the sweep never both close it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition.adapters.storage.pos_base import SqlPart
from coalition.adapters.storage.pos_gift_cards import NODE_OWNER_ID
from coalition.application.pos_ports.device_charges import DeviceHold, DeviceRow
from coalition.domain.device_charges import HoldKind, HoldStatus
from coalition.domain.ledger import AccountPurpose, OwnerKind, money_asset

_HOLD = (
    "SELECT h.id, h.network_id, h.device_id, d.outlet_id, h.member_id, h.currency, h.amount_minor, h.captured_minor, "
    "h.status, h.kind, h.product, h.per_minute_minor, h.max_minutes, h.started_at, h.expires_at, h.closed_at, "
    "h.hold_tx_id, h.close_tx_id FROM device_holds h JOIN devices d ON d.id = h.device_id "
)


class SqlDeviceCharges(SqlPart):
    """The `DeviceChargesPort` in SQL."""

    async def device_of_terminal(self, terminal_id: int) -> DeviceRow | None:
        row = await self.db.fetchrow(
            "SELECT d.id, d.network_id, d.outlet_id, d.kind, d.price_list, d.opening_hours, d.hold_ttl_seconds, "
            "d.active, n.code FROM devices d JOIN networks n ON n.id = d.network_id WHERE d.terminal_id = $1",
            terminal_id,
        )
        if row is None:
            return None
        return DeviceRow(
            id=int(row["id"]),
            network_id=int(row["network_id"]),
            outlet_id=int(row["outlet_id"]),
            kind=row["kind"],
            price_list=row["price_list"],
            opening_hours=row["opening_hours"],
            hold_ttl_seconds=int(row["hold_ttl_seconds"]),
            active=bool(row["active"]),
            network_code=row["code"],
        )

    async def held_money_account(self, network_id: int, currency: str) -> int:
        return await self._account(
            network_id, OwnerKind.NODE, NODE_OWNER_ID, AccountPurpose.HELD_MONEY, money_asset(currency)
        )

    async def insert_hold(self, hold: DeviceHold, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO device_holds (id, network_id, device_id, member_id, currency, amount_minor, captured_minor, "
            "status, kind, product, per_minute_minor, max_minutes, started_at, expires_at, closed_at, hold_tx_id, "
            "close_tx_id, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            hold.id,
            hold.network_id,
            hold.device_id,
            hold.member_id,
            hold.currency,
            hold.amount_minor,
            hold.captured_minor,
            hold.status.value,
            hold.kind.value,
            hold.product,
            hold.per_minute_minor,
            hold.max_minutes,
            hold.started_at,
            hold.expires_at,
            hold.closed_at,
            hold.hold_tx_id,
            hold.close_tx_id,
            now,
        )

    async def device_hold(self, device_id: int, hold_id: str) -> DeviceHold | None:
        row = await self.db.fetchrow(_HOLD + "WHERE h.id = $1 AND h.device_id = $2", hold_id, device_id)
        return None if row is None else self._hold(row)

    async def close_hold(
        self, hold_id: str, status: HoldStatus, captured_minor: int, close_tx_id: int, closed_at: datetime
    ) -> bool:
        closed = await self.db.fetchval(
            "UPDATE device_holds SET status = $2, captured_minor = $3, close_tx_id = $4, closed_at = $5 "
            "WHERE id = $1 AND status = 'held' RETURNING id",
            hold_id,
            status.value,
            captured_minor,
            close_tx_id,
            closed_at,
        )
        return closed is not None

    async def expired_holds(
        self, network_id: int, now: datetime, member_id: int | None, limit: int
    ) -> list[DeviceHold]:
        if member_id is None:
            rows = await self.db.fetch(
                _HOLD + "WHERE h.status = 'held' AND h.expires_at <= $1 AND h.network_id = $2 ORDER BY h.expires_at "
                "LIMIT $3",
                now,
                network_id,
                limit,
            )
        else:
            rows = await self.db.fetch(
                _HOLD + "WHERE h.member_id = $1 AND h.status = 'held' AND h.expires_at <= $2 ORDER BY h.expires_at "
                "LIMIT $3",
                member_id,
                now,
                limit,
            )
        return [self._hold(row) for row in rows]

    def _hold(self, row: Any) -> DeviceHold:
        closed_at = row["closed_at"]
        return DeviceHold(
            id=row["id"],
            network_id=int(row["network_id"]),
            device_id=int(row["device_id"]),
            outlet_id=int(row["outlet_id"]),
            member_id=int(row["member_id"]),
            currency=row["currency"],
            amount_minor=int(row["amount_minor"]),
            captured_minor=int(row["captured_minor"]),
            status=HoldStatus(row["status"]),
            kind=HoldKind(row["kind"]),
            product=row["product"],
            per_minute_minor=None if row["per_minute_minor"] is None else int(row["per_minute_minor"]),
            max_minutes=None if row["max_minutes"] is None else int(row["max_minutes"]),
            started_at=self._timestamp(row["started_at"]),
            expires_at=self._timestamp(row["expires_at"]),
            closed_at=None if closed_at is None else self._timestamp(closed_at),
            hold_tx_id=int(row["hold_tx_id"]),
            close_tx_id=None if row["close_tx_id"] is None else int(row["close_tx_id"]),
        )
