"""Gift cards at the till (issue 14, point 2): sold at an outlet (the sale earns no points: it is money changing
form, not a purchase), balance enquiry, and what a purchase's tender needs — the card's funds after its PIN
(`gift_card_funds`) and the guarded debit inside the purchase's unit of work (`debit_in`).

A sale writes one GIFT_CARD_SALE transaction (the selling partner's PREPAID −A, the card +A) with the card, once
per Idempotency-Key like every till write. PINs are argon2id hashes; a PIN check counts as a wrong attempt before
argon2 runs (and is cleared when the PIN is right), so a burst of parallel guesses cannot pass the limit of
`domain.gift_cards.MAX_PIN_ATTEMPTS`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
import anyio.to_thread

from coalition.application.basket import required_text
from coalition.application.commands import MAX_IDEMPOTENCY_KEY_LENGTH, DuplicateKey, replay
from coalition.application.events import GIFT_CARD_SOLD
from coalition.application.ports import Clock, PosUnitOfWork, StoredResponse, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_ports.gift_cards import GiftCardsPort, NewGiftCard
from coalition.application.pos_results import AnswerJson, CommandResult
from coalition.application.rate_limits import Rate, TokenBuckets, retry_after_seconds
from coalition.application.security import hash_password, password_matches
from coalition.domain.errors import Conflict, InvalidInput, RateLimited
from coalition.domain.gift_cards import (
    GiftCard,
    GiftCardStatus,
    PinAttempts,
    counted_wrong_pin,
    generate_number,
    normalize_number,
    not_found,
    parse_pin,
    parse_valid_days,
    require_amount,
    require_usable,
    reserve_pin_check,
    sale_transaction,
    wrong_pin,
)
from coalition.domain.money import parse_amount_minor
from coalition.domain.permissions import GIFT_CARD, Operation

PIN_CHECKS_AT_ONCE = 4  # argon2id takes tens of milliseconds and 64 MiB: off the event loop, a few at a time
TOO_MANY_MISSES = "too many gift card numbers that found no card from this till; try again in a minute"


class GiftCardUnitOfWork(PosUnitOfWork, GiftCardsPort, Protocol):
    """The POS unit of work with the gift cards' port (the SQL one has both)."""


class GiftCardUnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False) -> AbstractAsyncContextManager[GiftCardUnitOfWork]: ...


@dataclass(frozen=True, slots=True)
class GiftCardRequest:
    """A card to sell (at a till) or issue (the administrator): amount as a decimal string of the network's currency."""

    amount: str
    currency: str | None = None  # the network's, when given at all
    pin: str | None = None
    valid_days: int | None = None
    number: str | None = None  # a pre-printed card's number; generated when None
    cashier: str | None = None  # the login of the cashier who took the money (a sale at a till)


@dataclass(frozen=True, slots=True)
class GiftCardView:
    """A card as the till and the administrator see it (never its PIN or hash)."""

    number: str
    currency: str
    initial_minor: int
    balance_minor: int
    status: str
    valid_from: datetime
    valid_until: datetime
    has_pin: bool
    sold_at_outlet_id: int | None  # None: the administrator issued it

    @classmethod
    def of(cls, card: GiftCard, now: datetime | None = None) -> GiftCardView:
        status = card.status
        if now is not None and status is GiftCardStatus.ACTIVE and now >= card.valid_until:
            status = GiftCardStatus.EXPIRED  # not swept yet, but nothing can be spent
        return cls(
            card.number,
            card.currency,
            card.initial_minor,
            card.balance_minor,
            status.value,
            card.valid_from,
            card.valid_until,
            card.has_pin,
            card.seller_outlet_id,
        )


@dataclass(frozen=True, slots=True)
class GiftCardFunds:
    """What a gift card can pay, for the purchase's tenders: the shape of MONEY.md's `Funds` (kind, account,
    currency, balance, floor) plus the card to debit. The tender wiring turns it into `domain.tenders.Funds`."""

    card_id: int
    number: str
    account_id: int
    currency: str
    balance_minor: int
    floor_minor: int = 0  # a card never goes below zero
    kind: str = "gift_card"

    @property
    def label(self) -> str:
        return f"gift card …{self.number[-4:]}"


@dataclass(frozen=True, slots=True)
class ParsedCard:
    amount_minor: int
    pin_hash: str | None
    valid_days: int
    number: str | None


class GiftCards:
    """The till's gift-card commands and queries, and the administrator's (application.gift_card_admin) base."""

    def __init__(
        self,
        unit_of_work: GiftCardUnitOfWorkFactory,
        pos: PosParts,
        clock: Clock,
        answer_json: AnswerJson,
        misses: Rate | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.pos = pos
        self.clock = clock
        self.answer_json = answer_json
        self._pin_checks = anyio.CapacityLimiter(PIN_CHECKS_AT_ONCE)
        # a till's lookups that find no card, budgeted like member lookups (an administrator's numbers may be short)
        self._misses = TokenBuckets(misses) if misses else None
        self._monotonic = monotonic

    # --- the till ---------------------------------------------------------------------------------------------

    async def sell(
        self, ctx: TerminalContext, request: GiftCardRequest, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[GiftCardView]:
        """Sell a card at this outlet: the outlet's partner took the money and owes it to the node (its PREPAID)."""
        async with self.unit_of_work() as uow:
            pc = await self.pos.program_context(uow, ctx.network_id)
        parsed = await self.parse(request, pc.program.currency, pc.limits.max_amount_minor)

        async def record(uow: GiftCardUnitOfWork, _key: str) -> CommandResult[GiftCardView]:
            matrix = await self.pos.matrix(uow, ctx.network_id)
            matrix.require(ctx.outlet_id, ctx.outlet_name, GIFT_CARD, Operation.TOP_UP)
            await self.pos.require_cashier(uow, ctx, request.cashier)
            card = await self.create(
                uow, ctx.network_id, pc.program.currency, parsed, ctx.partner_id, ctx.outlet_id, request.cashier
            )
            return CommandResult(201, self.answer_json(GiftCardView.of(card)), result=GiftCardView.of(card))

        return await self._idempotent(ctx, idempotency_key, request_hash, record)

    async def enquiry(self, ctx: TerminalContext, number: str, pin: str | None) -> GiftCardView:
        """The card's balance and validity; a card with a PIN needs it (wrong ones counted). The number is the
        path's (`card_number`)."""
        card = await self.checked_card(ctx.network_id, number, pin, field="card_number", terminal_id=ctx.terminal_id)
        return GiftCardView.of(card, self.clock.now())

    async def gift_card_funds(
        self, ctx: TerminalContext, number: str, pin: str | None, *, field: str = "number", pin_field: str = "pin"
    ) -> GiftCardFunds:
        """What the card can pay now, after its PIN: refused (naming `field`) when it is blocked, expired, not yet
        valid, spent or of no card of this network. Read outside the purchase's unit of work; the purchase then
        posts `redemption_postings` and calls `debit_in`, whose guard decides a race."""
        card = await self.checked_card(
            ctx.network_id, number, pin, field=field, pin_field=pin_field, terminal_id=ctx.terminal_id
        )
        require_usable(card, ctx.network_id, self.clock.now(), field=field)
        return GiftCardFunds(card.id, card.number, card.account_id, card.currency, card.balance_minor)

    @staticmethod
    async def debit_in(
        uow: GiftCardsPort, funds: GiftCardFunds, amount_minor: int, now: datetime, *, field: str = "amount"
    ) -> int:
        """Take `amount_minor` off the card inside the purchase's unit of work (with its postings); the balance
        after. A card spent, blocked or expired meanwhile refuses the whole purchase (409, nothing written)."""
        left = await uow.debit_gift_card(funds.card_id, amount_minor, now)
        if left is None:
            raise Conflict(
                f"gift card {funds.number} no longer holds {amount_minor} minor units (spent, blocked or expired "
                "meanwhile); ask the card again",
                field=field,
            )
        return left

    # --- shared with the administrator ------------------------------------------------------------------------

    async def parse(self, request: GiftCardRequest, currency: str, max_amount_minor: int) -> ParsedCard:
        if request.currency is not None and request.currency.strip().upper() != currency:
            raise InvalidInput(f"gift cards of this network are in {currency}", field="currency")
        amount_minor = parse_amount_minor(request.amount, currency, field="amount")
        require_amount(amount_minor, max_amount_minor, currency)
        valid_days = parse_valid_days(request.valid_days)
        number = None if request.number is None else normalize_number(request.number)
        pin_hash = None
        if request.pin is not None:
            pin_hash = await anyio.to_thread.run_sync(hash_password, parse_pin(request.pin), limiter=self._pin_checks)
        return ParsedCard(amount_minor, pin_hash, valid_days, number)

    async def create(
        self,
        uow: GiftCardUnitOfWork,
        network_id: int,
        currency: str,
        parsed: ParsedCard,
        partner_id: int | None,
        outlet_id: int | None,
        cashier_login: str | None = None,
    ) -> GiftCard:
        """The card, its account and its GIFT_CARD_SALE transaction (the seller's PREPAID, or the node's)."""
        now = self.clock.now()
        number = parsed.number or generate_number()
        if parsed.number is not None and await uow.gift_card(network_id, number) is not None:
            raise Conflict(f"this network has a gift card {number} already", field="number")
        new = NewGiftCard(
            network_id,
            number,
            parsed.pin_hash,
            currency,
            parsed.amount_minor,
            now,
            now + timedelta(days=parsed.valid_days),
            partner_id,
            outlet_id,
        )
        card = await uow.insert_gift_card(new, now)
        asset = f"money:{currency}"
        seller = await uow.party_prepaid_account(network_id, partner_id, asset)
        who = "issued by the administrator" if partner_id is None else "sold"
        tx = sale_transaction(seller, card.account_id, asset, parsed.amount_minor, f"gift card {number} {who}")
        tx_id = await uow.post(network_id, tx, outlet_id, now, now, cashier_login=cashier_login)
        await uow.record_gift_card_sale(card.id, tx_id, parsed.amount_minor)
        found = await uow.gift_card_by_id(card.id)
        if found is None:
            raise LookupError(f"gift card {card.id} vanished")
        if partner_id is not None:  # sold at a till (alone or with a purchase); an administrator's issue is no sale
            data = {
                "card_number": found.number,
                "currency": currency,
                "amount_minor": parsed.amount_minor,
                "valid_until": found.valid_until.isoformat(),
                "has_pin": found.has_pin,
                "partner_id": partner_id,
                "outlet_id": outlet_id,
                "cashier": cashier_login,
                "transaction_id": tx_id,
                "sold_at": now.isoformat(),
            }
            await self.pos.emit(uow, network_id, GIFT_CARD_SOLD, f"gift_card_sold:{found.id}", data, now)
        return found

    async def checked_card(
        self,
        network_id: int,
        number: str,
        pin: str | None,
        *,
        field: str = "number",
        pin_field: str = "pin",
        terminal_id: int | None = None,
    ) -> GiftCard:
        """The card of this number, its PIN checked when it has one. A check counts as a wrong attempt before
        argon2 runs and is cleared when the PIN is right. A till's lookup that finds no card spends one of its
        misses (taken before the lookup, given back when it finds one, so lookups at once cannot overdraw it)."""
        normalized = normalize_number(number, field=field)
        if self._misses is not None and terminal_id is not None:
            wait = self._misses.take(terminal_id, self._monotonic())
            if wait:
                raise RateLimited(TOO_MANY_MISSES, field=field, retry_after_seconds=retry_after_seconds(wait))
        async with self.unit_of_work() as uow:
            card = await uow.gift_card(network_id, normalized)
        if card is None:
            raise not_found(normalized, field=field)
        if self._misses is not None and terminal_id is not None:
            self._misses.give_back(terminal_id, self._monotonic())
        if card.pin_hash is None:
            return card
        if pin is None or not pin.strip():
            raise InvalidInput(f"gift card {card.number} has a PIN: send it", field=pin_field)
        typed = parse_pin(pin, field=pin_field)
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            locked = await uow.gift_card_by_id(card.id, lock=True)
            if locked is None:
                raise not_found(normalized, field=field)
            counted = reserve_pin_check(locked, now, field=pin_field)
            await uow.record_pin_attempts(card.id, counted, None)
        check: Callable[[str, str], bool] = password_matches
        if await anyio.to_thread.run_sync(check, card.pin_hash, typed, limiter=self._pin_checks):
            async with self.unit_of_work() as uow:
                await uow.record_pin_attempts(card.id, 0, None)
            return locked
        async with self.unit_of_work() as uow:  # the count as it is now: other checks may have ended meanwhile
            current = await uow.gift_card_by_id(card.id, lock=True)
            if current is not None and current.pin_locked_until is not None and now < current.pin_locked_until:
                attempts = PinAttempts(0, current.pin_locked_until)  # another wrong PIN stopped it meanwhile
            else:  # a right PIN meanwhile cleared the count: this wrong one still counts
                failed = max(current.failed_pin_attempts if current is not None else counted, 1)
                attempts = counted_wrong_pin(failed, now)
                await uow.record_pin_attempts(card.id, attempts.failed, attempts.locked_until)
        raise wrong_pin(locked, attempts, field=pin_field)

    # --- idempotency (as PosService.maybe_idempotent, on this unit of work) --------------------------------------

    async def _idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[GiftCardUnitOfWork, str], Awaitable[CommandResult[Any]]],
    ) -> CommandResult[Any]:
        key = required_text(idempotency_key, "Idempotency-Key", MAX_IDEMPOTENCY_KEY_LENGTH)
        try:
            async with self.unit_of_work() as uow:
                stored = await uow.stored_response(ctx.terminal_id, key)
                if stored is not None:
                    return replay(stored, request_hash)
                result = await operation(uow, key)
                response = StoredResponse(request_hash, result.status_code, result.body)
                await uow.store_response(ctx.terminal_id, key, response, self.clock.now())
                return result
        except DuplicateKey:
            # a concurrent request with the same key committed first: this one is its retry
            async with self.unit_of_work() as uow:
                stored = await uow.stored_response(ctx.terminal_id, key)
            if stored is None:
                raise Conflict(
                    "this gift card number was taken at the same moment; try again", field="number"
                ) from None
            return replay(stored, request_hash)
