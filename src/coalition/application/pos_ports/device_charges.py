"""Device charges: a device's row as the charges read it, and the holds of wallet money devices make (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.domain.device_charges import HoldKind, HoldStatus


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """What a charge needs of the device behind a terminal key."""

    id: int
    network_id: int
    outlet_id: int
    kind: str
    price_list: str  # JSON, read by application/device_prices.py through domain/devices.py
    opening_hours: str | None  # JSON; None: always open
    hold_ttl_seconds: int
    active: bool
    network_code: str = ""  # the MQTT topic names it (adapters/mqtt/bridge.py)


@dataclass(frozen=True, slots=True)
class DeviceHold:
    id: str
    network_id: int
    device_id: int
    outlet_id: int  # the device's outlet (read with the hold; not a column of it)
    member_id: int
    currency: str
    amount_minor: int
    captured_minor: int
    status: HoldStatus
    kind: HoldKind
    product: str | None
    per_minute_minor: int | None
    max_minutes: int | None
    started_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    hold_tx_id: int
    close_tx_id: int | None


class DeviceChargesPort(Protocol):
    async def device_of_terminal(self, terminal_id: int) -> DeviceRow | None:
        """The device whose terminal key this is (None: the terminal is no device's)."""
        ...

    async def held_money_account(self, network_id: int, currency: str) -> int:
        """The node's HELD_MONEY account of this currency, created on first use."""
        ...

    async def insert_hold(self, hold: DeviceHold, now: datetime) -> None: ...
    async def device_hold(self, device_id: int, hold_id: str) -> DeviceHold | None:
        """A hold of this device (another device's hold: None)."""
        ...

    async def close_hold(
        self, hold_id: str, status: HoldStatus, captured_minor: int, close_tx_id: int, closed_at: datetime
    ) -> bool:
        """Close a hold that is still held; False when it was closed already (a race lost)."""
        ...

    async def expired_holds(
        self, network_id: int, now: datetime, member_id: int | None, limit: int
    ) -> list[DeviceHold]:
        """Holds still held past their expiry, oldest first (of one member, or of the network)."""
        ...
