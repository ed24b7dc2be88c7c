"""The POS unit of work's gift cards: card rows with their running balance (debited in one guarded statement), PIN
attempts, the PREPAID accounts (created on first use) and the network's gift-card breakage policy."""

from __future__ import annotations

from datetime import datetime

from coalition.adapters.storage.driver import Row
from coalition.adapters.storage.pos_base import SqlPart, required
from coalition.application.pos_ports.gift_cards import NewGiftCard
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.gift_cards import GiftCard, GiftCardStatus
from coalition.domain.ledger import AccountPurpose, OwnerKind

NODE_OWNER_ID = 0  # the settlement node's accounts are keyed by the network (as admin_store's)

_CARD_COLUMNS = (
    "id, network_id, number, account_id, currency, initial_minor, balance_minor, status, valid_from, valid_until, "
    "seller_partner_id, seller_outlet_id, pin_hash, failed_pin_attempts, pin_locked_until"
)

# Spending: one statement that refuses itself unless the card may pay all of it now, so two tills spending the same
# card at once can never take it below zero (the loser gets None: 409/422 upstream, nothing written).
_DEBIT = (
    "UPDATE gift_cards SET balance_minor = balance_minor - $2, "
    "status = CASE WHEN balance_minor = $2 THEN 'spent' ELSE status END "
    "WHERE id = $1 AND status = 'active' AND balance_minor >= $2 AND valid_from <= $3 AND valid_until > $3 "
    "RETURNING balance_minor"
)


class SqlGiftCards(SqlPart):
    """The `GiftCardsPort` in SQL."""

    async def insert_gift_card(self, card: NewGiftCard, now: datetime) -> GiftCard:
        card_id = int(
            await self.db.fetchval(
                "INSERT INTO gift_cards (network_id, number, pin_hash, currency, initial_minor, balance_minor, status, "
                "valid_from, valid_until, seller_partner_id, seller_outlet_id, created_at) "
                "VALUES ($1, $2, $3, $4, $5, 0, 'active', $6, $7, $8, $9, $10) RETURNING id",
                card.network_id,
                card.number,
                card.pin_hash,
                card.currency,
                card.amount_minor,
                card.valid_from,
                card.valid_until,
                card.seller_partner_id,
                card.seller_outlet_id,
                now,
            )
        )
        account_id = await self.db.fetchval(
            "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) VALUES ($1, $2, $3, $4, $5) "
            "RETURNING id",
            card.network_id,
            OwnerKind.GIFT_CARD.value,
            card_id,
            AccountPurpose.GIFT_CARD.value,
            f"money:{card.currency}",
        )
        await self.db.execute("UPDATE gift_cards SET account_id = $2 WHERE id = $1", card_id, account_id)
        return required_card(await self.gift_card_by_id(card_id))

    async def gift_card(self, network_id: int, number: str, *, lock: bool = False) -> GiftCard | None:
        row = await self.db.fetchrow(
            f"SELECT {_CARD_COLUMNS} FROM gift_cards WHERE network_id = $1 AND number = $2{self._lock(lock)}",
            network_id,
            number,
        )
        return None if row is None else self._card(row)

    async def gift_card_by_id(self, card_id: int, *, lock: bool = False) -> GiftCard | None:
        row = await self.db.fetchrow(f"SELECT {_CARD_COLUMNS} FROM gift_cards WHERE id = $1{self._lock(lock)}", card_id)
        return None if row is None else self._card(row)

    async def gift_card_of_account(self, account_id: int) -> GiftCard | None:
        row = await self.db.fetchrow(f"SELECT {_CARD_COLUMNS} FROM gift_cards WHERE account_id = $1", account_id)
        return None if row is None else self._card(row)

    def _lock(self, lock: bool) -> str:
        return " FOR UPDATE" if lock and self.db.backend == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE holds all

    def _card(self, row: Row) -> GiftCard:
        return GiftCard(
            id=int(row["id"]),
            network_id=int(row["network_id"]),
            number=row["number"],
            account_id=int(row["account_id"]),
            currency=row["currency"],
            initial_minor=int(row["initial_minor"]),
            balance_minor=int(row["balance_minor"]),
            status=GiftCardStatus(row["status"]),
            valid_from=required(self.db.timestamp(row["valid_from"])),
            valid_until=required(self.db.timestamp(row["valid_until"])),
            seller_partner_id=None if row["seller_partner_id"] is None else int(row["seller_partner_id"]),
            seller_outlet_id=None if row["seller_outlet_id"] is None else int(row["seller_outlet_id"]),
            pin_hash=row["pin_hash"],
            failed_pin_attempts=int(row["failed_pin_attempts"]),
            pin_locked_until=self.db.timestamp(row["pin_locked_until"]),
        )

    async def record_gift_card_sale(self, card_id: int, tx_id: int, amount_minor: int) -> None:
        await self.db.execute(
            "UPDATE gift_cards SET balance_minor = balance_minor + $2, sale_tx_id = $3 WHERE id = $1",
            card_id,
            amount_minor,
            tx_id,
        )

    async def debit_gift_card(self, card_id: int, amount_minor: int, now: datetime) -> int | None:
        found = await self.db.fetchval(_DEBIT, card_id, amount_minor, now)
        return None if found is None else int(found)

    async def credit_gift_card(self, card_id: int, amount_minor: int) -> int:
        found = await self.db.fetchval(
            "UPDATE gift_cards SET balance_minor = balance_minor + $2, "
            "status = CASE WHEN status IN ('spent', 'expired') THEN 'active' ELSE status END WHERE id = $1 "
            "RETURNING balance_minor",
            card_id,
            amount_minor,
        )
        if found is None:
            raise LookupError(f"gift card {card_id} does not exist")
        return int(found)

    async def record_pin_attempts(self, card_id: int, failed: int, locked_until: datetime | None) -> None:
        await self.db.execute(
            "UPDATE gift_cards SET failed_pin_attempts = $2, pin_locked_until = $3 WHERE id = $1",
            card_id,
            failed,
            locked_until,
        )

    async def set_gift_card_status(self, card_id: int, status: GiftCardStatus, expected: GiftCardStatus) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gift_cards SET status = $2 WHERE id = $1 AND status = $3 RETURNING id",
            card_id,
            status.value,
            expected.value,
        )
        return row is not None

    async def gift_cards_due_to_expire(self, network_id: int, now: datetime) -> list[int]:
        rows = await self.db.fetch(
            "SELECT id FROM gift_cards WHERE network_id = $1 AND status IN ('active', 'blocked') "
            "AND valid_until <= $2 ORDER BY valid_until, id",
            network_id,
            now,
        )
        return [int(row["id"]) for row in rows]

    async def expire_gift_card(self, card_id: int, tx_id: int | None, now: datetime) -> bool:
        row = await self.db.fetchrow(
            "UPDATE gift_cards SET status = 'expired', balance_minor = 0, expiry_tx_id = $2 "
            "WHERE id = $1 AND status IN ('active', 'blocked') AND valid_until <= $3 RETURNING id",
            card_id,
            tx_id,
            now,
        )
        return row is not None

    async def party_prepaid_account(self, network_id: int, partner_id: int | None, asset: str) -> int:
        """A partner's PREPAID account, or the node's (None: a card the administrator issued)."""
        if partner_id is None:
            return await self._account(network_id, OwnerKind.NODE, NODE_OWNER_ID, AccountPurpose.PREPAID, asset)
        return await self._account(network_id, OwnerKind.PARTNER, partner_id, AccountPurpose.PREPAID, asset)

    async def prepaid_breakage_account(self, network_id: int, asset: str) -> int:
        return await self._account(network_id, OwnerKind.NODE, NODE_OWNER_ID, AccountPurpose.PREPAID_BREAKAGE, asset)

    async def gift_card_breakage(self, network_id: int) -> BreakagePolicy:
        row = await self.db.fetchrow(
            "SELECT breakage, breakage_share_bp FROM gift_card_settings WHERE network_id = $1", network_id
        )
        if row is None:
            return BreakagePolicy()
        return BreakagePolicy(PointsBreakage(row["breakage"]), row["breakage_share_bp"])

    async def set_gift_card_breakage(self, network_id: int, policy: BreakagePolicy) -> None:
        await self.db.execute(
            "INSERT INTO gift_card_settings (network_id, breakage, breakage_share_bp) VALUES ($1, $2, $3) "
            "ON CONFLICT (network_id) DO UPDATE SET breakage = excluded.breakage, "
            "breakage_share_bp = excluded.breakage_share_bp",
            network_id,
            policy.kind.value,
            policy.share_bp,
        )


def required_card(card: GiftCard | None) -> GiftCard:
    if card is None:
        raise LookupError("a gift card just written is missing")
    return card
