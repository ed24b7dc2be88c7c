"""A device's offline uses (issue 15): the price list in force at a moment, and each uploaded use recorded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OfflineUseRecord:
    """An uploaded use as first recorded: a re-upload with its key answers `result` again."""

    device_id: int
    key: str
    request_hash: str
    status: str  # charged | short
    member_id: int
    amount_minor: int
    unpaid_minor: int
    minutes: int | None
    occurred_at: datetime
    result: dict[str, Any]
    charge_tx_id: int | None


@dataclass(frozen=True, slots=True)
class OfflineTerms:
    offline_limit_minor: int  # what the device may sell one card while offline (per upload)
    created_at: datetime  # no use is older than its device


class DeviceOfflinePort(Protocol):
    async def device_offline_terms(self, device_id: int) -> OfflineTerms: ...

    async def price_list_at(self, device_id: int, moment: datetime) -> str | None:
        """The device's price list (JSON) in force at `moment`: the latest taking effect at or before it; before
        any, the first. None when no list was ever recorded (the device's current one applies)."""
        ...

    async def append_price_list(self, device_id: int, price_list: str, effective_from: datetime) -> None:
        """Record a price list taking effect at `effective_from` (the device's list was changed then)."""
        ...

    async def offline_use(self, device_id: int, key: str) -> OfflineUseRecord | None: ...

    async def insert_offline_use(self, use: OfflineUseRecord, now: datetime) -> None:
        """Raises DuplicateKey when the device's key was recorded meanwhile (a concurrent upload of the same use)."""
        ...
