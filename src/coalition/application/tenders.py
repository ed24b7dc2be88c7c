"""A purchase's tenders from the request, and the funds they name read for `decide` (issue 14): only when the
request has tenders, so a purchase without them reads nothing more.

Gift cards are read BEFORE the purchase's unit of work (`read_gift_cards`: their PIN checks have units of work of
their own, and argon2 runs off the event loop), then handed to `load_funds` as `Funds`; the purchase's write takes
the money off each card with a guarded statement in its own transaction (`debit_gift_cards`), so a card spent
meanwhile refuses the whole purchase (409, nothing written) and never goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from coalition.application.commands import TenderInput, zone_named
from coalition.application.gift_cards import GiftCardFunds, GiftCards
from coalition.application.ports import PosUnitOfWork, TerminalContext
from coalition.application.pos_ports.gift_cards import GiftCardsPort
from coalition.domain.errors import InvalidInput
from coalition.domain.gift_cards import normalize_number
from coalition.domain.ledger import OwnerKind
from coalition.domain.money import parse_amount_minor
from coalition.domain.tenders import MAX_TENDERS, Funds, TenderApplied, TenderKind, TenderRequest


class GiftCardFundsReader(Protocol):
    """What a purchase uses of the gift cards' service: a card's funds after its PIN (application.gift_cards)."""

    async def gift_card_funds(
        self, ctx: TerminalContext, number: str, pin: str | None, *, field: str = "number", pin_field: str = "pin"
    ) -> GiftCardFunds: ...


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


async def debit_gift_cards(uow: GiftCardsPort, debits: Sequence[tuple[GiftCardFunds, int, str]], now: datetime) -> None:
    """Each card's guarded debit, in the purchase's unit of work: a card that no longer holds its amount (or was
    blocked or expired meanwhile) refuses the whole purchase (409 naming the tender)."""
    for card, amount, field in debits:
        await GiftCards.debit_in(uow, card, amount, now, field=field)


def start_of_local_day(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(zone_named(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


async def load_funds(
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    member_id: int,
    currency: str,
    tenders: tuple[TenderRequest, ...],
    now: datetime,
    gift_cards: Sequence[GiftCardFunds] = (),
) -> tuple[tuple[Funds, ...], int | None]:
    """The funds the tenders name (the member's wallet; the gift cards read before, `read_gift_cards`) and the
    outlet's partner's PREPAID account; nothing when there are no tenders. A daily limit counts what the wallet paid
    since the outlet's midnight (by the server's time)."""
    if not tenders:
        return (), None
    funds: list[Funds] = []
    prepaid: int | None = None
    if any(tender.kind is TenderKind.WALLET for tender in tenders):
        since = start_of_local_day(now, ctx.timezone)
        wallet, spent, prepaid = await uow.wallet_for_payment(
            ctx.network_id, member_id, ctx.partner_id, currency, since
        )
        if wallet is not None:
            funds.append(wallet.funds(spent))
    funds.extend(gift_card_funds(gift_cards, tenders, currency))
    if prepaid is None:  # the partner's first payment from prepaid money: its account is created
        prepaid = await uow.prepaid_account(ctx.network_id, OwnerKind.PARTNER, ctx.partner_id, currency)
    return tuple(funds), prepaid
