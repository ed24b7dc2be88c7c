"""What the member file import and export read and write besides members and the ledger: the files already taken
(by digest), the identifiers a file's rows would collide with, and the members page by page for an export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


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

    async def members_for_export(self, network_id: int, after_member_id: int, limit: int) -> list[ExportedMember]:
        """Members with a card, by id after `after_member_id`: each with their newest card in use (not replaced
        or lost), their profile, labels and points balance."""
        ...
