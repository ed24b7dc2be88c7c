"""The POS unit of work's visits: started, read in a terminal's reach, ended once."""

from __future__ import annotations

from coalition.adapters.storage.driver import Row
from coalition.adapters.storage.pos_base import SqlPart, required
from coalition.domain.visits import Visit

_VISIT = (
    "SELECT id, member_id, entry_outlet_id, started_at, exit_outlet_id, ended_at, points_reset, gifts_reset FROM visits"
)
# A visit is in a terminal's reach ($3: its partner) when an outlet of that partner opened it, or (to read it) when
# the member bought at an outlet of that partner during it (docs/terminal-reach.md).
_OPENED_BY_PARTNER = "entry_outlet_id IN (SELECT id FROM outlets WHERE partner_id = $3)"
_BOUGHT_IN_VISIT = (
    "EXISTS (SELECT 1 FROM purchases p JOIN outlets o ON o.id = p.outlet_id WHERE p.member_id = visits.member_id "
    "AND o.partner_id = $3 AND p.recorded_at >= visits.started_at "
    "AND (visits.ended_at IS NULL OR p.recorded_at <= visits.ended_at))"
)


class SqlVisits(SqlPart):
    """The `VisitsPort` in SQL."""

    async def insert_visit(self, network_id: int, visit: Visit) -> None:
        await self.db.execute(
            "INSERT INTO visits (id, network_id, member_id, entry_outlet_id, started_at) VALUES ($1, $2, $3, $4, $5)",
            visit.id,
            network_id,
            visit.member_id,
            visit.entry_outlet_id,
            visit.started_at,
        )

    async def visit(
        self, network_id: int, visit_id: str, *, lock: bool, partner_id: int, bought_in: bool = False
    ) -> Visit | None:
        lock_clause = " FOR UPDATE" if lock and self.db.backend == "postgresql" else ""
        reach = f"({_OPENED_BY_PARTNER}{f' OR {_BOUGHT_IN_VISIT}' if bought_in else ''})"
        sql = f"{_VISIT} WHERE network_id = $1 AND id = $2 AND {reach}{lock_clause}"
        row = await self.db.fetchrow(sql, network_id, visit_id, partner_id)
        return None if row is None else self._visit_of(row)

    async def open_visit_of(self, member_id: int) -> Visit | None:
        row = await self.db.fetchrow(f"{_VISIT} WHERE member_id = $1 AND ended_at IS NULL", member_id)
        return None if row is None else self._visit_of(row)

    def _visit_of(self, row: Row) -> Visit:
        return Visit(
            row["id"],
            int(row["member_id"]),
            int(row["entry_outlet_id"]),
            required(self.db.timestamp(row["started_at"])),
            self.db.timestamp(row["ended_at"]),
            row["exit_outlet_id"],
            int(row["points_reset"]),
            int(row["gifts_reset"]),
        )

    async def end_visit(self, visit: Visit, reset_tx_id: int | None) -> bool:
        row = await self.db.fetchrow(
            "UPDATE visits SET ended_at = $2, exit_outlet_id = $3, points_reset = $4, gifts_reset = $5, "
            "reset_tx_id = $6 WHERE id = $1 AND ended_at IS NULL RETURNING id",
            visit.id,
            visit.ended_at,
            visit.exit_outlet_id,
            visit.points_reset,
            visit.gifts_reset,
            reset_tx_id,
        )
        return row is not None
