"""Gift cards: the card rows with their running balance, guarded debits and credits, PIN attempts, the PREPAID
accounts their money moves through, and the network's gift-card breakage policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.domain.breakage import BreakagePolicy
from coalition.domain.gift_cards import GiftCard, GiftCardStatus


@dataclass(frozen=True, slots=True)
class NewGiftCard:
    network_id: int
    number: str
    pin_hash: str | None
    currency: str
    amount_minor: int
    valid_from: datetime
    valid_until: datetime
    seller_partner_id: int | None  # None: the administrator issues it
    seller_outlet_id: int | None


class GiftCardsPort(Protocol):
    async def insert_gift_card(self, card: NewGiftCard, now: datetime) -> GiftCard:
        """The card (active, balance 0 until its sale is recorded) and its ledger account; raises DuplicateKey when
        the network has the number already."""
        ...

    async def gift_card(self, network_id: int, number: str, *, lock: bool = False) -> GiftCard | None: ...
    async def gift_card_by_id(self, card_id: int, *, lock: bool = False) -> GiftCard | None: ...
    async def gift_card_of_account(self, account_id: int) -> GiftCard | None:
        """The card whose ledger account this is (a refund finds the cards a purchase was paid with)."""
        ...

    async def record_gift_card_sale(self, card_id: int, tx_id: int, amount_minor: int) -> None:
        """The sale's transaction posted `amount_minor` to the card: its balance follows."""
        ...

    async def debit_gift_card(self, card_id: int, amount_minor: int, now: datetime) -> int | None:
        """Take `amount_minor` off the card in one guarded statement (active, valid at `now`, balance >= amount);
        the balance after, or None when the guard refused (a concurrent spend, a block, the end of validity).
        A card left with nothing becomes `spent`. Call it in the unit of work that posts the redemption."""
        ...

    async def credit_gift_card(self, card_id: int, amount_minor: int) -> int:
        """Put `amount_minor` back on the card (a refund to it, in the unit of work that posts it); a spent card is
        active again, and so is an expired one, which cannot pay past its validity (the debit's guard) and which the
        next sweep expires again, posting the refund to breakage. The balance after."""
        ...

    async def record_pin_attempts(self, card_id: int, failed: int, locked_until: datetime | None) -> None: ...
    async def set_gift_card_status(self, card_id: int, status: GiftCardStatus, expected: GiftCardStatus) -> bool:
        """False when the card was not in `expected` (changed meanwhile)."""
        ...

    async def gift_cards_due_to_expire(self, network_id: int, now: datetime) -> list[int]:
        """Ids of the network's active or blocked cards whose validity ended by `now`."""
        ...

    async def expire_gift_card(self, card_id: int, tx_id: int | None, now: datetime) -> bool:
        """The card expired: its balance is zero (the expiry transaction `tx_id` took it); False when it was not
        active or blocked any more."""
        ...

    async def party_prepaid_account(self, network_id: int, partner_id: int | None, asset: str) -> int:
        """A partner's PREPAID account in `asset` (None: the node's), created on first use."""
        ...

    async def prepaid_breakage_account(self, network_id: int, asset: str) -> int:
        """The node's PREPAID_BREAKAGE account in `asset`, created on first use."""
        ...

    async def gift_card_breakage(self, network_id: int) -> BreakagePolicy: ...
    async def set_gift_card_breakage(self, network_id: int, policy: BreakagePolicy) -> None: ...
