"""Refunds at the selling partner's till (POST /v1/purchases/{id}/refunds): by amount or by returned items, the
points prorated back, the gifts of a purchase refunded in full taken back, and what the `refund` rules give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.application.events import PURCHASE_REFUNDED, purchase_refunded
from coalition.application.ports import MemberRef, NewRefund, PosUnitOfWork, StoredPurchase, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult, CouponView, GrantedBonus, Refunded, ToGiftCard
from coalition.application.record_ids import new_record_id
from coalition.application.rule_events import evaluate_at, member_facts
from coalition.domain.bonus import BonusProgram
from coalition.domain.coupons import issued_coupon
from coalition.domain.errors import Conflict, InvalidInput, PurchaseNotFound, RefundNotAllowed
from coalition.domain.gift_cards import GiftCardStatus
from coalition.domain.gifts import GiftBreakage
from coalition.domain.ledger import AccountPurpose, OwnerKind, Posting, Transaction, TransactionKind, money_asset
from coalition.domain.money import format_quantity_milli, parse_amount_minor, parse_quantity_milli
from coalition.domain.refunds import PurchaseTotals, cumulative_share, plan_refund
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.model import Trigger
from coalition.domain.tenders import refund_to_sources
from coalition.domain.wallets import WalletStatus


@dataclass(frozen=True, slots=True)
class ReturnedItemInput:
    sku: str
    quantity: str | int


@dataclass(frozen=True, slots=True)
class RefundInput:
    amount: str | None = None
    items: tuple[ReturnedItemInput, ...] = ()
    cashier: str | None = None  # who gives the money back (an active cashier of the refunding outlet)
    # when the till gave the money back (an offline till uploading later): the refund's ledger time; None: now
    occurred_at: datetime | None = None
    # all that is left of the purchase, measured when the refund is recorded (the web terminal's offline refund:
    # the page cannot know what was refunded meanwhile); with neither an amount nor items
    whole: bool = False


@dataclass(frozen=True, slots=True)
class RefundRewards:
    """What the `refund` rules gave: a goodwill bonus (the balance after it) and coupons."""

    bonus: GrantedBonus | None = None
    points_balance: int | None = None
    coupons: tuple[CouponView, ...] = ()


async def refund(
    pos: PosParts,
    ctx: TerminalContext,
    purchase_id: str,
    refund: RefundInput,
    idempotency_key: str | None,
    request_hash: str,
) -> CommandResult[Refunded]:
    rules = await pos.rule_set_in_force(ctx.network_id)

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Refunded]:
        pc = await pos.program_context(uow, ctx.network_id)
        stored = await uow.purchase_for_refund(ctx.network_id, purchase_id)
        if stored is None or stored.partner_id != ctx.partner_id:  # another partner's: not found, not "forbidden"
            raise PurchaseNotFound(f"this outlet's partner has no purchase '{purchase_id}'", field="purchase_id")
        await pos.require_cashier(uow, ctx, refund.cashier)
        program = pc.program
        refund_minor, quantities = _refund_amount(program, stored, refund)
        now = pos.clock.now()
        moment = pos.occurred_at_window.moment(refund.occurred_at, now)  # the till's time, inside the window
        if refund.occurred_at is not None and stored.occurred_at is not None:
            moment = refund_moment(moment, stored.occurred_at)
        member = MemberRef(stored.member_id, "", stored.points_account_id, None, None, None)
        state = await pos.swept_points(uow, ctx, pc, member, now)
        accounts = await pos.points_accounts(uow, ctx, pc, member)
        # after the sweep, so points of the sale that expired just now count as expired, not as still there
        expired = 0
        if stored.tx_id is not None and stored.points_earned:
            expired = await uow.points_expired_of(stored.tx_id, stored.points_account_id)
        plan = plan_refund(program, accounts, state, _totals(stored, expired), refund_minor, now)
        back = await _to_tenders(uow, ctx, program.currency, stored, refund_minor, now)
        transaction = plan.transaction
        if back.postings:
            postings = (*(transaction.postings if transaction is not None else ()), *back.postings)
            transaction = Transaction(TransactionKind.REFUND, postings)
        to_wallet_minor = sum(amount for _, amount in back.wallets)
        money_back_minor = plan.money_back_minor - to_wallet_minor - sum(card.amount_minor for card in back.cards)
        tx_id = None
        if transaction is not None:
            tx = transaction
            if stored.tx_id is not None:
                tx = type(tx)(tx.kind, tx.postings, reverses_tx_id=stored.tx_id, memo=f"refund of {stored.id}")
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, moment, now)
            await uow.apply_lots(tx_id, stored.points_account_id, plan.lot_takes, plan.new_lots)
        for account_id, amount in back.wallets:
            await uow.add_to_wallet(account_id, amount)
        for card in back.cards:
            await uow.credit_gift_card(card.card_id, card.amount_minor)
        await uow.set_member_points(
            stored.member_id, stored.points_account_id, plan.balance_after, plan.lifetime_spend_after_minor
        )
        refund_id = new_record_id()
        new_refund = NewRefund(
            id=refund_id,
            purchase_id=stored.id,
            terminal_id=ctx.terminal_id,
            refund_minor=refund_minor,
            money_back_minor=money_back_minor,
            points_clawed_back=plan.points_clawed_back,
            points_returned=plan.points_returned,
            quantities_milli=quantities,
            cashier_login=refund.cashier,
        )
        await uow.insert_refund(new_refund, tx_id, now)
        data = purchase_refunded(new_refund, stored.member_id, program.currency)
        await pos.emit(uow, ctx.network_id, PURCHASE_REFUNDED, f"refund:{refund_id}", data, now)
        left_minor = stored.check_minor - stored.refunded_before_minor - refund_minor
        revoked = await _revoke_gifts(pos, uow, ctx, stored.id, now) if left_minor == 0 else []
        rewards = await _refund_rules(pos, uow, ctx, rules, member, stored.id, refund_minor, now)
        refunded = Refunded(
            id=refund_id,
            purchase_id=stored.id,
            amount_minor=refund_minor,
            money_back_minor=money_back_minor,
            currency=program.currency,
            points_clawed_back=plan.points_clawed_back,
            points_returned=plan.points_returned,
            # a goodwill bonus changes the balance
            points_balance=plan.balance_after if rewards.points_balance is None else rewards.points_balance,
            refundable_left_minor=left_minor,
            gifts_revoked=tuple(revoked),
            bonus=rewards.bonus,
            coupons_issued=rewards.coupons,
            to_wallet_minor=to_wallet_minor if back.wallets else None,
            to_gift_cards=tuple(ToGiftCard(card.number, card.amount_minor) for card in back.cards)
            if back.paid_by_card
            else None,
        )
        return pos.answered(201, refunded)

    result: CommandResult[Refunded] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


@dataclass(frozen=True, slots=True)
class _CardBack:
    card_id: int
    account_id: int
    number: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class _Back:
    """What a refund returns to the tenders that paid: (wallet account, amount), the gift cards, the postings."""

    wallets: tuple[tuple[int, int], ...] = ()
    cards: tuple[_CardBack, ...] = ()
    postings: tuple[Posting, ...] = ()
    paid_by_card: bool = False


async def _to_tenders(
    uow: PosUnitOfWork, ctx: TerminalContext, currency: str, stored: StoredPurchase, refund_minor: int, now: datetime
) -> _Back:
    """The refund's share of what the member's wallets and gift cards paid, back into them (reverse order of the
    tenders, each prorated like the rest of the refund), from the refunding partner's PREPAID account. A closed
    wallet refuses it (409 naming `wallet`). A gift card that expired since takes nothing back: its share is given
    back at the till with the rest (`money_back`), and the partner's PREPAID keeps what the card paid it — the
    partner paid it out. A blocked card takes its share back (it stays blocked; the administrator decides)."""
    if stored.tx_id is None:
        return _Back()
    sources = (AccountPurpose.MEMBER_WALLET.value, AccountPurpose.GIFT_CARD.value)
    paid = [t for t in await uow.paid_tenders(stored.tx_id) if t.purpose in sources]
    if not paid:
        return _Back()
    purposes = {t.account_id: t.purpose for t in paid}
    returns, _ = refund_to_sources(
        [(t.account_id, t.amount_minor) for t in paid],
        stored.refunded_before_minor,
        refund_minor,
        stored.check_minor,
        0,
        money_asset(currency),
    )
    wallets: list[tuple[int, int]] = []
    cards: list[_CardBack] = []
    for account_id, share in returns:
        if purposes[account_id] == AccountPurpose.MEMBER_WALLET.value:
            wallet = await uow.wallet_of_account(account_id)
            if wallet is None or wallet.status is WalletStatus.CLOSED:
                raise Conflict("the member's wallet is closed: it takes no refunds", field="wallet")
            wallets.append((account_id, share))
            continue
        card = await uow.gift_card_of_account(account_id)
        if card is None:
            raise LookupError(f"no gift card has account {account_id}")
        if card.status is not GiftCardStatus.EXPIRED and now < card.valid_until:
            cards.append(_CardBack(card.id, account_id, card.number, share))
    paid_by_card = any(purpose == AccountPurpose.GIFT_CARD.value for purpose in purposes.values())
    total = sum(share for _, share in wallets) + sum(card.amount_minor for card in cards)
    if not total:
        return _Back(paid_by_card=paid_by_card)
    asset = money_asset(currency)
    prepaid = await uow.prepaid_account(ctx.network_id, OwnerKind.PARTNER, ctx.partner_id, currency)
    back = dict(wallets) | {card.account_id: card.amount_minor for card in cards}
    postings = (
        Posting(prepaid, asset, -total),
        *(Posting(account, asset, share) for account, share in returns if account in back),
    )
    return _Back(tuple(wallets), tuple(cards), postings, paid_by_card)


async def _refund_rules(
    pos: PosParts,
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    rules: CompiledRuleSet | None,
    member: MemberRef,
    purchase_id: str,
    refund_minor: int,
    now: datetime,
) -> RefundRewards:
    """What the `refund` rules that apply at this outlet give on a refund of `refund_minor` (the basket is one line
    of that amount): their fixed points as a goodwill bonus, and their coupons."""
    if rules is None or not rules.candidates(Trigger.REFUND, ctx.partner_name, ctx.outlet_name):
        return RefundRewards()  # most networks: no read of the member beyond the refund's own
    state = await uow.member_points(member)  # after the refund
    history = await pos.read_member_history(uow, rules, ctx, member, now)
    facts = member_facts(history, state.lifetime_spend_minor, state.balance)
    evaluation = evaluate_at(rules, Trigger.REFUND, facts, ctx, now, total_minor=refund_minor)
    if evaluation is None:
        return RefundRewards()
    bonus = await pos.event_bonus(uow, ctx, member, Trigger.REFUND, evaluation, now, state)
    coupons = tuple(
        issued_coupon(effect.campaign, member.member_id, effect.valid_days, effect.uses, now, purchase_id)
        for _, effect in evaluation.coupons
    )
    if coupons:
        await uow.add_coupons(ctx.network_id, coupons, now)
    return RefundRewards(
        bonus=bonus,
        points_balance=state.balance + bonus.points if bonus is not None else None,
        coupons=tuple(CouponView.of(coupon) for coupon in coupons),
    )


async def _revoke_gifts(
    pos: PosParts, uow: PosUnitOfWork, ctx: TerminalContext, purchase_id: str, now: datetime
) -> list[str]:
    """A purchase refunded in full takes back the gifts it granted that were not handed over yet: the refund
    reverses its share of every obligation, so the granting partner owes nothing for them."""
    revoked = []
    for gift_id, grant_tx_id in await uow.open_gifts_of_purchase(purchase_id):
        why = f"revoked by the refund of {purchase_id}"
        if await pos.expire_gift(uow, ctx.network_id, gift_id, grant_tx_id, GiftBreakage.RELEASED, now, why):
            revoked.append(gift_id)
    return revoked


def refund_moment(stated: datetime, purchase_at: datetime) -> datetime:
    """When a refund the till dated counts: its stated time, or the purchase's when both fall in one second (a till's
    clock, the web terminal's offline queue among them, often counts whole seconds, and a sale recorded at
    10:00:00.700 refunded at once is stated as 10:00:00). Earlier than the purchase's second is refused."""
    if stated >= purchase_at:
        return stated
    if stated < purchase_at.replace(microsecond=0):
        raise InvalidInput("a refund cannot be dated before its purchase", field="occurred_at")
    return purchase_at


def _refund_amount(program: BonusProgram, stored: StoredPurchase, refund: RefundInput) -> tuple[int, dict[str, int]]:
    """The refund measured on the check total before points, from an amount, from returned items or the whole rest."""
    if refund.whole:
        if refund.amount is not None or refund.items:
            raise InvalidInput("a refund of the whole rest names neither an amount nor items", field="amount")
        left = stored.check_minor - stored.refunded_before_minor
        if left <= 0:
            raise RefundNotAllowed("this purchase is refunded in full already", field="amount")
        return left, {}
    if (refund.amount is None) == (not refund.items):
        raise InvalidInput("send either the refund 'amount' or the returned 'items'", field="amount")
    if refund.amount is not None:
        return parse_amount_minor(refund.amount, program.currency, field="amount"), {}
    if not stored.lines:
        raise InvalidInput("this purchase was recorded without items; refund it by amount", field="items")
    quantities: dict[str, int] = {}
    for index, item in enumerate(refund.items):
        quantity = parse_quantity_milli(item.quantity, field=f"items[{index}].quantity")
        quantities[item.sku] = quantities.get(item.sku, 0) + quantity
    total = 0
    for index, (sku, quantity) in enumerate(quantities.items()):
        sku_lines = [line for line in stored.lines if line.sku == sku]
        if not sku_lines:
            raise InvalidInput(f"item '{sku}' is not on this purchase", field=f"items[{index}].sku")
        bought = sum(line.quantity_milli for line in sku_lines)
        before = stored.refunded_quantity_milli.get(sku, 0)
        if before + quantity > bought:
            raise RefundNotAllowed(
                f"item '{sku}': {format_quantity_milli(bought - before)} of {format_quantity_milli(bought)} "
                "left to return",
                field=f"items[{index}].quantity",
            )
        total += cumulative_share(sum(line.total_minor for line in sku_lines), before, quantity, bought)
    return total, quantities


def _totals(stored: StoredPurchase, expired: int) -> PurchaseTotals:
    return PurchaseTotals(
        check_minor=stored.check_minor,
        amount_due_minor=stored.amount_due_minor,
        points_earned=stored.points_earned,
        points_redeemed=stored.points_redeemed,
        refunded_before_minor=stored.refunded_before_minor,
        spent=stored.spent,
        earned_gone=expired + stored.clawed_back_before,
    )
