"""The purchases and refunds files' reads (application/sales_import.py): purchases by their receipts."""

from __future__ import annotations

from collections.abc import Sequence

from coalition.adapters.storage.pos_base import SqlPart


class SqlSalesFiles(SqlPart):
    async def purchases_by_receipt(self, outlet_id: int, receipts: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in self._chunks(list(receipts)):
            matches, arguments = self.db.any_of("receipt", 2, chunk)
            rows = await self.db.fetch(
                f"SELECT receipt, id FROM purchases WHERE outlet_id = $1 AND {matches}", outlet_id, *arguments
            )
            found.update({str(row["receipt"]): str(row["id"]) for row in rows})
        return found
