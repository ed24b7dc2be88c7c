"""The POS unit of work's gifts: the catalogue of gift types, granted gifts, their hand-over and expiry, and the
network's gift breakage policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coalition.adapters.storage.driver import Row
from coalition.adapters.storage.pos_base import SqlPart, required
from coalition.domain.gifts import Gift, GiftBreakage, GiftState, GiftType


class SqlGifts(SqlPart):
    """The `GiftsPort` in SQL."""

    async def gift_types(self, network_id: int, codes: Sequence[str] | None = None) -> dict[str, GiftType]:
        sql = "SELECT id, code, name, price_minor, valid_days FROM gift_types WHERE network_id = $1"
        arguments: list[Any] = [network_id]
        if codes is not None:
            if not codes:
                return {}
            matches, arguments = self.db.any_of("code", 2, codes)
            sql += f" AND {matches}"
            arguments = [network_id, *arguments]
        rows = await self.db.fetch(sql + " ORDER BY code", *arguments)
        found = {}
        for row in rows:
            partners = await self.db.fetch(
                "SELECT partner_id FROM gift_type_partners WHERE gift_type_id = $1", row["id"]
            )
            found[row["code"]] = GiftType(
                int(row["id"]),
                row["code"],
                row["name"],
                int(row["price_minor"]),
                int(row["valid_days"]),
                frozenset(int(p["partner_id"]) for p in partners),
            )
        return found

    async def create_gift_type(self, network_id: int, gift_type: GiftType, now: datetime) -> int:
        gift_type_id = int(
            await self.db.fetchval(
                "INSERT INTO gift_types (network_id, code, name, price_minor, valid_days, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                network_id,
                gift_type.code,
                gift_type.name,
                gift_type.price_minor,
                gift_type.valid_days,
                now,
            )
        )
        await self.db.executemany(
            "INSERT INTO gift_type_partners (gift_type_id, partner_id) VALUES ($1, $2)",
            [(gift_type_id, partner_id) for partner_id in sorted(gift_type.partner_ids)],
        )
        return gift_type_id

    async def insert_gift(
        self, network_id: int, gift: Gift, granted_outlet_id: int, grant_tx_id: int, purchase_id: str | None
    ) -> None:
        await self.db.execute(
            "INSERT INTO gifts (id, network_id, gift_type_id, member_id, outlets, granted_outlet_id, grant_tx_id, "
            "purchase_id, granted_at, valid_until, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            gift.id,
            network_id,
            gift.gift_type.id,
            gift.member_id,
            ",".join(sorted(gift.outlets)),
            granted_outlet_id,
            grant_tx_id,
            purchase_id,
            gift.granted_at,
            gift.valid_until,
            gift.state.value,
        )

    async def gift(self, network_id: int, gift_id: str, *, lock: bool) -> Gift | None:
        lock_clause = " FOR UPDATE OF g" if lock and self.db.backend == "postgresql" else ""
        row = await self.db.fetchrow(
            "SELECT g.id, t.code, g.member_id, g.outlets, g.granted_at, g.valid_until, g.state FROM gifts g "
            f"JOIN gift_types t ON t.id = g.gift_type_id WHERE g.network_id = $1 AND g.id = $2{lock_clause}",
            network_id,
            gift_id,
        )
        if row is None:
            return None
        return (await self._gifts([row], network_id))[0]

    async def _gifts(self, rows: Sequence[Row], network_id: int) -> list[Gift]:
        types = await self.gift_types(network_id, sorted({row["code"] for row in rows}))
        return [
            Gift(
                id=row["id"],
                gift_type=types[row["code"]],
                member_id=int(row["member_id"]),
                outlets=frozenset(name for name in row["outlets"].split(",") if name),
                granted_at=required(self.db.timestamp(row["granted_at"])),
                valid_until=required(self.db.timestamp(row["valid_until"])),
                state=GiftState(row["state"]),
            )
            for row in rows
        ]

    async def mark_gift_honoured(self, gift_id: str, outlet_id: int, tx_id: int, now: datetime) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gifts SET state = 'honoured', honoured_outlet_id = $2, honour_tx_id = $3, honoured_at = $4 "
            "WHERE id = $1 AND state = 'granted' RETURNING id",
            gift_id,
            outlet_id,
            tx_id,
            now,
        )
        return row is not None

    async def gifts_due_to_expire(self, network_id: int, now: datetime) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE network_id = $1 AND state = 'granted' AND valid_until <= $2 "
            "ORDER BY valid_until, id",
            network_id,
            now,
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def mark_gift_expired(self, gift_id: str, now: datetime, release_tx_id: int | None) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gifts SET state = 'expired', expired_at = $2, release_tx_id = $3 "
            "WHERE id = $1 AND state = 'granted' RETURNING id",
            gift_id,
            now,
            release_tx_id,
        )
        return row is not None

    async def member_gifts(self, member_id: int, now: datetime) -> list[Gift]:
        row = await self.db.fetchrow("SELECT network_id FROM members WHERE id = $1", member_id)
        if row is None:
            return []
        rows = await self.db.fetch(
            "SELECT g.id, t.code, g.member_id, g.outlets, g.granted_at, g.valid_until, g.state FROM gifts g "
            "JOIN gift_types t ON t.id = g.gift_type_id "
            "WHERE g.member_id = $1 AND g.state = 'granted' AND g.valid_until > $2 ORDER BY g.valid_until, g.id",
            member_id,
            now,
        )
        return await self._gifts(rows, int(row["network_id"])) if rows else []

    async def open_gifts_granted_since(self, member_id: int, since: datetime) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE member_id = $1 AND state = 'granted' AND granted_at >= $2 "
            "ORDER BY granted_at, id",
            member_id,
            since,
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def open_gifts_of_purchase(self, purchase_id: str) -> list[tuple[str, int]]:
        rows = await self.db.fetch(
            "SELECT id, grant_tx_id FROM gifts WHERE purchase_id = $1 AND state = 'granted' ORDER BY id", purchase_id
        )
        return [(row["id"], int(row["grant_tx_id"])) for row in rows]

    async def gift_breakage(self, network_id: int) -> GiftBreakage:
        return GiftBreakage(await self.db.fetchval("SELECT gift_breakage FROM networks WHERE id = $1", network_id))

    async def set_gift_breakage(self, network_id: int, policy: GiftBreakage) -> None:
        await self.db.execute("UPDATE networks SET gift_breakage = $1 WHERE id = $2", policy.value, network_id)
