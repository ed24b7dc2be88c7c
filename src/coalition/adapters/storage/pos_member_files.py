"""The member file import's and export's reads and writes (application/member_files.py): files taken by digest,
the identifiers a file would collide with, and the members page by page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coalition.adapters.storage.pos_base import SqlPart
from coalition.application.pos_ports.member_files import ExportedMember, FileImportRecord, StoredImport

_EXPORT = """
SELECT m.id, m.kind, m.name, m.phone, m.email, m.birth_date, m.consent_data_processing, m.consent_newsletters,
       m.tier, m.segments, COALESCE(b.balance, 0) AS balance, c.number, c.card_type
FROM members m
JOIN cards c ON c.id = (
    SELECT MAX(k.id) FROM cards k WHERE k.member_id = m.id AND k.state NOT IN ('replaced', 'lost')
)
LEFT JOIN member_balances b ON b.member_id = m.id
WHERE m.network_id = $1 AND m.id > $2
ORDER BY m.id
LIMIT $3
"""


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

    async def members_for_export(self, network_id: int, after_member_id: int, limit: int) -> list[ExportedMember]:
        rows = await self.db.fetch(_EXPORT, network_id, after_member_id, limit)
        return [
            ExportedMember(
                member_id=int(row["id"]),
                kind=str(row["kind"]),
                card_number=str(row["number"]),
                card_type=str(row["card_type"]),
                name=row["name"],
                phone=row["phone"],
                email=row["email"],
                birth_date=self.db.day(row["birth_date"]),
                consent_data_processing=bool(row["consent_data_processing"]),
                consent_newsletters=bool(row["consent_newsletters"]),
                tier=str(row["tier"] or ""),
                segments=str(row["segments"] or ""),
                points_balance=int(row["balance"]),
            )
            for row in rows
        ]
