"""The member file import's and export's reads and writes (application/member_files.py): files taken by digest,
the identifiers a file would collide with, and the members page by page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coalition.adapters.storage.pos_base import SqlPart
from coalition.adapters.storage.pos_gift_cards import NODE_OWNER_ID
from coalition.application.pos_ports.member_files import (
    ExportedMember,
    ExportPage,
    FileImportRecord,
    MemberIds,
    NewMemberWrite,
    StoredImport,
)
from coalition.domain.cards import CardState
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import AccountPurpose, OwnerKind, money_asset

_EXPORT_MEMBERS = (
    "SELECT id, kind, name, phone, email, birth_date, consent_data_processing, consent_newsletters, tier, segments, "
    "lifetime_spend_minor FROM members WHERE network_id = $1 AND id > $2 ORDER BY id LIMIT $3"
)


class SqlMemberFiles(SqlPart):
    async def stored_import(self, network_id: int, kind: str, digest: str) -> StoredImport | None:
        row = await self.db.fetchrow(
            "SELECT result, imported_at FROM file_imports WHERE network_id = $1 AND kind = $2 AND digest = $3",
            network_id,
            kind,
            digest,
        )
        if row is None:
            return None
        moment = self.db.timestamp(row["imported_at"])
        assert moment is not None
        return StoredImport(str(row["result"]), moment)

    async def record_import(self, record: FileImportRecord, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO file_imports (network_id, kind, digest, filename, rows_read, created, unchanged, rejected, "
            "result, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            record.network_id,
            record.kind,
            record.digest,
            record.filename[:255],
            record.rows_read,
            record.created,
            record.unchanged,
            record.rejected,
            record.result,
            now,
        )

    async def identifier_owners(self, network_id: int, values: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in self._chunks(list(values)):
            matches, arguments = self.db.any_of("value", 2, chunk)
            rows = await self.db.fetch(
                f"SELECT value, member_id FROM identifiers WHERE network_id = $1 AND {matches}", network_id, *arguments
            )
            found.update({str(row["value"]): int(row["member_id"]) for row in rows})
        return found

    async def card_owners(self, network_id: int, numbers: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in self._chunks(list(numbers)):
            matches, arguments = self.db.any_of("number", 2, chunk)
            rows = await self.db.fetch(
                f"SELECT number, member_id FROM cards WHERE network_id = $1 AND {matches}", network_id, *arguments
            )
            found.update({str(row["number"]): int(row["member_id"]) for row in rows})
        return found

    async def members_for_export(self, network_id: int, after_member_id: int, limit: int, currency: str) -> ExportPage:
        """A page of members by id (the primary key), then their cards, balances and wallets by member (indexed):
        four statements whose plans do not depend on the tables' statistics."""
        members = await self.db.fetch(_EXPORT_MEMBERS, network_id, after_member_id, limit)
        ids = [int(row["id"]) for row in members]
        newest: dict[int, tuple[int, str, str, str]] = {}
        balances: dict[int, int] = {}
        wallets: dict[int, int] = {}
        for chunk in self._chunks(ids):
            matches, arguments = self.db.any_of("member_id", 1, chunk, "bigint")
            cards = await self.db.fetch(
                f"SELECT member_id, id, number, card_type, state FROM cards WHERE {matches} "
                "AND state NOT IN ('replaced', 'lost')",
                *arguments,
            )
            for card in cards:
                member_id, card_id = int(card["member_id"]), int(card["id"])
                if member_id not in newest or newest[member_id][0] < card_id:
                    newest[member_id] = (card_id, str(card["number"]), str(card["card_type"]), str(card["state"]))
            for row in await self.db.fetch(
                f"SELECT member_id, balance FROM member_balances WHERE {matches}", *arguments
            ):
                balances[int(row["member_id"])] = int(row["balance"])
            for row in await self.db.fetch(
                f"SELECT member_id, balance_minor FROM wallets WHERE {matches} AND currency = ${len(arguments) + 1}",
                *arguments,
                currency,
            ):
                wallets[int(row["member_id"])] = int(row["balance_minor"])
        found = [
            ExportedMember(
                member_id=int(row["id"]),
                kind=str(row["kind"]),
                card_number=newest[int(row["id"])][1],
                card_type=newest[int(row["id"])][2],
                name=row["name"],
                phone=row["phone"],
                email=row["email"],
                birth_date=self.db.day(row["birth_date"]),
                consent_data_processing=bool(row["consent_data_processing"]),
                consent_newsletters=bool(row["consent_newsletters"]),
                tier=str(row["tier"] or ""),
                segments=str(row["segments"] or ""),
                points_balance=balances.get(int(row["id"]), 0),
                wallet_minor=wallets.get(int(row["id"]), 0),
                card_state=newest[int(row["id"])][3],
                lifetime_spend_minor=int(row["lifetime_spend_minor"]),
            )
            for row in members
            if int(row["id"]) in newest
        ]
        return ExportPage(found, ids[-1] if ids else None)


_ID_TABLES = ("members", "accounts", "cards", "ledger_transactions", "lots")


class SqlMemberWrites(SqlPart):
    """The members of a file written set-based: ids drawn first, then one statement (COPY) per table."""

    async def allocate_member_ids(self, members: int, transactions: int, lots: int, wallets: int = 0) -> MemberIds:
        counts = (members, members + wallets, members, transactions, lots)
        drawn: list[list[int]] = []
        for table, count in zip(_ID_TABLES, counts, strict=True):
            if count == 0:
                drawn.append([])
            elif self.db.backend == "postgresql":
                rows = await self.db.fetch(
                    f"SELECT nextval('{table}_id_seq') AS id FROM generate_series(1, $1::int)", count
                )
                drawn.append([int(row["id"]) for row in rows])
            else:  # SQLite: this transaction holds the database's write lock (BEGIN IMMEDIATE), so max + 1 is ours
                base = int(await self.db.fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
                drawn.append(list(range(base + 1, base + 1 + count)))
        accounts = drawn[1]
        return MemberIds(drawn[0], accounts[:members], drawn[2], drawn[3], drawn[4], accounts[members:])

    async def node_prepaid_account(self, network_id: int, asset: str) -> int:
        return await self._account(network_id, OwnerKind.NODE, NODE_OWNER_ID, AccountPurpose.PREPAID, asset)

    async def write_members(
        self, network_id: int, asset: str, rows: Sequence[NewMemberWrite], now: datetime, currency: str
    ) -> None:
        db = self.db
        opened_wallets = [r for r in rows if r.wallet_account_id is not None]
        if db.backend == "postgresql":
            await db.execute("SELECT set_config('coalition.bulk_write', 'on', true)")
        await db.insert_many(
            "members",
            _MEMBER_COLUMNS,
            [_member_row(network_id, r, now) for r in rows],
        )
        await db.insert_many(
            "accounts",
            ("id", "network_id", "owner_kind", "owner_id", "purpose", "asset"),
            [
                (
                    r.account_id,
                    network_id,
                    OwnerKind.MEMBER.value,
                    r.member_id,
                    AccountPurpose.MEMBER_POINTS.value,
                    asset,
                )
                for r in rows
            ]
            + [
                (
                    r.wallet_account_id,
                    network_id,
                    OwnerKind.MEMBER.value,
                    r.member_id,
                    AccountPurpose.MEMBER_WALLET.value,
                    money_asset(currency),
                )
                for r in opened_wallets
            ],
        )
        await db.insert_many(
            "wallets",
            ("account_id", "network_id", "member_id", "currency", "balance_minor", "created_at"),
            [(r.wallet_account_id, network_id, r.member_id, currency, r.wallet_minor, now) for r in opened_wallets],
        )
        await db.insert_many(
            "member_balances",
            ("account_id", "member_id", "balance", "version"),
            [(r.account_id, r.member_id, r.balance, 0) for r in rows],
        )
        await db.insert_many(
            "cards",
            _CARD_COLUMNS,
            [
                (
                    r.card_id,
                    network_id,
                    r.member_id,
                    r.card_number,
                    r.card_state,
                    now,
                    None if r.card_state == CardState.ISSUED.value else now,
                    now,
                    r.card_type,
                )
                for r in rows
            ],
        )
        identifiers = [(network_id, r.member_id, r.card_id, IdentifierKind.CARD.value, r.card_number) for r in rows] + [
            (network_id, r.member_id, None, IdentifierKind.PHONE.value, r.phone) for r in rows if r.phone
        ]
        await db.insert_many("identifiers", ("network_id", "member_id", "card_id", "kind", "value"), identifiers)
        opened = [r for r in rows if r.opening is not None and r.opening_tx_id is not None]
        await db.insert_many(
            "ledger_transactions",
            ("id", "network_id", "kind", "outlet_id", "reverses_tx_id", "memo", "occurred_at", "recorded_at"),
            [
                (r.opening_tx_id, network_id, r.opening.kind.value, None, None, r.opening.memo, now, now)
                for r in opened
                if r.opening is not None
            ],
        )
        await db.insert_many(
            "postings",
            ("tx_id", "account_id", "asset", "amount"),
            [
                (r.opening_tx_id, p.account_id, p.asset, p.amount)
                for r in opened
                if r.opening
                for p in r.opening.postings
            ],
        )
        await db.insert_many(
            "lots",
            ("id", "account_id", "tx_id", "points", "remaining", "expires_at", "granting_partner_id"),
            [
                (r.lot_id, r.account_id, r.opening_tx_id, r.lot.points, r.lot.points, r.lot.expires_at, None)
                for r in opened
                if r.lot is not None
            ],
        )
        if db.backend == "postgresql":
            await db.execute("SELECT set_config('coalition.bulk_write', 'off', true)")


_MEMBER_COLUMNS = (
    "id",
    "network_id",
    "kind",
    "name",
    "phone",
    "email",
    "birth_date",
    "notes",
    "consent_data_processing",
    "consent_newsletters",
    "lifetime_spend_minor",
    "created_at",
    "tier",
    "segments",
    "opening_spend_minor",
)
_CARD_COLUMNS = (
    "id",
    "network_id",
    "member_id",
    "number",
    "state",
    "issued_at",
    "activated_at",
    "state_changed_at",
    "card_type",
)
MEMBER_POINTS = AccountPurpose.MEMBER_POINTS.value


def _member_row(network_id: int, r: NewMemberWrite, now: datetime) -> tuple[object, ...]:
    return (
        r.member_id,
        network_id,
        r.kind,
        r.name,
        r.phone,
        r.email,
        r.birth_date,
        None,
        r.consent_data_processing,
        r.consent_newsletters,
        r.opening_spend_minor,  # the running lifetime spend starts from the opening spend
        now,
        r.tier,
        r.segments,
        r.opening_spend_minor,
    )
