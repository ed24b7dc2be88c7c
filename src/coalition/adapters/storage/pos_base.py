"""What every part of the SQL POS unit of work shares: its connection (`driver.Db`) and the small helpers of reading.

The unit of work is split by aggregate into mixins (pos_members, pos_ledger, pos_coupons, pos_gifts, pos_visits,
pos_reference, pos_idempotency, pos_purchases) that `pos_store.SqlPosUnitOfWork` combines; each is a `SqlPart`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from coalition.adapters.storage.driver import Db
from coalition.domain.ledger import OwnerKind

T = TypeVar("T")
_MAX_IN_LIST = 500  # values per IN (...) list; SQLite allows 32,766 parameters, PostgreSQL 65,535


class SqlPart:
    """One database transaction (or, with autocommit on PostgreSQL, one connection)."""

    def __init__(self, db: Db) -> None:
        self.db = db

    def _chunks(self, values: Sequence[T]) -> list[Sequence[T]]:
        """SQLite limits the parameters of a statement; PostgreSQL takes the whole list as one array."""
        if self.db.backend == "postgresql":
            return [values] if values else []
        return [values[i : i + _MAX_IN_LIST] for i in range(0, len(values), _MAX_IN_LIST)]

    async def _account(self, network_id: int, owner: OwnerKind, owner_id: int, purpose: str, asset: str) -> int:
        """The account of this owner, purpose and asset; created when there is none (a race inserts it once)."""
        select = (
            "SELECT id FROM accounts WHERE network_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4 "
            "AND asset = $5"
        )
        arguments = (network_id, owner.value, owner_id, str(purpose), asset)
        found = await self.db.fetchval(select, *arguments)
        if found is None:
            await self.db.execute(
                "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT DO NOTHING",
                *arguments,
            )
            found = await self.db.fetchval(select, *arguments)
        if found is None:
            raise LookupError(f"no {purpose} account of {owner.value} {owner_id}")
        return int(found)

    def _timestamp(self, value: Any) -> datetime:
        moment = self.db.timestamp(value)
        if moment is None:
            raise ValueError("a stored timestamp is missing")
        return moment


def required(moment: datetime | None) -> datetime:
    if moment is None:
        raise LookupError("a stored moment is missing")
    return moment
