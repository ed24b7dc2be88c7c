"""What the member file import and export read and write besides members and the ledger: the files already taken
(by digest), the identifiers a file's rows would collide with, and the members page by page for an export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from coalition.domain.ledger import Transaction
from coalition.domain.purchase import NewLot


@dataclass(frozen=True, slots=True)
class StoredImport:
    result: str  # the answer as JSON
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class FileImportRecord:
    network_id: int
    kind: str
    digest: str
    filename: str
    rows_read: int
    created: int
    unchanged: int
    rejected: int
    result: str


@dataclass(frozen=True, slots=True)
class ExportedMember:
    member_id: int
    kind: str
    card_number: str
    card_type: str
    name: str | None
    phone: str | None
    email: str | None
    birth_date: date | None
    consent_data_processing: bool
    consent_newsletters: bool
    tier: str
    segments: str  # comma-separated, sorted
    points_balance: int
    wallet_minor: int = 0  # the wallet's balance in the network's currency (0: none)
    card_state: str = "active"  # the exported card's state: active, blocked or issued
    lifetime_spend_minor: int = 0  # the current lifetime spend (opening spend + checks - refunds)


@dataclass(frozen=True, slots=True)
class ExportPage:
    members: list[ExportedMember]  # those of the page with a card in use
    last_member_id: int | None  # the last member the page read (None: no more members)


class MemberFilesPort(Protocol):
    async def stored_import(self, network_id: int, kind: str, digest: str) -> StoredImport | None: ...
    async def record_import(self, record: FileImportRecord, now: datetime) -> None:
        """Raises DuplicateKey('file') when the same file was recorded meanwhile."""
        ...

    async def identifier_owners(self, network_id: int, values: Sequence[str]) -> dict[str, int]:
        """The member each of `values` identifies in the network (cards, phones and other identifiers)."""
        ...

    async def card_owners(self, network_id: int, numbers: Sequence[str]) -> dict[str, int]:
        """The member each card number belongs to in the network (any state)."""
        ...

    async def members_for_export(self, network_id: int, after_member_id: int, limit: int, currency: str) -> ExportPage:
        """Up to `limit` members by id after `after_member_id`; those with a card in use (not replaced or lost)
        with their newest such card and its state, their profile, labels, points balance and the balance of their
        wallet in `currency`."""
        ...


@dataclass(frozen=True, slots=True)
class NewMemberWrite:
    """One imported member's rows, with the ids `allocate_member_ids` drew: the member, their points account (and
    its balance row), their card (in `card_state`) and identifiers, their wallet (its account, and its row holding
    `wallet_minor`) when they bring money, and their opening transaction with its lot, if any."""

    member_id: int
    account_id: int
    card_id: int
    kind: str
    name: str | None
    phone: str | None
    email: str | None
    birth_date: date | None
    consent_data_processing: bool
    consent_newsletters: bool
    tier: str
    segments: str  # comma-separated, sorted
    card_number: str
    card_type: str
    balance: int
    opening: Transaction | None
    opening_tx_id: int | None
    lot: NewLot | None
    lot_id: int | None
    card_state: str = "active"
    wallet_account_id: int | None = None  # None: no wallet opened
    wallet_minor: int = 0
    opening_spend_minor: int = 0  # the lifetime spend brought in: the member's opening and running lifetime spend


@dataclass(frozen=True, slots=True)
class MemberIds:
    members: list[int]
    accounts: list[int]
    cards: list[int]
    transactions: list[int]
    lots: list[int]
    wallet_accounts: list[int]


class MemberWritesPort(Protocol):
    async def allocate_member_ids(self, members: int, transactions: int, lots: int, wallets: int = 0) -> MemberIds:
        """Ids for new members, their accounts and cards, transactions, lots and wallets' accounts (the unit of work
        holds them)."""
        ...

    async def write_members(
        self, network_id: int, asset: str, rows: Sequence[NewMemberWrite], now: datetime, currency: str
    ) -> None:
        """Every row of the members in set-based statements (COPY on PostgreSQL); a taken card or identifier raises
        DuplicateKey and the unit of work writes nothing. The wallets opened are of `currency`."""
        ...

    async def node_prepaid_account(self, network_id: int, asset: str) -> int:
        """The node's PREPAID account in `asset` (money:<currency>), created on first use: the wallets' openings'
        source."""
        ...
