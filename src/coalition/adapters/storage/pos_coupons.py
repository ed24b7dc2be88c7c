"""The POS unit of work's coupons: read (locked in id order when a purchase will use them), used, listed. Adding
coupons stays with the purchase's writes in pos_store.py, which share the coupon's row shape with the batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coalition.adapters.storage.driver import Row
from coalition.adapters.storage.pos_base import SqlPart
from coalition.domain.coupons import Coupon


class SqlCoupons(SqlPart):
    """The `CouponsPort` in SQL, but `add_coupons` (in `SqlPosUnitOfWork`)."""

    async def coupons(self, network_id: int, codes: Sequence[str], *, lock: bool) -> dict[str, Coupon]:
        if not codes:
            return {}
        matches, arguments = self.db.any_of("code", 2, codes)
        lock_clause = " ORDER BY id FOR UPDATE" if lock and self.db.backend == "postgresql" else ""
        rows = await self.db.fetch(
            "SELECT id, code, campaign, member_id, valid_from, valid_until, max_uses, uses FROM coupons "
            f"WHERE network_id = $1 AND {matches}{lock_clause}",
            network_id,
            *arguments,
        )
        return {row["code"]: self._coupon(row) for row in rows}

    def _coupon(self, row: Row) -> Coupon:
        valid_from, valid_until = self.db.timestamp(row["valid_from"]), self.db.timestamp(row["valid_until"])
        if valid_from is None or valid_until is None:
            raise LookupError(f"coupon {row['id']} has no validity period")
        return Coupon(
            id=int(row["id"]),
            code=row["code"],
            campaign=row["campaign"],
            member_id=row["member_id"],
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=int(row["max_uses"]),
            uses=int(row["uses"]),
        )

    async def use_coupons(self, uses: Sequence[tuple[int, str]], now: datetime) -> None:
        await self.db.executemany("UPDATE coupons SET uses = uses + 1 WHERE id = $1", [(c,) for c, _ in uses])
        await self.db.insert_many(
            "coupon_uses", ("coupon_id", "purchase_id", "used_at"), [(c, p, now) for c, p in uses]
        )

    async def list_coupons(
        self,
        network_id: int,
        campaign: str | None,
        limit: int,
        after_id: int | None = None,
        *,
        member_id: int | None = None,
    ) -> list[Coupon]:
        """The network's coupons (of a campaign, of a member) in id order, after `after_id` (keyset pagination; a
        member's through ix_coupons_member_id_id)."""
        select = "SELECT id, code, campaign, member_id, valid_from, valid_until, max_uses, uses FROM coupons "
        where = ["network_id = $1", "id > $2"]
        arguments: list[object] = [network_id, after_id or 0]
        if campaign is not None:
            arguments.append(campaign)
            where.append(f"campaign = ${len(arguments)}")
        if member_id is not None:
            arguments.append(member_id)
            where.append(f"member_id = ${len(arguments)}")
        query = f"{select}WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(arguments) + 1}"
        rows = await self.db.fetch(query, *arguments, limit)
        return [self._coupon(row) for row in rows]

    async def has_coupon_from(self, member_id: int, campaign: str, valid_from: datetime) -> bool:
        found = await self.db.fetchval(
            "SELECT 1 FROM coupons WHERE member_id = $1 AND campaign = $2 AND valid_from = $3 LIMIT 1",
            member_id,
            campaign,
            valid_from,
        )
        return found is not None
