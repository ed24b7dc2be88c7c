"""Many purchases in one request (offline tills uploading, integrations): decided in memory, written set-based.

One unit of work reads every key, member and receipt the batch names in a few queries (members locked in id order),
decides each purchase in input order with the same `decide` as a single purchase — later purchases of a member see
the balance the earlier ones left, and an offline sale is priced by the rule set in force when it happened — and
writes everything in a few set-based statements. Each item carries its own idempotency key and gets its own answer:
an item the rules refuse writes nothing and does not stop the others; a broken invariant (a bug, not a refusal)
fails the whole request and writes nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

import orjson

from coalition.application.basket import parse_basket
from coalition.application.catalogue_lines import completed_baskets
from coalition.application.commands import (
    CommandResult,
    DuplicateKey,
    PurchaseInput,
    replay,
    require_usable_card,
)
from coalition.application.events import (
    GIFT_CARD_REDEEMED,
    GIFT_GRANTED,
    PURCHASE_RECORDED,
    gift_card_redeemed,
    gift_granted,
    purchase_recorded,
)
from coalition.application.gift_cards import GiftCardFunds
from coalition.application.ports import (
    IdempotencyRecord,
    LedgerBatch,
    LotWrite,
    MemberPointsWrite,
    MemberRef,
    NewPurchase,
    PlannedTransaction,
    PosUnitOfWork,
    ProgramContext,
    StoredResponse,
    TerminalContext,
)
from coalition.application.purchases.load import checkout_context
from coalition.application.purchases.support import PurchaseSupport
from coalition.application.purchases.write import Extras, purchase_record, purchase_result
from coalition.application.tenders import (
    debit_gift_cards,
    gift_card_debits,
    names_gift_cards,
    parse_tenders,
    read_gift_cards,
)
from coalition.application.webhooks import WebhookEvents
from coalition.domain.checkout import Sale, decide
from coalition.domain.coupons import Coupon, accept_coupons, normalize_codes
from coalition.domain.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    LedgerInvariantViolated,
    MemberNotFound,
)
from coalition.domain.identifiers import lookup_candidates
from coalition.domain.lots import Lot, LotTake
from coalition.domain.permissions import Matrix
from coalition.domain.purchase import (
    BasketLine,
    MemberPoints,
    NewLot,
    PointsAccounts,
    after_expiry,
    has_expired_lots,
    plan_expiry,
)
from coalition.domain.records import fast_init
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.pricing import most_lots_per_purchase
from coalition.domain.tenders import Funds, TenderKind

MAX_BATCH_SIZE = 1000


def _compact_json(body: dict[str, object]) -> str:
    """Each answer is written as JSON once: stored with its key and spliced into the batch's answer (the HTTP layer).
    orjson: several times faster than the stdlib's encoder for these small dicts of strings and integers (about 7 %
    of a batch's server CPU with json); compact, UTF-8 like the rest of the API's answers."""
    return orjson.dumps(body).decode()


@fast_init
@dataclass(frozen=True, slots=True)
class BatchItem:
    idempotency_key: str | None
    request_hash: str
    purchase: PurchaseInput


Outcome = CommandResult | DomainError

# Errors that are bugs, not a purchase the rules refuse: the whole unit of work is rolled back and the request fails.
INVARIANT_BREAKS: tuple[type[DomainError], ...] = (LedgerInvariantViolated,)


def refusal(error: DomainError) -> DomainError:
    """The error as one item's answer (a 4xx of its own); an invariant break is raised instead."""
    if isinstance(error, INVARIANT_BREAKS):
        raise error
    return error


class _Ids:
    """Ids allocated up front for the batch's transactions and lots."""

    def __init__(self, ids: list[int]) -> None:
        self._ids = ids
        self._next = 0

    def take(self) -> int:
        if self._next >= len(self._ids):
            raise RuntimeError("the batch used more ids than were allocated for it")
        taken = self._ids[self._next]
        self._next += 1
        return taken


class BatchRecorder:
    def __init__(self, service: PurchaseSupport, ctx: TerminalContext) -> None:
        self.service = service
        self.ctx = ctx

    async def run(self, items: Sequence[BatchItem]) -> list[Outcome]:
        if not 1 <= len(items) <= MAX_BATCH_SIZE:
            raise InvalidInput(f"a batch has 1 to {MAX_BATCH_SIZE} purchases", field="purchases")
        with _collector_spaced_out():
            try:
                return await self._attempt(items)
            except DuplicateKey:  # a concurrent request took a key or receipt first: replan once, seeing it
                return await self._attempt(items)

    async def _attempt(self, items: Sequence[BatchItem]) -> list[Outcome]:
        service, ctx = self.service, self.ctx
        outcomes: list[Outcome | None] = [None] * len(items)
        # the rule sets before the unit of work (they have their own): today's, and those in force when each
        # offline sale happened
        rules = await service.rule_set_in_force(ctx.network_id)
        moments = {item.purchase.occurred_at for item in items if item.purchase.occurred_at is not None}
        rules_then = {moment: await service.rule_set_at(ctx.network_id, moment) for moment in moments}
        cards = await self._gift_cards(items)  # PINs checked before the unit of work (units of their own)
        async with service.unit_of_work() as uow:
            pc = await service.program_context(uow, ctx.network_id)
            # lines naming only a SKU: their category and price from the catalogue, one read for the batch
            baskets_sent = await completed_baskets(uow, ctx, [i.purchase.items for i in items], pc.program.currency)
            keys = self._keys(items, outcomes)
            stored = await uow.stored_responses(ctx.terminal_id, sorted(set(keys.values())))
            candidates: dict[int, tuple[str, ...]] = {}
            codes: dict[int, tuple[str, ...]] = {}
            paid_by_cards: dict[int, tuple[GiftCardFunds, ...]] = {}
            baskets: dict[int, tuple[int, tuple[BasketLine, ...]]] = {}
            checked_at = service.clock.now()  # one clock reading for the checks: the window's bounds built once
            for index, item in enumerate(items):
                if outcomes[index] is not None:
                    continue
                key = keys[index]
                if key in stored:
                    outcomes[index] = _safe_replay(stored[key], item.request_hash)
                    continue
                try:  # every check first: an item refused here is not planned
                    if item.purchase.gift_cards_sold:
                        raise InvalidInput(
                            "gift cards are sold in single purchases (POST /v1/purchases), not in batches",
                            field="gift_cards_sold",
                        )
                    item_cards = cards.get(index, ())
                    if isinstance(item_cards, DomainError):
                        raise item_cards
                    paid_by_cards[index] = item_cards
                    basket = parse_basket(pc.program, item.purchase.amount, baskets_sent[index], pc.limits)
                    found_by = lookup_candidates(item.purchase.customer, pc.phone_region)
                    _require_receipt(item.purchase.receipt)
                    service.occurred_at_window.moment(item.purchase.occurred_at, checked_at)
                    presented = normalize_codes(item.purchase.coupons)
                except DomainError as error:
                    outcomes[index] = refusal(error)
                    continue
                baskets[index], candidates[index], codes[index] = basket, found_by, presented
            every_value = sorted({value for values in candidates.values() for value in values})
            found = await uow.lock_members_points(ctx.network_id, every_value) if every_value else []
            receipts = [str(items[i].purchase.receipt).strip() for i in candidates]
            taken_receipts = await uow.existing_receipts(ctx.outlet_id, receipts) if receipts else set()
            lots_per_purchase = max(most_lots_per_purchase(each) for each in (rules, *rules_then.values()))
            tx_ids, lot_ids = await uow.allocate_ids(2 * len(candidates), lots_per_purchase * len(candidates))
            planner = _Planner(service, uow, ctx, pc, found, _Ids(tx_ids), _Ids(lot_ids), taken_receipts, rules)
            planner.rules_then = rules_then
            every_code = sorted({code for index in candidates for code in codes.get(index, ())})
            planner.coupons = await uow.coupons(ctx.network_id, every_code, lock=True) if every_code else {}
            first_by_key: dict[str, int] = {}
            for index in sorted(candidates):
                item, key = items[index], keys[index]
                if key in first_by_key:
                    outcomes[index] = _repeat(outcomes[first_by_key[key]], items[first_by_key[key]], item)
                    continue
                first_by_key[key] = index
                try:
                    planner.cards = paid_by_cards.get(index, ())
                    outcomes[index] = await planner.plan(item, key, baskets[index], candidates[index], codes[index])
                except DomainError as error:
                    outcomes[index] = refusal(error)
            await uow.write_batch(planner.finish())
            if planner.card_debits:  # a card spent meanwhile by another till fails the batch whole (409, retry)
                debits = sorted(planner.card_debits.values(), key=lambda d: d[0].card_id)
                balances = await debit_gift_cards(uow, debits, planner.now)
                # each card's balance before the batch, as the database had it under its lock
                planner.card_balances = {d[0].card_id: left + d[1] for d, left in zip(debits, balances, strict=True)}
            for extras, accounts in planner.gift_grants:  # rare: a statement or two per gift, after its purchase
                await extras.write_gifts(uow, ctx, accounts, pc.program.money_asset, planner.now)
            if service.webhook_events is not None:  # one statement more for the batch, only when someone listens
                await _emit_events(service.webhook_events, uow, ctx.network_id, pc.program.currency, planner)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _gift_cards(self, items: Sequence[BatchItem]) -> dict[int, tuple[GiftCardFunds, ...] | DomainError]:
        """Each item's gift cards after their PINs (a refusal is that item's answer); the same card and PIN are
        checked once per batch."""
        found: dict[int, tuple[GiftCardFunds, ...] | DomainError] = {}
        checked: dict[tuple[str | None, str | None], tuple[GiftCardFunds, ...]] = {}
        for index, item in enumerate(items):
            tenders = item.purchase.tenders
            if not names_gift_cards(tenders):
                continue
            names = tuple((t.number, t.pin) for t in tenders if t.kind == TenderKind.GIFT_CARD.value)
            if len(names) == 1 and names[0] in checked:
                found[index] = checked[names[0]]
                continue
            try:
                read = await read_gift_cards(self.service.gift_cards, self.ctx, tenders)
            except DomainError as error:
                found[index] = refusal(error)
                continue
            found[index] = read
            if len(names) == 1:
                checked[names[0]] = read
        return found

    @staticmethod
    def _keys(items: Sequence[BatchItem], outcomes: list[Outcome | None]) -> dict[int, str]:
        keys: dict[int, str] = {}
        for index, item in enumerate(items):
            key = (item.idempotency_key or "").strip()
            if not key or len(key) > 200:
                outcomes[index] = InvalidInput(
                    "each purchase needs an idempotency_key of 1–200 characters",
                    field=f"purchases[{index}].idempotency_key",
                )
            else:
                keys[index] = key
        return keys


class _Planner:
    """Plans purchases one after another on in-memory member states, collecting the batch's writes."""

    def __init__(
        self,
        service: PurchaseSupport,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        pc: ProgramContext,
        found: list[tuple[str, MemberRef, MemberPoints]],
        tx_ids: _Ids,
        lot_ids: _Ids,
        taken_receipts: set[str],
        rules: CompiledRuleSet | None = None,
    ) -> None:
        self.service, self.uow, self.ctx, self.pc = service, uow, ctx, pc
        self.rules = rules
        self.rules_then: dict[datetime, CompiledRuleSet | None] = {}  # offline sales: the rule set of their time
        self.by_value = {value: member for value, member, _ in found}
        self.states = {member.member_id: state for _, member, state in found}
        self.tx_ids, self.lot_ids = tx_ids, lot_ids
        self.receipts = set(taken_receipts)
        self.stored_lot_ids = {lot.id for state in self.states.values() for lot in state.lots}
        self.planned_lots: dict[int, int] = {}  # a lot planned in this batch: its position in batch.new_lots
        self.touched: dict[int, MemberRef] = {}
        self.coupons: dict[str, Coupon] = {}  # the batch's presented coupons, locked; uses planned so far added
        self.gift_grants: list[tuple[Extras, PointsAccounts]] = []  # written after the batch's rows
        self.recorded: list[tuple[NewPurchase, int]] = []  # each purchase with the balance after it (its event)
        self.cards: tuple[GiftCardFunds, ...] = ()  # the gift cards of the purchase being planned, read before
        self.card_debits: dict[int, tuple[GiftCardFunds, int, str]] = {}  # per card account: the batch's debit
        self.redeemed: list[tuple[GiftCardFunds, int, str]] = []  # each purchase's debit of each card (their events)
        self.card_balances: dict[int, int] = {}  # per card id: its balance before the batch (set once debited)
        self.shared_accounts: PointsAccounts | None = None  # the batch's node and partner accounts, read once
        self.matrix: Matrix | None = None  # the network's permissions matrix, read once
        self.now = service.clock.now()
        self.batch = LedgerBatch(network_id=ctx.network_id, recorded_at=self.now)

    async def plan(
        self,
        item: BatchItem,
        key: str,
        basket: tuple[int, tuple[BasketLine, ...]],
        candidates: tuple[str, ...],
        codes: tuple[str, ...] = (),
    ) -> CommandResult:
        purchase = item.purchase
        member = None
        for value in candidates:  # the first identifier a member of the batch has (a loop: no generator a purchase)
            member = self.by_value.get(value)
            if member is not None:
                break
        if member is None:
            raise MemberNotFound(
                f"no member of this network has the identifier '{purchase.customer}'", field="customer"
            )
        require_usable_card(member)
        if purchase.cashier is not None:  # most batches name none: no coroutine to await
            await self.service.require_cashier(self.uow, self.ctx, purchase.cashier)
        receipt = str(purchase.receipt).strip()
        if receipt in self.receipts:
            raise Conflict("this receipt number is already recorded at this outlet", field="receipt")
        check_minor, lines = basket
        moment = self.service.occurred_at_window.moment(purchase.occurred_at, self.now)
        coupons = accept_coupons(codes, self.coupons, member.member_id, moment) if codes else ()  # valid then
        state = self.states[member.member_id]
        if has_expired_lots(state, self.now):
            state = await self._sweep(member, state)
        rules = self.rules if purchase.occurred_at is None else self.rules_then.get(purchase.occurred_at, self.rules)
        tier = self.batch.member_tiers.get(member.member_id)  # moved by an earlier purchase of the batch
        tenders = parse_tenders(purchase.tenders, self.pc.program.currency, self.pc.limits.max_amount_minor)
        context = await checkout_context(
            self.service,
            self.uow,
            self.ctx,
            self.pc,
            rules,
            member,
            state,
            moment,
            coupons,
            tier,
            tenders=tenders,
            gift_cards=self.cards,
            accounts=await self._accounts(member),
            matrix=self.matrix if self.matrix is not None else await self._matrix(),
        )
        if context.funds:  # what earlier purchases of this batch took from the same wallets and cards
            context = replace(context, funds=tuple(self._after_batch(funds) for funds in context.funds))
        decision = decide(context, Sale(check_minor, lines, purchase.redeem_points, moment, tenders))
        for account_id, amount in decision.wallet_debits:
            self.batch.wallet_debits[account_id] = self.batch.wallet_debits.get(account_id, 0) + amount
        debits = gift_card_debits(decision.tenders, self.cards, tenders)
        for card, amount, field in debits:
            before = self.card_debits.get(card.account_id)
            self.card_debits[card.account_id] = (card, amount + (before[1] if before else 0), field)
        if decision.new_tier is not None:
            self.batch.member_tiers[member.member_id] = decision.new_tier
        tx_id = None
        lots = {lot.id: lot for lot in state.lots}
        if decision.transaction is not None:
            tx_id = self.tx_ids.take()
            self.batch.transactions.append(PlannedTransaction(tx_id, decision.transaction, self.ctx.outlet_id, moment))
            self._take(tx_id, decision.lot_takes, lots)
            for new_lot in decision.new_lots:
                self._add_lot(member, tx_id, new_lot, lots)
        self.states[member.member_id] = MemberPoints(
            decision.balance_after,
            decision.lifetime_spend_after_minor,
            tuple([lot for lot in lots.values() if lot.remaining]),
        )
        self.touched[member.member_id] = member
        self.receipts.add(receipt)
        new_purchase = purchase_record(self.ctx, purchase, member, receipt, lines, decision, moment)
        extras = Extras.of(decision, new_purchase.id, member.member_id, self.now)
        if extras.gifts:
            self.gift_grants.append((extras, context.accounts))
        body = purchase_result(new_purchase, decision, extras, self.pc.program.currency, tendered=bool(tenders)).json()
        for coupon in extras.used:
            self.coupons[coupon.code] = replace(coupon, uses=coupon.uses + 1)
            self.batch.coupon_uses.append((coupon.id, new_purchase.id))
        self.batch.new_coupons.extend(extras.issued)
        self.batch.purchases.append((new_purchase, tx_id))
        self.recorded.append((new_purchase, decision.balance_after))
        self.redeemed.extend((card, amount, new_purchase.id) for card, amount, _ in debits)
        text = _compact_json(body)
        self.batch.responses.append(
            IdempotencyRecord(self.ctx.terminal_id, key, StoredResponse(item.request_hash, 201, body, text))
        )
        return CommandResult(201, body, response_stored=True, body_json=text)

    async def _accounts(self, member: MemberRef) -> PointsAccounts:
        """The member's points accounts: the node's and the till's partner's are the same for every purchase of the
        batch, read once; only the member's own account differs."""
        shared = self.shared_accounts
        if shared is None:
            shared = self.shared_accounts = await self.service.points_accounts(self.uow, self.ctx, self.pc, member)
        return PointsAccounts(
            member.points_account_id,
            shared.points_issued,
            shared.points_redeemed,
            shared.partner_obligations,
            shared.node_obligations,
            shared.partner_id,
        )

    async def _matrix(self) -> Matrix:
        """The network's permissions matrix, read once for the batch (as its rule set is)."""
        self.matrix = await self.service.matrix(self.uow, self.ctx.network_id)
        return self.matrix

    def _after_batch(self, funds: Funds) -> Funds:
        if funds.kind is TenderKind.GIFT_CARD:
            card = self.card_debits.get(funds.account_id)
            return funds if card is None else replace(funds, balance_minor=funds.balance_minor - card[1])
        spent = self.batch.wallet_debits.get(funds.account_id, 0)
        if not spent:
            return funds
        left = None if funds.spend_left_minor is None else funds.spend_left_minor - spent
        return replace(funds, balance_minor=funds.balance_minor - spent, spend_left_minor=left)

    async def _sweep(self, member: MemberRef, state: MemberPoints) -> MemberPoints:
        if not has_expired_lots(state, self.now):
            return state
        pc = self.pc
        accounts, policy = await self.service.expiry_accounts(
            self.uow, self.ctx.network_id, pc, member, state.lots, self.now
        )
        expiry = plan_expiry(pc.program, accounts, state.lots, self.now, policy)
        if expiry is None:
            return state
        tx_id = self.tx_ids.take()
        self.batch.transactions.append(PlannedTransaction(tx_id, expiry.transaction, None, self.now))
        self._take(tx_id, expiry.takes, {lot.id: lot for lot in state.lots})
        self.touched[member.member_id] = member
        swept = after_expiry(state, expiry)
        self.states[member.member_id] = swept
        return swept

    def _add_lot(self, member: MemberRef, tx_id: int, new_lot: NewLot, lots: dict[int, Lot]) -> None:
        if new_lot.top_up_lot_id is not None:
            lot = lots[new_lot.top_up_lot_id]
            lots[lot.id] = _with_remaining(lot, lot.remaining + new_lot.points)
            self._change_lot(lot.id, new_lot.points, new_lot.points)
            return
        lot_id = self.lot_ids.take()
        grantor = new_lot.granting_partner_id
        lots[lot_id] = Lot(lot_id, new_lot.points, new_lot.expires_at, grantor)
        self.planned_lots[lot_id] = len(self.batch.new_lots)
        self.batch.new_lots.append(
            LotWrite(
                lot_id,
                member.points_account_id,
                tx_id,
                new_lot.points,
                new_lot.points,
                new_lot.expires_at,
                grantor,
                new_lot.ends_with_visit_id,
            )
        )

    def _take(self, tx_id: int, takes: Sequence[LotTake], lots: dict[int, Lot]) -> None:
        for take in takes:
            self.batch.lot_takes.append((tx_id, take.lot_id, take.points))
            lot = lots[take.lot_id]
            lots[take.lot_id] = _with_remaining(lot, lot.remaining - take.points)
            self._change_lot(take.lot_id, 0, -take.points)

    def _change_lot(self, lot_id: int, points: int, remaining: int) -> None:
        """Add to a lot's points and remaining: a stored lot's change is written once; a planned lot is edited."""
        if lot_id in self.stored_lot_ids:
            before = self.batch.existing_lot_changes.get(lot_id, (0, 0))
            self.batch.existing_lot_changes[lot_id] = (before[0] + points, before[1] + remaining)
            return
        position = self.planned_lots.get(lot_id)
        if position is None:
            raise RuntimeError(f"lot {lot_id} is neither stored nor planned in this batch")
        lot = self.batch.new_lots[position]
        self.batch.new_lots[position] = replace(lot, points=lot.points + points, remaining=lot.remaining + remaining)

    def finish(self) -> LedgerBatch:
        for member_id, member in self.touched.items():
            state = self.states[member_id]
            self.batch.member_points.append(
                MemberPointsWrite(member_id, member.points_account_id, state.balance, state.lifetime_spend_minor)
            )
        return self.batch


_batches_running = 0  # the batches of this process that spaced out the cycle collector
_thresholds_before: tuple[int, int, int] = gc.get_threshold()
# young objects allocated between two collections while a batch runs (CPython's default: 700)
BATCH_YOUNG_THRESHOLD = 200_000


@contextmanager
def _collector_spaced_out() -> Iterator[None]:
    """The cycle collector runs rarely while batches are planned and written (a few hundred milliseconds each).

    A batch keeps its thousand purchases' objects alive until it answers, so the collector's young-generation runs
    (every 700 allocations) promote them and keep walking them: measured at 4–10 % of a batch's CPU. It is spaced
    out, never switched off, so a server answering overlapping batches without pause still collects cycles; the
    thresholds come back when the last batch of the process ends (batches may overlap: a count, not a flag)."""
    global _batches_running, _thresholds_before
    if _batches_running == 0:
        _thresholds_before = gc.get_threshold()
        young, *older = _thresholds_before
        if young:  # 0: switched off by someone else, left so
            gc.set_threshold(max(young, BATCH_YOUNG_THRESHOLD), *older)
    _batches_running += 1
    try:
        yield
    finally:
        _batches_running -= 1
        if _batches_running == 0:
            gc.set_threshold(*_thresholds_before)


def _require_receipt(receipt: str | None) -> None:
    text = (receipt or "").strip()
    if not text or len(text) > 100:
        raise InvalidInput("each purchase needs a receipt of 1–100 characters", field="receipt")


def _safe_replay(stored: StoredResponse, request_hash: str) -> Outcome:
    try:
        replayed = replay(stored, request_hash)
    except DomainError as error:
        return refusal(error)
    return replace(replayed, body_json=stored.text) if stored.text is not None else replayed


def _repeat(
    first: CommandResult | DomainError | None, first_item: BatchItem, item: BatchItem
) -> CommandResult | DomainError:
    """A key used twice in one batch: the second is a retry of the first, or a misuse of the key."""
    if item.request_hash != first_item.request_hash:
        return IdempotencyKeyReused(
            "this idempotency key is used twice in the batch for different purchases", field="idempotency_key"
        )
    if first is None:
        return Conflict("the first use of this idempotency key in the batch did not complete", field="idempotency_key")
    if isinstance(first, DomainError):
        return first
    return replace(first, replayed=True)


def _with_remaining(lot: Lot, remaining: int) -> Lot:
    """The lot with other points left: built directly, as dataclasses.replace costs several times more per call on
    the batch path (it looks every field up by name)."""
    return Lot(lot.id, remaining, lot.expires_at, lot.granting_partner_id)


async def _emit_events(
    events: WebhookEvents, uow: PosUnitOfWork, network_id: int, currency: str, planner: _Planner
) -> None:
    now = planner.now
    recorded = [
        (f"purchase:{purchase.id}", purchase_recorded(purchase, currency, balance, now))
        for purchase, balance in planner.recorded
    ]
    await events.emit_many(uow, network_id, PURCHASE_RECORDED, recorded, now)
    granted = [
        (f"gift:{gift.id}", gift_granted(gift, extras.purchase_id, planner.ctx.outlet_id, currency))
        for extras, _ in planner.gift_grants
        for gift in extras.gifts
    ]
    await events.emit_many(uow, network_id, GIFT_GRANTED, granted, now)
    redeemed = []
    for card, amount, purchase_id in planner.redeemed:  # in the batch's order: each purchase's balance after it
        left = planner.card_balances[card.card_id] - amount
        planner.card_balances[card.card_id] = left
        data = gift_card_redeemed(card.number, card.currency, amount, left, purchase_id, planner.ctx.outlet_id)
        redeemed.append((f"gift_card_redeemed:{purchase_id}:{card.card_id}", data))
    await events.emit_many(uow, network_id, GIFT_CARD_REDEEMED, redeemed, now)
