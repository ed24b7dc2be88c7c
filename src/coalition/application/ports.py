"""Ports the application layer owns; the storage adapter implements them.

One `PosUnitOfWork` is one database transaction: everything a request writes commits together or not at all. Its
port is split by aggregate (`coalition.application.pos_ports`: members and cards, ledger and lots, coupons, gifts,
visits, reference data, idempotency); this module holds the purchases' own (records and writes) and the composition,
and re-exports the aggregates' records so `from coalition.application.ports import X` reads as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from coalition.application.audit import AuditTrail
from coalition.application.plans import PlansPort
from coalition.application.pos_ports.coupons import CouponsPort
from coalition.application.pos_ports.device_charges import DeviceChargesPort
from coalition.application.pos_ports.device_offline import DeviceOfflinePort
from coalition.application.pos_ports.gift_cards import GiftCardsPort
from coalition.application.pos_ports.gifts import GiftsPort
from coalition.application.pos_ports.idempotency import IdempotencyPort, IdempotencyRecord, StoredResponse
from coalition.application.pos_ports.ledger import LedgerPort, StatementLine
from coalition.application.pos_ports.lines import EVERY_LINE, LineWindow
from coalition.application.pos_ports.members import (
    MemberHistory,
    MemberLabels,
    MemberListing,
    MemberRef,
    MembersPort,
    Profile,
)
from coalition.application.pos_ports.outbox import OutboxWriter
from coalition.application.pos_ports.reference import CatalogueEntry, ProgramContext, ReferencePort, TerminalContext
from coalition.application.pos_ports.visits import VisitsPort
from coalition.application.pos_ports.wallets import PaidTender, PayingWallet, WalletLine, WalletsPort
from coalition.domain.coupons import NewCoupon
from coalition.domain.ledger import Transaction
from coalition.domain.lots import GrantedPoints, LotTake
from coalition.domain.purchase import BasketLine, NewLot
from coalition.domain.records import fast_init

__all__ = [
    "EVERY_LINE",
    "CatalogueEntry",
    "Clock",
    "CouponsPort",
    "GiftCardsPort",
    "GiftsPort",
    "IdempotencyPort",
    "IdempotencyRecord",
    "LedgerBatch",
    "LedgerPort",
    "LineWindow",
    "LotWrite",
    "MemberHistory",
    "MemberLabels",
    "MemberListing",
    "MemberPointsWrite",
    "MemberRef",
    "MembersPort",
    "NewPurchase",
    "NewRefund",
    "PaidTender",
    "PayingWallet",
    "PlannedTransaction",
    "PosUnitOfWork",
    "Profile",
    "ProgramContext",
    "PurchaseWrite",
    "PurchasesPort",
    "ReferencePort",
    "StatementLine",
    "StoredPurchase",
    "StoredResponse",
    "TerminalContext",
    "UnitOfWorkFactory",
    "VisitsPort",
    "WalletLine",
    "WalletsPort",
]


@dataclass(frozen=True, slots=True)
class StoredPurchase:
    id: str
    outlet_id: int
    partner_id: int
    member_id: int
    points_account_id: int
    check_minor: int
    amount_due_minor: int
    points_earned: int
    points_redeemed: int
    tx_id: int | None
    refunded_before_minor: int
    lines: tuple[BasketLine, ...]
    refunded_quantity_milli: dict[str, int]
    spent: tuple[GrantedPoints, ...] = ()  # the points it spent by grantor, in the order it took them
    clawed_back_before: int = 0  # the points its earlier refunds clawed back
    occurred_at: datetime | None = None  # when the till made the sale: a refund may not be dated before it


@fast_init
@dataclass(frozen=True, slots=True)
class NewPurchase:
    id: str
    terminal: TerminalContext
    cashier_login: str | None
    member: MemberRef
    receipt: str
    check_minor: int
    points_redeemed: int
    amount_due_minor: int
    points_earned: int
    lines: tuple[BasketLine, ...]
    occurred_at: datetime
    rule_set_version: int | None = None
    applied_rules: tuple[str, ...] = ()
    discount_minor: int = 0  # given by the rules; not stored apart: check − amount due − points redeemed' value
    new_tier: str | None = None  # the tier a rule moves the member to, when it differs from theirs


@dataclass(frozen=True, slots=True)
class NewRefund:
    id: str
    purchase_id: str
    terminal_id: int
    refund_minor: int
    money_back_minor: int
    points_clawed_back: int
    points_returned: int
    quantities_milli: dict[str, int]
    cashier_login: str | None = None


@fast_init  # one a purchase: its nine fields set as slots, not through object.__setattr__
@dataclass(frozen=True, slots=True)
class PurchaseWrite:
    """Everything a purchase writes, planned before writing so storage can send it in one round trip."""

    purchase: NewPurchase
    transaction: Transaction | None
    lot_takes: tuple[LotTake, ...]
    new_lots: tuple[NewLot, ...]
    balance_after: int
    lifetime_spend_after_minor: int
    idempotency: IdempotencyRecord
    recorded_at: datetime
    # (wallet account, minor units) the purchase's tenders take from wallets: written in the same statement, where
    # the wallets' CHECK refuses an overdraw (InsufficientFunds) and the write fails whole
    wallet_debits: tuple[tuple[int, int], ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class PlannedTransaction:
    id: int  # allocated before writing, so lots and purchases of the same batch can refer to it
    transaction: Transaction
    outlet_id: int | None
    occurred_at: datetime


@fast_init
@dataclass(frozen=True, slots=True)
class LotWrite:
    id: int
    account_id: int
    tx_id: int
    points: int
    remaining: int
    expires_at: datetime | None
    granting_partner_id: int | None  # None: the node granted them
    ends_with_visit_id: str | None = None  # the open visit whose end sweeps them


@fast_init
@dataclass(frozen=True, slots=True)
class MemberPointsWrite:
    member_id: int
    account_id: int
    balance: int
    lifetime_spend_minor: int


@dataclass
class LedgerBatch:
    """The writes of many purchases planned in memory, sent in a few set-based statements."""

    network_id: int
    recorded_at: datetime
    transactions: list[PlannedTransaction] = field(default_factory=list)
    lot_takes: list[tuple[int, int, int]] = field(default_factory=list)  # (tx_id, lot_id, points)
    # lot_id → (points added, remaining added) of a stored lot: takes lower remaining, top-ups raise both
    existing_lot_changes: dict[int, tuple[int, int]] = field(default_factory=dict)
    new_lots: list[LotWrite] = field(default_factory=list)
    member_points: list[MemberPointsWrite] = field(default_factory=list)
    purchases: list[tuple[NewPurchase, int | None]] = field(default_factory=list)
    responses: list[IdempotencyRecord] = field(default_factory=list)
    member_tiers: dict[int, str] = field(default_factory=dict)  # member id -> the tier rules moved them to
    new_coupons: list[NewCoupon] = field(default_factory=list)  # issued by rules to the batch's members
    coupon_uses: list[tuple[int, str]] = field(default_factory=list)  # (coupon id, purchase id)
    wallet_debits: dict[int, int] = field(default_factory=dict)  # wallet account → what the batch's tenders took


class PurchasesPort(Protocol):
    """Purchases and refunds: the purchase's writes (one statement on PostgreSQL), a batch's set-based writes, and
    what a refund reads of the purchase it refunds."""

    async def record_purchase(self, write: PurchaseWrite, expected_version: int | None) -> bool:
        """Write the purchase if the member's points are still at `expected_version` (None: the caller holds the
        member's lock). False, and nothing written, when they changed."""
        ...

    async def existing_receipts(self, outlet_id: int, receipts: Sequence[str]) -> set[str]: ...
    async def purchase_id_by_receipt(self, outlet_id: int, receipt: str) -> str | None:
        """The purchase recorded with this receipt number at this outlet (receipts are unique per outlet)."""
        ...

    async def allocate_ids(self, transactions: int, lots: int) -> tuple[list[int], list[int]]: ...
    async def write_batch(self, batch: LedgerBatch) -> None: ...
    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None: ...
    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None: ...
    async def points_expired_of(self, tx_id: int, account_id: int) -> int:
        """How many of the points a transaction granted to this points account have expired since (taken from its
        lots by expiries)."""
        ...

    async def insert_refund(self, refund: NewRefund, tx_id: int | None, now: datetime) -> None: ...


class PosUnitOfWork(
    PlansPort,
    PurchasesPort,
    LedgerPort,
    MembersPort,
    CouponsPort,
    GiftsPort,
    VisitsPort,
    ReferencePort,
    IdempotencyPort,
    WalletsPort,
    GiftCardsPort,
    DeviceChargesPort,
    DeviceOfflinePort,
    AuditTrail,
    OutboxWriter,
    Protocol,
):
    """Every aggregate's port in one transaction: what the purchase pipeline and the services built on PosService
    use. A service that needs fewer names a narrower Protocol of the ports it uses."""


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False) -> AbstractAsyncContextManager[PosUnitOfWork]:
        """A unit of work: commits when the block ends normally, rolls back when it raises. With `autocommit`
        the storage may commit each statement on its own: only for work that writes in one statement."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
