"""A purchase's tenders from the request, and the funds they name read for `decide` (issue 14): only when the
request has tenders, so a purchase without them reads nothing more.

Gift cards are read BEFORE the purchase's unit of work (`read_gift_cards`: their PIN checks have units of work of
their own, and argon2 runs off the event loop), then handed to `load_funds` as `Funds`; the purchase's write takes
the money off each card with a guarded statement in its own transaction (`debit_gift_cards`), so a card spent
meanwhile refuses the whole purchase (409, nothing written) and never goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from coalition.application.commands import GiftCardSaleInput, TenderInput, zone_named
from coalition.application.gift_cards import (
    GiftCardFunds,
    GiftCardRequest,
    GiftCards,
    GiftCardUnitOfWork,
    ParsedCard,
)
from coalition.application.ports import PayingWallet, PosUnitOfWork, TerminalContext
from coalition.application.pos_ports.gift_cards import GiftCardsPort
from coalition.domain.errors import InvalidInput
from coalition.domain.gift_cards import GiftCard, generate_number, normalize_number
from coalition.domain.money import parse_amount_minor
from coalition.domain.tenders import MAX_TENDERS, Funds, TenderApplied, TenderKind, TenderRequest


class GiftCardFundsReader(Protocol):
    """What a purchase uses of the gift cards' service (application.gift_cards): a card's funds after its PIN, and
    the cards it sells (parsed and their PINs hashed before its unit of work, created in it)."""

    async def gift_card_funds(
        self, ctx: TerminalContext, number: str, pin: str | None, *, field: str = "number", pin_field: str = "pin"
    ) -> GiftCardFunds: ...
    async def parse(self, request: GiftCardRequest, currency: str, max_amount_minor: int) -> ParsedCard: ...
    async def create(
        self,
        uow: GiftCardUnitOfWork,
        network_id: int,
        currency: str,
        parsed: ParsedCard,
        partner_id: int | None,
        outlet_id: int | None,
        cashier_login: str | None = None,
    ) -> GiftCard: ...


async def prepare_sales(
    reader: GiftCardFundsReader | None, cards: Sequence[GiftCardSaleInput], currency: str, max_amount_minor: int
) -> tuple[ParsedCard, ...]:
    """The gift cards a purchase sells: amounts checked, PINs hashed (argon2, before the unit of work), numbers
    drawn now so that the answer stored with the purchase names them. Refusals name `gift_cards_sold[i].<field>`."""
    if reader is None:
        raise InvalidInput("this server sells no gift cards with purchases", field="gift_cards_sold")
    if len(cards) > MAX_TENDERS:
        raise InvalidInput(f"a purchase sells at most {MAX_TENDERS} gift cards", field="gift_cards_sold")
    parsed = []
    for index, card in enumerate(cards):
        request = GiftCardRequest(card.amount, pin=card.pin, valid_days=card.valid_days)
        try:
            one = await reader.parse(request, currency, max_amount_minor)
        except InvalidInput as error:
            raise InvalidInput(error.detail, field=f"gift_cards_sold[{index}].{error.field}") from None
        parsed.append(replace(one, number=generate_number()))
    return tuple(parsed)


def parse_tenders(tenders: tuple[TenderInput, ...], currency: str, max_amount_minor: int) -> tuple[TenderRequest, ...]:
    """Each tender's kind and amount (positive, at most the network's amount limit), naming `tenders[i].<field>`."""
    if len(tenders) > MAX_TENDERS:
        raise InvalidInput(f"a purchase has at most {MAX_TENDERS} tenders", field="tenders")
    parsed = []
    for index, tender in enumerate(tenders):
        try:
            kind = TenderKind(tender.kind)
        except ValueError:
            names = ", ".join(kind.value for kind in TenderKind)
            raise InvalidInput(
                f"'{tender.kind}' is not a tender: use {names}", field=f"tenders[{index}].kind"
            ) from None
        amount = None
        if tender.amount is not None:
            amount = parse_amount_minor(tender.amount, currency, field=f"tenders[{index}].amount")
            if amount <= 0 or amount > max_amount_minor:
                raise InvalidInput(
                    "a tender's amount is greater than zero and at most the purchase amount limit",
                    field=f"tenders[{index}].amount",
                )
        number = None
        if kind is TenderKind.GIFT_CARD:
            if not (tender.number or "").strip():
                raise InvalidInput("a gift card tender names the card's number", field=f"tenders[{index}].number")
            number = normalize_number(tender.number, field=f"tenders[{index}].number")
        parsed.append(TenderRequest(kind, amount, number, tender.pin))
    return tuple(parsed)


def names_gift_cards(tenders: Sequence[TenderInput]) -> bool:
    """Does the request pay with a gift card? (Such a purchase reads its cards first and is written locked.)"""
    return any(tender.kind == TenderKind.GIFT_CARD.value for tender in tenders)


async def read_gift_cards(
    reader: GiftCardFundsReader | None, ctx: TerminalContext, tenders: Sequence[TenderInput]
) -> tuple[GiftCardFunds, ...]:
    """The funds of every gift card the tenders name (each card once), after its PIN, before the purchase's unit of
    work. Refusals name the tender: `tenders[i].number` (unknown, another network's, blocked, expired, not yet valid,
    spent) or `tenders[i].pin` (missing, wrong, checks stopped)."""
    if len(tenders) > MAX_TENDERS:
        raise InvalidInput(f"a purchase has at most {MAX_TENDERS} tenders", field="tenders")
    found: dict[str, GiftCardFunds] = {}
    for index, tender in enumerate(tenders):
        if tender.kind != TenderKind.GIFT_CARD.value:
            continue
        field = f"tenders[{index}].number"
        if not (tender.number or "").strip():
            raise InvalidInput("a gift card tender names the card's number", field=field)
        number = normalize_number(tender.number, field=field)
        if number in found:
            continue
        if reader is None:
            raise InvalidInput("this server does not take gift cards as tenders", field=f"tenders[{index}]")
        found[number] = await reader.gift_card_funds(
            ctx, number, tender.pin, field=field, pin_field=f"tenders[{index}].pin"
        )
    return tuple(found.values())


def gift_card_funds(
    cards: Sequence[GiftCardFunds], tenders: Sequence[TenderRequest], currency: str
) -> tuple[Funds, ...]:
    """The cards as `decide` sees them; a card in another currency than the purchase's is refused naming it."""
    funds = []
    for card in cards:
        if card.currency != currency:
            index = next((i for i, t in enumerate(tenders) if t.gift_card_number == card.number), 0)
            raise InvalidInput(
                f"gift card {card.number} holds {card.currency}; this purchase is in {currency}",
                field=f"tenders[{index}].number",
            )
        funds.append(
            Funds(
                TenderKind.GIFT_CARD,
                card.account_id,
                card.currency,
                card.balance_minor,
                label=card.label,
                gift_card_number=card.number,
            )
        )
    return tuple(funds)


def gift_card_debits(
    applied: Sequence[TenderApplied], cards: Sequence[GiftCardFunds], tenders: Sequence[TenderRequest]
) -> list[tuple[GiftCardFunds, int, str]]:
    """What the purchase takes off each card (once per card, in the cards' id order so that two purchases debiting
    the same cards wait for each other instead of deadlocking), and the field a refusal names."""
    if not cards:  # most purchases (every batch item of a plain till): nothing to sort out
        return []
    by_account = {card.account_id: card for card in cards}
    amounts: dict[int, int] = {}
    for tender in applied:
        if tender.kind is TenderKind.GIFT_CARD:
            amounts[tender.account_id] = amounts.get(tender.account_id, 0) + tender.amount_minor
    debits = []
    for account_id, amount in amounts.items():
        card = by_account[account_id]
        index = next((i for i, t in enumerate(tenders) if t.gift_card_number == card.number), 0)
        field = f"tenders[{index}].amount" if tenders[index].amount_minor is not None else f"tenders[{index}]"
        debits.append((card, amount, field))
    return sorted(debits, key=lambda debit: debit[0].card_id)


async def debit_gift_cards(
    uow: GiftCardsPort, debits: Sequence[tuple[GiftCardFunds, int, str]], now: datetime
) -> list[int]:
    """Each card's guarded debit, in the purchase's unit of work: a card that no longer holds its amount (or was
    blocked or expired meanwhile) refuses the whole purchase (409 naming the tender). Each card's balance after."""
    return [await GiftCards.debit_in(uow, card, amount, now, field=field) for card, amount, field in debits]


def start_of_local_day(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(zone_named(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


def wallet_day(tenders: tuple[TenderRequest, ...], ctx: TerminalContext, now: datetime) -> datetime | None:
    """When a tender pays from the member's wallet: the start of the outlet's day, since which a daily limit counts
    what the wallet paid (read with the member: `peek_member_points_paying`); None when no tender does."""
    if any(tender.kind is TenderKind.WALLET for tender in tenders):
        return start_of_local_day(now, ctx.timezone)
    return None


async def load_funds(
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    member_id: int,
    currency: str,
    tenders: tuple[TenderRequest, ...],
    now: datetime,
    paying: PayingWallet | None = None,
    gift_cards: Sequence[GiftCardFunds] = (),
) -> tuple[Funds, ...]:
    """The funds the tenders name: the member's wallet and the gift cards (read before the unit of work,
    `read_gift_cards`); nothing when there are no tenders. `paying`: the wallet as the member's read returned it;
    without it (a quote, a batch) the wallet is read here. A daily limit counts what the wallet paid since the
    outlet's midnight (by the server's time)."""
    if not tenders:
        return ()
    funds: list[Funds] = []
    since = wallet_day(tenders, ctx, now)
    if since is not None:
        if paying is None:
            paying = await uow.wallet_for_payment(member_id, currency, since)
        funds.extend(paying.funds())
    funds.extend(gift_card_funds(gift_cards, tenders, currency))
    return tuple(funds)
