"""Gifts: the catalogue of gift types, the gifts rules grant, their hand-over and expiry, the network's policy for
expired gifts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from coalition.domain.gifts import Gift, GiftBreakage, GiftType


class GiftsPort(Protocol):
    async def gift_types(self, network_id: int, codes: Sequence[str] | None = None) -> dict[str, GiftType]:
        """The network's gift types by code (all of them when `codes` is None)."""
        ...

    async def create_gift_type(self, network_id: int, gift_type: GiftType, now: datetime) -> int:
        """Raises DuplicateKey when the code is taken."""
        ...

    async def insert_gift(
        self, network_id: int, gift: Gift, granted_outlet_id: int, grant_tx_id: int, purchase_id: str | None
    ) -> None: ...
    async def gift(self, network_id: int, gift_id: str, *, lock: bool) -> Gift | None: ...
    async def mark_gift_honoured(self, gift_id: str, outlet_id: int, tx_id: int, now: datetime) -> bool:
        """False when the gift was honoured already (by a concurrent request)."""
        ...

    async def gifts_due_to_expire(self, network_id: int, now: datetime) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of every gift still granted whose validity has ended."""
        ...

    async def mark_gift_expired(self, gift_id: str, now: datetime, release_tx_id: int | None) -> bool:
        """False when the gift is no longer granted (handed over or expired by a concurrent job)."""
        ...

    async def member_gifts(self, member_id: int, now: datetime) -> list[Gift]:
        """The member's gifts not yet handed over and still valid."""
        ...

    async def open_gifts_granted_since(self, member_id: int, since: datetime) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of the member's gifts granted at or after `since` and not handed over."""
        ...

    async def open_gifts_of_purchase(self, purchase_id: str) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of the gifts a purchase granted that were not handed over yet."""
        ...

    async def gift_breakage(self, network_id: int) -> GiftBreakage: ...
    async def set_gift_breakage(self, network_id: int, policy: GiftBreakage) -> None: ...
