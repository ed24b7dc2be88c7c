"""Reference data: terminals, outlets and partners, the program and its accounts, the permissions matrix, the
network's points breakage policy. Administrators change it rarely; the POS services read it (mostly through caches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.domain.bonus import BonusProgram
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.limits import DEFAULT_LIMITS, PurchaseLimits
from coalition.domain.permissions import Permission


@dataclass(frozen=True, slots=True)
class TerminalContext:
    terminal_id: int
    network_id: int
    outlet_id: int
    partner_id: int
    outlet_name: str
    timezone: str
    partner_name: str = ""
    key_valid_until: datetime | None = None  # its key's expiry, or the end of a replaced key's grace period
    key_retired: bool = False  # the key was replaced by a rotation and is in its grace period
    # the device whose key this is (None: a till's): read with the key, so a till's write never looks a device up
    device_id: int | None = None
    # the network's country (ISO 3166 alpha-2): a phone typed without its country code is read as one of it
    phone_region: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What a partner's catalogue says of a SKU a basket line names (application/catalogue_lines.py)."""

    category: str | None
    price_minor: int | None  # in the network's currency; None: no list price


@dataclass(frozen=True, slots=True)
class ProgramContext:
    """A network's program and the node-side accounts its transactions touch."""

    program: BonusProgram
    points_issued_account: int
    points_redeemed_account: int
    points_breakage_account: int
    node_obligations_account: int
    limits: PurchaseLimits = DEFAULT_LIMITS  # read with the program, so a purchase checks them without a query
    card_min_first_purchase_minor: int = 0  # a card issued at a till needs a first purchase this large (0: none)
    phone_region: str | None = None  # the network's country, for phones typed without their country code


class ReferencePort(Protocol):
    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None: ...
    async def terminal_by_id(self, terminal_id: int) -> TerminalContext | None: ...
    async def program_of(self, network_id: int) -> ProgramContext: ...
    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int: ...
    async def cashier_is_active(self, outlet_id: int, login: str) -> bool: ...
    async def partner_ids(self, network_id: int, names: Sequence[str]) -> dict[str, int]: ...
    async def catalogue_entries(
        self, network_id: int, partner_id: int, skus: Sequence[str]
    ) -> dict[str, CatalogueEntry]:
        """The partner's products of these SKUs (active ones): one read, only for a basket that lacks a category
        or a unit price on some line."""
        ...

    async def outlet_ids(self, network_id: int, names: Sequence[str] | None = None) -> dict[str, int]:
        """Outlet ids by name: of these names, or of every outlet of the network."""
        ...

    async def outlet_name(self, outlet_id: int) -> str: ...
    async def permissions(self, network_id: int) -> list[Permission]: ...
    async def replace_permissions(self, network_id: int, permissions: Sequence[Permission]) -> None: ...
    async def points_breakage(self, network_id: int) -> BreakagePolicy: ...
    async def set_points_breakage(self, network_id: int, policy: BreakagePolicy) -> None: ...
