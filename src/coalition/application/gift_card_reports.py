"""What the console and `coalition gift-cards list` read of gift cards (issue 14, point 5): the network's cards
searched by number and status (an owner: the cards their outlets sold or took money from), each with its seller and
what was spent from it, and the gift-card liability — the unspent balances of the cards that can still be spent or
unblocked, which the node owes their bearers until they expire.

Gift cards are bearer instruments: no card names a member, so the member's page (/me) has none to show.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from coalition.domain.errors import InvalidInput
from coalition.domain.gift_cards import GiftCardStatus

MAX_ROWS = 200
_STATUSES = frozenset(status.value for status in GiftCardStatus)


@dataclass(frozen=True, slots=True)
class GiftCardSearch:
    """`number`: a part of the number (spaces and hyphens ignored); `status` one of GiftCardStatus; `partner_id`: the
    cards a partner's outlets sold or took money from (an owner's scope)."""

    number: str = ""
    status: str = ""
    partner_id: int | None = None
    limit: int = MAX_ROWS

    def __post_init__(self) -> None:
        if self.status and self.status not in _STATUSES:
            raise InvalidInput("choose a status from the list", field="status")
        if len(self.number) > 64:
            raise InvalidInput("a gift card number has at most 32 letters and digits", field="number")


@dataclass(frozen=True, slots=True)
class GiftCardRow:
    number: str
    currency: str
    initial_minor: int
    balance_minor: int
    status: str  # an active card past its validity, not swept yet, reads `expired`
    valid_from: datetime
    valid_until: datetime
    has_pin: bool
    seller_partner: str | None  # None: the administrator issued it
    seller_outlet: str | None
    spent_minor: int  # taken from it by purchases less refunds of them (at the scope partner's outlets, when scoped)

    @property
    def issued(self) -> bool:
        return self.seller_partner is None


@dataclass(frozen=True, slots=True)
class GiftCardLiability:
    """The network's cards of one currency that still hold money for their bearers (active or blocked)."""

    currency: str
    cards: int
    blocked: int
    outstanding_minor: int


class GiftCardReportsUnitOfWork(Protocol):
    async def gift_card_rows(self, network_id: int, search: GiftCardSearch) -> list[GiftCardRow]: ...
    async def gift_card_liability(self, network_id: int) -> list[GiftCardLiability]: ...


class GiftCardReportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[GiftCardReportsUnitOfWork]: ...


def normalized_part(text: str) -> str:
    """A part of a number as typed: spaces and hyphens dropped, upper-cased (as card numbers are stored)."""
    return "".join(ch for ch in text if ch not in " -\u00a0").upper()


class GiftCardReports:
    def __init__(self, unit_of_work: GiftCardReportsUnitOfWorkFactory) -> None:
        self.unit_of_work = unit_of_work

    async def cards(self, network_id: int, search: GiftCardSearch, now: datetime) -> list[GiftCardRow]:
        """The newest cards first, at most `search.limit`."""
        async with self.unit_of_work() as uow:
            rows = await uow.gift_card_rows(network_id, search)
        return [_as_of(row, now) for row in rows]

    async def liability(self, network_id: int) -> list[GiftCardLiability]:
        async with self.unit_of_work() as uow:
            return await uow.gift_card_liability(network_id)


def _as_of(row: GiftCardRow, now: datetime) -> GiftCardRow:
    if row.status == GiftCardStatus.ACTIVE.value and now >= row.valid_until:
        return replace(row, status=GiftCardStatus.EXPIRED.value)
    return row
