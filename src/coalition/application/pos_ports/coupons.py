"""Coupons: a campaign's codes, read (locked when a purchase will use them), counted as used, issued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from coalition.domain.coupons import Coupon, NewCoupon


class CouponsPort(Protocol):
    async def coupons(self, network_id: int, codes: Sequence[str], *, lock: bool) -> dict[str, Coupon]:
        """The network's coupons with these codes, by code; with `lock`, locked for the rest of the unit of work."""
        ...

    async def use_coupons(self, uses: Sequence[tuple[int, str]], now: datetime) -> None:
        """Count one use of each (coupon id, purchase id); the coupons were read with `lock`."""
        ...

    async def add_coupons(self, network_id: int, coupons: Sequence[NewCoupon], now: datetime) -> None:
        """Raises DuplicateKey when a code is taken in the network."""
        ...

    async def list_coupons(
        self,
        network_id: int,
        campaign: str | None,
        limit: int,
        after_id: int | None = None,
        *,
        member_id: int | None = None,
    ) -> list[Coupon]: ...
    async def has_coupon_from(self, member_id: int, campaign: str, valid_from: datetime) -> bool: ...
