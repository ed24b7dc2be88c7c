"""Device charges: a device's row as the charges read it, and the holds of wallet money devices make (issue 15)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.pos_ports.members import MemberRef
from coalition.application.pos_ports.wallets import PayingWallet
from coalition.domain.device_charges import HoldKind, HoldStatus
from coalition.domain.ledger import Transaction


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


@dataclass(frozen=True, slots=True)
class ChargeRead:
    """What a one-shot charge's first try reads in one statement: the device behind the key (None: no device's),
    the member and their points balance, their wallet with today's spend (under a daily limit) and its version,
    whether anything must be swept first (an expired hold holds their money, expired points change the balance),
    and, on PostgreSQL, the id of the ledger transaction the write will insert."""

    device: DeviceRow | None
    member: MemberRef
    points_balance: int
    paying: PayingWallet
    wallet_version: int | None
    holds_expired: bool
    lots_expired: bool
    tx_id: int | None  # None when not drawn


@dataclass(frozen=True, slots=True)
class ChargeWrite:
    """A one-shot charge's writes: its DEVICE_CHARGE, the wallet's debit (guarded by the version read), the charge's
    row of `device_holds` (captured at once) and the answer stored under the request's key."""

    transaction: Transaction
    wallet_account: int
    wallet_version: int
    charge: DeviceHold  # its hold_tx_id and close_tx_id: the transaction's id (set by the write where it is drawn)
    terminal_id: int
    key: str
    request_hash: str
    response: dict[str, Any]  # "transaction": the transaction's id, as the charge's
    recorded_at: datetime


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

    async def read_for_charge(
        self,
        terminal_id: int,
        network_id: int,
        candidates: Sequence[str],
        currency: str,
        since: datetime,
        now: datetime,
        *,
        draw_tx_id: bool = True,
    ) -> ChargeRead | None:
        """The device, the member `candidates` identify (unlocked), their wallet and what it spent since `since`, in
        one statement; None when no member matches. `draw_tx_id=False` (an authorize): no transaction id."""
        ...

    async def record_charge(self, write: ChargeWrite) -> bool:
        """Write a charge (PostgreSQL: in one statement, the member locked in it); False, writing nothing, when
        the wallet changed since it was read. An overdraw raises InsufficientFunds; the key used, DuplicateKey."""
        ...

    async def expired_holds(
        self, network_id: int, now: datetime, member_id: int | None, limit: int
    ) -> list[DeviceHold]:
        """Holds still held past their expiry, oldest first (of one member, or of the network)."""
        ...
