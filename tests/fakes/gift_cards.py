"""The fake POS unit of work's gift cards (issue 14): the `GiftCardsPort` in memory, with the guards the SQL
statements keep (a debit only of an active card valid now that holds the amount; a duplicate number refused)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from coalition.application.commands import DuplicateKey
from coalition.application.pos_ports.gift_cards import NewGiftCard
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.gift_cards import GiftCard, GiftCardStatus
from coalition.domain.ledger import OwnerKind

NODE_OWNER_ID = 0


class FakeGiftCards:
    """Mixed into FakeUnitOfWork: gift cards and the network's gift-card breakage policy kept on the state; PREPAID
    accounts shared with the wallets' (one account per owner, purpose and currency, as in SQL)."""

    s: Any

    def _cards(self) -> dict[int, GiftCard]:
        if not hasattr(self.s, "gift_cards"):
            self.s.gift_cards = {}
            self.s.gift_card_breakage = {}
            self.s.prepaid_breakage_accounts = {}
        cards: dict[int, GiftCard] = self.s.gift_cards
        return cards

    async def insert_gift_card(self, card: NewGiftCard, now: datetime) -> GiftCard:
        if any((c.network_id, c.number) == (card.network_id, card.number) for c in self._cards().values()):
            raise DuplicateKey("gift card number")
        created = GiftCard(
            id=self.s.new_id(),
            network_id=card.network_id,
            number=card.number,
            account_id=self.s.new_id(),
            currency=card.currency,
            initial_minor=card.amount_minor,
            balance_minor=0,
            status=GiftCardStatus.ACTIVE,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            seller_partner_id=card.seller_partner_id,
            seller_outlet_id=card.seller_outlet_id,
            pin_hash=card.pin_hash,
        )
        self._cards()[created.id] = created
        return created

    async def gift_card(self, network_id: int, number: str, *, lock: bool = False) -> GiftCard | None:
        return next((c for c in self._cards().values() if (c.network_id, c.number) == (network_id, number)), None)

    async def gift_card_by_id(self, card_id: int, *, lock: bool = False) -> GiftCard | None:
        return self._cards().get(card_id)

    async def gift_card_of_account(self, account_id: int) -> GiftCard | None:
        return next((c for c in self._cards().values() if c.account_id == account_id), None)

    def _put(self, card: GiftCard) -> GiftCard:
        self._cards()[card.id] = card
        return card

    async def record_gift_card_sale(self, card_id: int, tx_id: int, amount_minor: int) -> None:
        card = self._cards()[card_id]
        self._put(replace(card, balance_minor=card.balance_minor + amount_minor))

    async def debit_gift_card(self, card_id: int, amount_minor: int, now: datetime) -> int | None:
        card = self._cards().get(card_id)
        if (
            card is None
            or card.status is not GiftCardStatus.ACTIVE
            or card.balance_minor < amount_minor
            or not card.valid_from <= now < card.valid_until
        ):
            return None
        left = card.balance_minor - amount_minor
        self._put(replace(card, balance_minor=left, status=GiftCardStatus.SPENT if left == 0 else card.status))
        return left

    async def credit_gift_card(self, card_id: int, amount_minor: int) -> int:
        card = self._cards().get(card_id)
        if card is None:
            raise LookupError(f"gift card {card_id} does not exist")
        status = GiftCardStatus.ACTIVE if card.status in (GiftCardStatus.SPENT, GiftCardStatus.EXPIRED) else card.status
        return self._put(replace(card, balance_minor=card.balance_minor + amount_minor, status=status)).balance_minor

    async def record_pin_attempts(self, card_id: int, failed: int, locked_until: datetime | None) -> None:
        card = self._cards()[card_id]
        self._put(replace(card, failed_pin_attempts=failed, pin_locked_until=locked_until))

    async def set_gift_card_status(self, card_id: int, status: GiftCardStatus, expected: GiftCardStatus) -> bool:
        card = self._cards().get(card_id)
        if card is None or card.status is not expected:
            return False
        self._put(replace(card, status=status))
        return True

    async def gift_cards_due_to_expire(self, network_id: int, now: datetime) -> list[int]:
        due = [
            c
            for c in self._cards().values()
            if c.network_id == network_id
            and c.status in (GiftCardStatus.ACTIVE, GiftCardStatus.BLOCKED)
            and c.valid_until <= now
        ]
        return [c.id for c in sorted(due, key=lambda c: (c.valid_until, c.id))]

    async def expire_gift_card(self, card_id: int, tx_id: int | None, now: datetime) -> bool:
        card = self._cards().get(card_id)
        if card is None or card.status not in (GiftCardStatus.ACTIVE, GiftCardStatus.BLOCKED) or card.valid_until > now:
            return False
        self._put(replace(card, status=GiftCardStatus.EXPIRED, balance_minor=0))
        return True

    async def party_prepaid_account(self, network_id: int, partner_id: int | None, asset: str) -> int:
        currency = asset.removeprefix("money:")
        if partner_id is None:
            owner, owner_id = OwnerKind.NODE, NODE_OWNER_ID
        else:
            owner, owner_id = OwnerKind.PARTNER, partner_id
        prepaid: int = await self.prepaid_account(network_id, owner, owner_id, currency)  # type: ignore[attr-defined]
        return prepaid

    async def prepaid_breakage_account(self, network_id: int, asset: str) -> int:
        self._cards()
        accounts: dict[tuple[int, str], int] = self.s.prepaid_breakage_accounts
        return accounts.setdefault((network_id, asset), self.s.new_id())

    async def gift_card_breakage(self, network_id: int) -> BreakagePolicy:
        self._cards()
        policy: BreakagePolicy = self.s.gift_card_breakage.get(network_id, BreakagePolicy())
        return policy

    async def set_gift_card_breakage(self, network_id: int, policy: BreakagePolicy) -> None:
        self._cards()
        self.s.gift_card_breakage[network_id] = policy
