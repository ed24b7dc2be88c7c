"""The gift cards a member keeps on their page (/me, issue 14 point 5): a card added by its number (and its PIN when
it has one, checked through `GiftCards.checked_card`, so five wrong PINs stop its checks), listed with its balance
as the till's enquiry shows it, and removed again. A link never changes the card: it stays a bearer instrument.

A number that finds no card spends one of the member's lookup misses (MISSES an hour, kept in memory like a till's,
keyed by member), so the page cannot be used to try numbers one after another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from coalition.application.gift_cards import GiftCards, GiftCardView
from coalition.application.ports import Clock
from coalition.application.rate_limits import Rate, TokenBuckets, retry_after_seconds
from coalition.domain.errors import InvalidInput, NotFound, RateLimited
from coalition.domain.gift_cards import normalize_number, not_found

CARDS_MAX = 20  # per member: a page, not a vault
MISSES = Rate(10, 3600)  # numbers that found no card, per member and hour
TOO_MANY_MISSES = "too many gift card numbers that found no card; try again in an hour"


class MemberGiftCardsUnitOfWork(Protocol):
    async def linked_count(self, member_id: int) -> int:
        """The member's links, counted so that another add cannot count at the same time until this one ends."""
        ...

    async def link(self, member_id: int, gift_card_id: int, now: datetime) -> None:
        """Link the card to the member; a link already there stays as it is."""
        ...

    async def unlink(self, member_id: int, gift_card_id: int) -> None: ...
    async def linked_card_ids(self, member_id: int) -> list[int]:
        """The member's cards, newest added first."""
        ...

    async def card_id(self, network_id: int, number: str) -> int | None: ...


class MemberGiftCardsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[MemberGiftCardsUnitOfWork]: ...


class MemberGiftCards:
    def __init__(
        self,
        unit_of_work: MemberGiftCardsUnitOfWorkFactory,
        gift_cards: GiftCards,
        clock: Clock,
        misses: Rate = MISSES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.gift_cards = gift_cards
        self.clock = clock
        self._misses = TokenBuckets(misses)
        self._monotonic = monotonic

    async def add(self, network_id: int, member_id: int, number: str, pin: str | None) -> GiftCardView:
        """Link the card of this number in the member's network; `member_id` comes from the session only."""
        normalized = normalize_number(number, field="number")
        async with self.unit_of_work() as uow:
            card_id = await uow.card_id(network_id, normalized)
            linked = card_id is not None and card_id in await uow.linked_card_ids(member_id)
        if card_id is not None and linked:
            return await self._view(card_id)  # added before: nothing changes, no PIN asked again
        key = ("member", member_id)  # apart from the tills' buckets (those are in GiftCards, keyed by terminal)
        wait = self._misses.take(key, self._monotonic())  # taken before the lookup, given back when it finds one
        if wait:
            raise RateLimited(TOO_MANY_MISSES, field="number", retry_after_seconds=retry_after_seconds(wait))
        try:
            card = await self.gift_cards.checked_card(network_id, normalized, pin, field="number", pin_field="pin")
        except NotFound:
            raise  # the miss stays spent
        except Exception:
            self._misses.give_back(key, self._monotonic())  # a card was found: a wrong PIN is counted on it
            raise
        self._misses.give_back(key, self._monotonic())
        async with self.unit_of_work() as uow:
            if await uow.linked_count(member_id) >= CARDS_MAX:
                raise InvalidInput(
                    f"at most {CARDS_MAX} gift cards on one page; remove one you no longer use", field="number"
                )
            await uow.link(member_id, card.id, self.clock.now())
        return GiftCardView.of(card, self.clock.now())

    async def remove(self, network_id: int, member_id: int, number: str) -> None:
        """Take the card off the member's page; the card itself is untouched."""
        normalized = normalize_number(number, field="number")
        async with self.unit_of_work() as uow:
            card_id = await uow.card_id(network_id, normalized)
            if card_id is None or card_id not in await uow.linked_card_ids(member_id):
                raise not_found(normalized, field="number")
            await uow.unlink(member_id, card_id)

    async def cards(self, member_id: int) -> tuple[GiftCardView, ...]:
        """The member's cards as the till's enquiry shows them, newest added first."""
        async with self.unit_of_work() as uow:
            card_ids = await uow.linked_card_ids(member_id)
        return tuple([await self._view(card_id) for card_id in card_ids])

    async def _view(self, card_id: int) -> GiftCardView:
        async with self.gift_cards.unit_of_work() as uow:
            card = await uow.gift_card_by_id(card_id)
        if card is None:
            raise LookupError(f"gift card {card_id} vanished")
        return GiftCardView.of(card, self.clock.now())
