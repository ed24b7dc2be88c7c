"""The quote and the single purchase: load, decide, write.

The purchase's first try reads the member's points with their version and writes only if the version still holds
(two round trips, no lock); a purchase that needs more than one statement (an expiry sweep, coupons, a tier, gifts)
or that lost the race is retried with the member locked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from coalition.application.access import refuse_revoked
from coalition.application.basket import parse_basket, required_text
from coalition.application.catalogue_lines import completed_items
from coalition.application.commands import (
    MAX_RECEIPT_LENGTH,
    CommandResult,
    PurchaseInput,
    replay,
    require_usable_card,
)
from coalition.application.events import (
    GIFT_CARD_REDEEMED,
    GIFT_GRANTED,
    MEMBER_TIER_CHANGED,
    PURCHASE_RECORDED,
    gift_card_redeemed,
    gift_granted,
    purchase_recorded,
)
from coalition.application.gift_cards import GiftCardFunds, ParsedCard
from coalition.application.ports import (
    IdempotencyRecord,
    MemberRef,
    NewPurchase,
    PosUnitOfWork,
    PurchaseWrite,
    StoredResponse,
    TerminalContext,
)
from coalition.application.purchases.load import (
    accepted_coupons,
    checkout_context,
    find_member,
    lock_member_points,
    peek_member_points,
)
from coalition.application.purchases.results import QuoteResult, SoldCard
from coalition.application.purchases.support import PurchaseSupport
from coalition.application.purchases.write import Extras, purchase_record, purchase_result
from coalition.application.tenders import (
    debit_gift_cards,
    gift_card_debits,
    names_gift_cards,
    parse_tenders,
    prepare_sales,
    read_gift_cards,
    wallet_day,
)
from coalition.domain.checkout import CheckoutContext, Decision, Sale, decide
from coalition.domain.coupons import normalize_codes
from coalition.domain.errors import DomainError, InsufficientFunds
from coalition.domain.permissions import GIFT_CARD, Operation
from coalition.domain.purchase import has_expired_lots
from coalition.domain.tenders import TenderKind, TenderRequest


@dataclass(frozen=True, slots=True)
class PurchaseMade:
    """A purchase written for another command, as that command's answer reads it (in the same unit of work)."""

    member: MemberRef
    purchase: NewPurchase
    decision: Decision
    body: dict[str, Any]  # the purchase's own answer
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class MadeFor:
    """A purchase another command makes (a device's use paid with points: application/device_points.py): decided by
    `decide` (the pipeline's `decide` with that command's choices, e.g. the most points the rules allow), written
    under the member's lock, and answered by `answer` in the same unit of work. That answer is stored under the
    request's key; the purchase's own under `purchase_key` (so a retry replays the command's answer)."""

    decide: Callable[[CheckoutContext, Sale], Decision]
    answer: Callable[[PosUnitOfWork, PurchaseMade], Awaitable[dict[str, Any]]]
    purchase_key: str


class Purchases:
    def __init__(self, support: PurchaseSupport) -> None:
        self.support = support

    async def quote(self, ctx: TerminalContext, purchase: PurchaseInput) -> QuoteResult:
        """What the purchase would do, decided exactly as the purchase is; nothing is written."""
        support = self.support
        codes = normalize_codes(purchase.coupons)
        rules = await support.rule_set_at(ctx.network_id, purchase.occurred_at)
        cards = await read_gift_cards(support.gift_cards, ctx, purchase.tenders) if purchase.tenders else ()
        async with support.unit_of_work() as uow:
            pc = await support.program_context(uow, ctx.network_id)
            items = await completed_items(uow, ctx, purchase.items, pc.program.currency)
            check_minor, lines = parse_basket(pc.program, purchase.amount, items, pc.limits)
            tenders = parse_tenders(purchase.tenders, pc.program.currency, pc.limits.max_amount_minor)
            member = await find_member(uow, ctx, purchase.customer)
            require_usable_card(member)
            points = await uow.member_points(member)
            now = support.clock.now()
            moment = support.occurred_at_window.moment(purchase.occurred_at, now)
            coupons = await accepted_coupons(uow, ctx, member, codes, moment, lock=False)  # valid at the sale's time
            context = await checkout_context(
                support, uow, ctx, pc, rules, member, points, moment, coupons, tenders=tenders, gift_cards=cards
            )
        decision = decide(context, Sale(check_minor, lines, purchase.redeem_points, moment, tenders))
        return QuoteResult.of(pc.program, decision, tendered=bool(tenders))

    async def purchase(
        self,
        ctx: TerminalContext,
        purchase: PurchaseInput,
        idempotency_key: str | None,
        request_hash: str,
        made_for: MadeFor | None = None,
    ) -> CommandResult:
        support = self.support
        receipt = required_text(purchase.receipt, "receipt", MAX_RECEIPT_LENGTH)
        codes = normalize_codes(purchase.coupons)
        rules = await support.rule_set_at(ctx.network_id, purchase.occurred_at)  # before the unit of work
        cards: tuple[GiftCardFunds, ...] = ()
        sold: tuple[ParsedCard, ...] = ()
        if purchase.gift_cards_sold:  # cards sold with the goods: amounts checked, PINs hashed, numbers drawn
            async with support.unit_of_work() as uow:
                limits = await support.program_context(uow, ctx.network_id)
            sold = await prepare_sales(
                support.gift_cards, purchase.gift_cards_sold, limits.program.currency, limits.limits.max_amount_minor
            )
        if names_gift_cards(purchase.tenders):  # their PINs are checked before the unit of work, in units of their own
            try:
                cards = await read_gift_cards(support.gift_cards, ctx, purchase.tenders)
            except DomainError:  # a retry of a purchase that spent the card: its stored answer
                key = (idempotency_key or "").strip()
                stored = await support.stored_answer(ctx, key) if key else None
                if stored is None:
                    raise
                return replay(stored, request_hash)

        events = support.webhook_events  # a webhook listening: its message is one more statement, under the lock
        listened = events is not None and await events.listens(ctx.network_id, PURCHASE_RECORDED)

        async def record(uow: PosUnitOfWork, key: str, *, locked: bool) -> CommandResult | None:
            """Load, decide and write the purchase; None: the unlocked try must be retried under the lock."""
            if (cards or sold or made_for or listened) and not locked:
                return None  # a card's guarded debit or sale is more statements: written in a transaction, locked
            pc = await support.program_context(uow, ctx.network_id)
            program = pc.program
            items = await completed_items(uow, ctx, purchase.items, program.currency)
            check_minor, lines = parse_basket(program, purchase.amount, items, pc.limits)
            tenders = parse_tenders(purchase.tenders, program.currency, pc.limits.max_amount_minor)
            await support.require_cashier(uow, ctx, purchase.cashier)
            now = support.clock.now()
            moment = support.occurred_at_window.moment(purchase.occurred_at, now)
            since = wallet_day(tenders, ctx, now)  # a wallet's payment: the wallet is read with the member
            wallet = None if since is None else (program.currency, since)
            if locked:
                member, points, paying = await lock_member_points(uow, ctx, purchase.customer, wallet)
                expected_version = None
            else:
                member, points, expected_version, paying = await peek_member_points(uow, ctx, purchase.customer, wallet)
            require_usable_card(member)
            if has_expired_lots(points, now):
                if not locked:
                    return None  # sweeping writes more than one statement: do it under the lock
                points = await support.sweep_expired(uow, ctx.network_id, pc, member, points, now)
            if codes and not locked:
                return None  # coupons are checked and counted under their lock
            coupons = await accepted_coupons(uow, ctx, member, codes, moment, lock=True)  # at the sale's time
            context = await checkout_context(
                support,
                uow,
                ctx,
                pc,
                rules,
                member,
                points,
                moment,
                coupons,
                tenders=tenders,
                gift_cards=cards,
                paying=paying,
            )
            deciding = decide if made_for is None else made_for.decide
            decision = deciding(context, Sale(check_minor, lines, purchase.redeem_points, moment, tenders))
            if (decision.new_tier is not None or decision.coupons_issued or decision.gifts) and not locked:
                return None  # more than one statement: write them all under the lock, in one transaction
            if sold:  # the outlet sells cards where the matrix lets it (`top_up` on `gift_card`)
                context.matrix.require(ctx.outlet_id, ctx.outlet_name, GIFT_CARD, Operation.TOP_UP)
            new_purchase = purchase_record(ctx, purchase, member, receipt, lines, decision, moment)
            extras = Extras.of(decision, new_purchase.id, member.member_id, now)
            sold_cards = tuple(SoldCard(str(card.number), card.amount_minor) for card in sold)
            body = purchase_result(
                new_purchase, decision, extras, program.currency, tendered=bool(tenders), sold=sold_cards
            ).json()
            # written as JSON once (orjson, compact UTF-8): stored with the key and sent as the answer's bytes
            text = orjson.dumps(body).decode()
            write = PurchaseWrite(
                purchase=new_purchase,
                transaction=decision.transaction,
                lot_takes=decision.lot_takes,
                new_lots=decision.new_lots,
                balance_after=decision.balance_after,
                lifetime_spend_after_minor=decision.lifetime_spend_after_minor,
                idempotency=IdempotencyRecord(
                    ctx.terminal_id,
                    key if made_for is None else made_for.purchase_key,
                    StoredResponse(request_hash, 201, body, text),
                ),
                recorded_at=now,
                wallet_debits=decision.wallet_debits,
            )
            try:
                if not await uow.record_purchase(write, expected_version):
                    return None
            except InsufficientFunds as error:  # a concurrent payment got there first: the wallets' CHECK refused
                raise InsufficientFunds(error.detail, field=wallet_field(tenders)) from error
            if cards:  # after the member's lock, in the same transaction: a lost race rolls it all back
                debits = gift_card_debits(decision.tenders, cards, tenders)
                balances = await debit_gift_cards(uow, debits, now)
                if events is not None:
                    redeemed = [
                        (
                            f"gift_card_redeemed:{new_purchase.id}:{card.card_id}",
                            gift_card_redeemed(
                                card.number, card.currency, amount, left, new_purchase.id, ctx.outlet_id
                            ),
                        )
                        for (card, amount, _), left in zip(debits, balances, strict=True)
                    ]
                    await events.emit_many(uow, ctx.network_id, GIFT_CARD_REDEEMED, redeemed, now)
            for card in sold:  # each its GIFT_CARD_SALE: the outlet's partner's PREPAID −A, the card +A
                if support.gift_cards is None:
                    raise RuntimeError("gift cards sold without the gift cards' service")
                await support.gift_cards.create(
                    uow, ctx.network_id, program.currency, card, ctx.partner_id, ctx.outlet_id, purchase.cashier
                )
            if decision.new_tier is not None:
                await uow.set_member_labels(member.member_id, tier=decision.new_tier, segments=None)
            await extras.write(uow, ctx, context.accounts, program.money_asset, now)
            if listened and events is not None:  # in this transaction: the message exists iff the purchase does
                data = purchase_recorded(new_purchase, program.currency, decision.balance_after, now)
                await events.emit(uow, ctx.network_id, PURCHASE_RECORDED, f"purchase:{new_purchase.id}", data, now)
            if decision.new_tier is not None and events is not None:  # a tier is written under the lock too
                tier = {"member_id": member.member_id, "tier": decision.new_tier, "purchase_id": new_purchase.id}
                await events.emit(uow, ctx.network_id, MEMBER_TIER_CHANGED, f"tier:{new_purchase.id}", tier, now)
            for gift in extras.gifts:  # gifts are written under the lock anyway: no cost on the one-statement path
                if events is None:
                    break
                data = gift_granted(gift, new_purchase.id, ctx.outlet_id, program.currency)
                await events.emit(uow, ctx.network_id, GIFT_GRANTED, f"gift:{gift.id}", data, now)
            if made_for is not None:  # its answer, stored under the request's key by maybe_idempotent
                return CommandResult(
                    201, await made_for.answer(uow, PurchaseMade(member, new_purchase, decision, body, now))
                )
            return CommandResult(201, body, response_stored=True, body_json=text)

        async def unlocked(uow: PosUnitOfWork, key: str) -> CommandResult | None:
            return await record(uow, key, locked=False)

        async def locked(uow: PosUnitOfWork, key: str) -> CommandResult | None:
            if (result := await record(uow, key, locked=True)) is None:  # refused: may the till still act?
                await refuse_revoked(uow, ctx, purchase.cashier)
            return result

        if made_for is None:  # a purchase made for another command is written under the lock at once
            first = await support.maybe_idempotent(
                ctx, idempotency_key, request_hash, unlocked, look_up_first=False, autocommit=True
            )
            if first is not None:
                return first
        result = await support.maybe_idempotent(ctx, idempotency_key, request_hash, locked, look_up_first=False)
        if result is None:
            raise RuntimeError("a purchase under the member's lock was not written")
        return result


def wallet_field(tenders: tuple[TenderRequest, ...]) -> str:
    """The field a wallet's refusal names: its first tender's amount (or the tender, when it names none)."""
    for index, tender in enumerate(tenders):
        if tender.kind is TenderKind.WALLET:
            return f"tenders[{index}].amount" if tender.amount_minor is not None else f"tenders[{index}]"
    return "tenders"
