"""Commands and queries of the point of sale: identify, quote, purchase, refund, enrol, cards.

Each public method runs in one unit of work. Writes carry an idempotency key: the first answer is stored in the
same transaction as the write, so a retry replays it and a different request under the same key is refused.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from coalition.application.access import refuse_revoked
from coalition.application.basket import parse_basket, required_text
from coalition.application.cache import ACCESS_CHANGES, AccessChanges, TtlCache
from coalition.application.key_life import still_valid
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.ports import (
    Clock,
    IdempotencyRecord,
    MemberHistory,
    MemberLabels,
    MemberRef,
    NewPurchase,
    NewRefund,
    PosUnitOfWork,
    Profile,
    ProgramContext,
    PurchaseWrite,
    StatementLine,
    StoredPurchase,
    StoredResponse,
    TerminalContext,
    UnitOfWorkFactory,
)
from coalition.application.record_ids import new_record_id
from coalition.domain.bonus import BonusProgram, Quote, Tier
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.cards import CardAction, CardState, next_state, require_usable
from coalition.domain.coupons import Coupon, NewCoupon, accept_coupons, issued_coupon, normalize_codes
from coalition.domain.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    MemberNotFound,
    NotFound,
    PurchaseNotFound,
    RefundNotAllowed,
    Unauthorized,
)
from coalition.domain.gifts import (
    Gift,
    GiftBreakage,
    GiftState,
    GiftType,
    grant_transaction,
    honour_transaction,
    release_transaction,
    require_honourable,
)
from coalition.domain.identifiers import IdentifierKind, lookup_candidates, normalize
from coalition.domain.lots import Lot
from coalition.domain.members import DEFAULT_CARD_TYPE, parse_label, parse_segments
from coalition.domain.money import (
    format_basis_points,
    format_minor,
    format_quantity_milli,
    parse_amount_minor,
    parse_quantity_milli,
)
from coalition.domain.permissions import OPEN, POINTS, Matrix, Operation, gift_counter
from coalition.domain.purchase import (
    AccrualPlace,
    BasketLine,
    ExpiryAccounts,
    MemberPoints,
    NewLot,
    PointsAccounts,
    PurchaseTotals,
    accrual_lots,
    after_expiry,
    cumulative_share,
    expired_grantors,
    expiring_lots,
    has_expired_lots,
    plan_bonus,
    plan_expiry,
    plan_node_bonus,
    plan_purchase,
    plan_refund,
    points_balance,
    quote_for,
)
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation, evaluate
from coalition.domain.rules.model import ExpiryKind, Trigger
from coalition.domain.rules.pricing import EventGrants, evaluate_event, event_grants, quote_from_rules

if TYPE_CHECKING:
    from coalition.application.batch import BatchItem

MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_RECEIPT_LENGTH = 100


class DuplicateKey(Exception):
    """Raised by storage when a unique key is taken; `what` names it (idempotency, receipt, identifier, card)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True, slots=True)
class ItemInput:
    sku: str
    quantity: str | int
    unit_price: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PurchaseInput:
    customer: str
    amount: str | None = None
    items: tuple[ItemInput, ...] = ()
    redeem_points: int | None = None
    receipt: str | None = None
    cashier: str | None = None
    occurred_at: datetime | None = None
    coupons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RefundInput:
    amount: str | None = None
    items: tuple[ItemInput, ...] = ()
    cashier: str | None = None  # who gives the money back (an active cashier of the refunding outlet)


@dataclass(frozen=True, slots=True)
class IdentifierInput:
    kind: IdentifierKind
    value: str


@dataclass(frozen=True, slots=True)
class EnrolInput:
    kind: str  # personal | anonymous
    card_number: str | None = None
    profile: Profile = field(default_factory=Profile)
    identifiers: tuple[IdentifierInput, ...] = ()
    segments: tuple[str, ...] = ()
    card_type: str = DEFAULT_CARD_TYPE


@dataclass(frozen=True, slots=True)
class GrantedBonus:
    points: int
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommandResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    response_stored: bool = False  # the operation wrote the idempotency record with its own writes


def fingerprint(operation: str, payload: bytes) -> str:
    """Identity of a request for idempotency: the operation (method, path) and its exact body."""
    return hashlib.sha256(operation.encode() + b"\0" + payload).hexdigest()


def key_hash(secret: str) -> str:
    """API keys are long random strings, so a fast hash is enough to store them without keeping them."""
    return hashlib.sha256(secret.encode()).hexdigest()


RulesInForce = Callable[[int], Awaitable[CompiledRuleSet | None]]


class PosService:
    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        cache_ttl_seconds: float = 5.0,
        rules_in_force: RulesInForce | None = None,
        access_changes: AccessChanges = ACCESS_CHANGES,
        occurred_at_window: OccurredAtWindow = OccurredAtWindow(),
    ) -> None:
        self.unit_of_work = unit_of_work
        self.occurred_at_window = occurred_at_window
        self.clock = clock
        # A published rule set prices purchases instead of the bonus program; looked up at most every few seconds
        # (a publication takes effect within `cache_ttl_seconds`), never inside a purchase's unit of work.
        self._rules_in_force = rules_in_force
        self._rule_sets: TtlCache[int, tuple[CompiledRuleSet | None]] = TtlCache(cache_ttl_seconds)
        # who may act is dropped from every worker's cache as soon as it changes (see AccessChanges)
        self._terminals: TtlCache[str, TerminalContext] = TtlCache(cache_ttl_seconds, changes=access_changes)
        self._programs: TtlCache[int, ProgramContext] = TtlCache(cache_ttl_seconds)
        self._matrices: TtlCache[int, tuple[Matrix]] = TtlCache(cache_ttl_seconds)
        self._partner_accounts: TtlCache[tuple[int, int], int] = TtlCache(cache_ttl_seconds)
        self._breakage_policies: TtlCache[int, BreakagePolicy] = TtlCache(cache_ttl_seconds)
        self._cashiers: TtlCache[tuple[int, str], bool] = TtlCache(cache_ttl_seconds, changes=access_changes)

    # --- queries ------------------------------------------------------------------------------------------

    async def authenticate(self, api_key: str | None) -> TerminalContext:
        if not api_key:
            raise Unauthorized("send the terminal key as 'Authorization: Bearer <key>'")
        hashed = key_hash(api_key)

        async def load() -> TerminalContext | None:
            async with self.unit_of_work() as uow:
                return await uow.terminal_by_key_hash(hashed)

        if (terminal := await self._terminals.get_or_load(hashed, load)) is None:
            raise Unauthorized("this terminal key is unknown or revoked")
        return still_valid(terminal, self.clock.now())  # on every use: a cached key may have expired since

    async def terminal(self, terminal_id: int) -> TerminalContext:
        """The terminal a web session works through (the outlet's web terminal), by its id."""
        async with self.unit_of_work() as uow:
            found = await uow.terminal_by_id(terminal_id)
        if found is None:
            raise Unauthorized("this terminal is unknown or revoked")
        return found

    async def member_summary(self, ctx: TerminalContext, identifier: str) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            pc = await self.program_context(uow, ctx.network_id)
            member = await _find_member(uow, ctx, identifier, lock=False, field_name="identifier")
            state = await uow.member_points(member)
            profile = await uow.member_profile(member.member_id)
            labels = await uow.member_labels(member.member_id)
            cards = await uow.member_cards(member.member_id)
            gifts = await uow.member_gifts(member.member_id, self.clock.now())
        now = self.clock.now()
        program = pc.program
        tier = program.tier_for(state.lifetime_spend_minor)
        return {
            "member": _member_json(member, profile, labels),
            "card": _card_json(member),
            "cards": [{"number": number, "state": str(state_)} for number, state_ in cards],
            "points_balance": points_balance(state, now),
            "lifetime_spend": format_minor(state.lifetime_spend_minor, program.currency),
            "currency": program.currency,
            "tier": _tier_json(program, tier),
            "balances": [{"asset": program.points_asset, "balance": points_balance(state, now)}],
            "next_expiry": _next_expiry(state, now),
            "gifts": [gift_json(gift) for gift in gifts],
        }

    async def quote(self, ctx: TerminalContext, purchase: PurchaseInput) -> dict[str, Any]:
        codes = normalize_codes(purchase.coupons)
        rules = await self.rule_set_in_force(ctx.network_id)
        async with self.unit_of_work() as uow:
            pc = await self.program_context(uow, ctx.network_id)
            check_minor, lines = parse_basket(pc.program, purchase.amount, purchase.items, pc.limits)
            member = await _find_member(uow, ctx, purchase.customer, lock=False, field_name="customer")
            require_usable_card(member)
            state = await uow.member_points(member)
            now = self.clock.now()
            history = await member_history(uow, rules, ctx, member, now)
            coupons = await _accepted_coupons(uow, ctx, member, codes, now, lock=False)
            priced = price_with_rules(
                rules, ctx, pc.program, lines, check_minor, state, purchase.redeem_points, now, coupons, history
            )
            place = await accrual_place(uow, ctx, member.member_id, priced)
        q = priced or quote_for(pc.program, state, check_minor, purchase.redeem_points, now)
        pc.limits.require_points(q.redeem_points, q.points_to_earn)
        balance_after_spend = state.balance - q.redeem_points
        new_lots = accrual_lots(pc.program, q, balance_after_spend, state.lots, ctx.partner_id, now, place)
        currency = pc.program.currency
        answer = {
            "points_balance": q.points_balance,
            "max_redeemable_points": q.max_redeemable_points,
            "redeem_points": q.redeem_points,
            "points_to_earn": q.points_to_earn,
            "amount": format_minor(q.check_minor, currency),
            "discount": format_minor(q.discount_minor, currency),
            "amount_due": format_minor(q.amount_due_minor, currency),
            "currency": currency,
        } | points_expiring_json(new_lots)
        if q.tier is not None:
            answer["tier"] = _tier_json(pc.program, q.tier)
        if q.rule_set_version is not None:
            answer |= {"rule_set_version": q.rule_set_version, "applied_rules": list(q.applied_rules)}
        return answer

    async def rule_set_in_force(self, network_id: int) -> CompiledRuleSet | None:
        if self._rules_in_force is None:
            return None
        load = self._rules_in_force

        async def wrapped() -> tuple[CompiledRuleSet | None]:
            return (await load(network_id),)  # a tuple, so that "no rule set" is cached too

        found = await self._rule_sets.get_or_load(network_id, wrapped)
        return found[0] if found else None

    async def statement(self, network_id: int, identifier: str, limit: int = 500) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            member = await uow.find_member(network_id, customer_candidates(identifier, "identifier"), lock=False)
            if member is None:
                raise member_not_found(identifier, "identifier")
            lines = await uow.statement(member, limit)
            state = await uow.member_points(member)
        return {
            "member_id": member.member_id,
            "points_balance": state.balance,
            "transactions": [_statement_json(line) for line in lines],
        }

    # --- commands -----------------------------------------------------------------------------------------

    async def purchase(
        self, ctx: TerminalContext, purchase: PurchaseInput, idempotency_key: str | None, request_hash: str
    ) -> CommandResult:
        receipt = required_text(purchase.receipt, "receipt", MAX_RECEIPT_LENGTH)
        codes = normalize_codes(purchase.coupons)
        rules = await self.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, key: str, *, locked: bool) -> CommandResult | None:
            """Plan and write the purchase. Unlocked (the first try): read the member's points with their version
            and write only if the version still holds — two round trips, no lock held. Locked (after a collision,
            or to sweep expired lots): lock the member, then read and write. None: the unlocked try lost a race."""
            pc = await self.program_context(uow, ctx.network_id)
            program = pc.program
            check_minor, lines = parse_basket(program, purchase.amount, purchase.items, pc.limits)
            await self.require_cashier(uow, ctx, purchase.cashier)
            now = self.clock.now()
            if locked:
                member, state = await _find_member_points(uow, ctx, purchase.customer)
                expected_version = None
            else:
                member, state, expected_version = await _peek_member_points(uow, ctx, purchase.customer)
            require_usable_card(member)
            if has_expired_lots(state, now):
                if not locked:
                    return None  # sweeping writes more than one statement: do it under the lock
                state = await self._sweep_expired(uow, ctx.network_id, pc, member, state, now)
            if codes and not locked:
                return None  # coupons are checked and counted under their lock
            coupons = await _accepted_coupons(uow, ctx, member, codes, now, lock=True)
            accounts = await self.points_accounts(uow, ctx, pc, member)
            history = await member_history(uow, rules, ctx, member, now)
            priced = price_with_rules(
                rules, ctx, program, lines, check_minor, state, purchase.redeem_points, now, coupons, history
            )
            place = await accrual_place(uow, ctx, member.member_id, priced)
            plan = plan_purchase(
                program, accounts, state, check_minor, purchase.redeem_points, now, priced=priced, place=place
            )
            new_tier = tier_change(plan.quote, history)
            quote = plan.quote
            await self.require_allowed(uow, ctx, quote)
            if (new_tier is not None or quote.coupons_to_issue or quote.gifts_to_grant) and not locked:
                return None  # more than one statement: write them all under the lock, in one transaction
            occurred_at = self.occurred_at_window.moment(purchase.occurred_at, now)
            new_purchase = purchase_record(ctx, purchase, member, receipt, lines, quote, occurred_at, new_tier)
            gift_types = await gift_types_for(uow, ctx, quote)
            extras = PurchaseExtras.of(quote, coupons, new_purchase, now, gift_types)
            body = purchase_body(new_purchase, plan.balance_after, program.currency) | extras.json()
            body |= points_expiring_json(plan.new_lots)
            write = PurchaseWrite(
                purchase=new_purchase,
                transaction=plan.transaction,
                lot_takes=plan.lot_takes,
                new_lots=plan.new_lots,
                balance_after=plan.balance_after,
                lifetime_spend_after_minor=plan.lifetime_spend_after_minor,
                idempotency=IdempotencyRecord(ctx.terminal_id, key, StoredResponse(request_hash, 201, body)),
                recorded_at=now,
            )
            if not await uow.record_purchase(write, expected_version):
                return None
            if new_tier is not None:
                await uow.set_member_labels(member.member_id, tier=new_tier, segments=None)
            await extras.write(uow, ctx, accounts, program.money_asset, now)
            return CommandResult(201, body, response_stored=True)

        async def unlocked(uow: PosUnitOfWork, key: str) -> CommandResult | None:
            return await record(uow, key, locked=False)

        async def locked(uow: PosUnitOfWork, key: str) -> CommandResult | None:
            if (result := await record(uow, key, locked=True)) is None:  # refused: may the till still act?
                await refuse_revoked(uow, ctx, purchase.cashier)
            return result

        first = await self._maybe_idempotent(
            ctx, idempotency_key, request_hash, unlocked, look_up_first=False, autocommit=True
        )
        if first is not None:
            return first
        result = await self._maybe_idempotent(ctx, idempotency_key, request_hash, locked, look_up_first=False)
        if result is None:
            raise RuntimeError("a purchase under the member's lock was not written")
        return result

    async def refund(
        self,
        ctx: TerminalContext,
        purchase_id: str,
        refund: RefundInput,
        idempotency_key: str | None,
        request_hash: str,
    ) -> CommandResult:
        rules = await self.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult:
            pc = await self.program_context(uow, ctx.network_id)
            stored = await uow.purchase_for_refund(ctx.network_id, purchase_id)
            if stored is None or stored.partner_id != ctx.partner_id:  # another partner's: not found, not "forbidden"
                raise PurchaseNotFound(f"this outlet's partner has no purchase '{purchase_id}'", field="purchase_id")
            await self.require_cashier(uow, ctx, refund.cashier)
            program = pc.program
            refund_minor, quantities = _refund_amount(program, stored, refund)
            now = self.clock.now()
            member = MemberRef(stored.member_id, "", stored.points_account_id, None, None, None)
            state = await self.swept_points(uow, ctx, pc, member, now)
            accounts = await self.points_accounts(uow, ctx, pc, member)
            plan = plan_refund(program, accounts, state, _totals(stored), refund_minor, now)
            tx_id = None
            if plan.transaction is not None:
                tx = plan.transaction
                if stored.tx_id is not None:
                    tx = type(tx)(tx.kind, tx.postings, reverses_tx_id=stored.tx_id, memo=f"refund of {stored.id}")
                tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
                await uow.apply_lots(tx_id, stored.points_account_id, plan.lot_takes, plan.new_lots)
            await uow.set_member_points(
                stored.member_id, stored.points_account_id, plan.balance_after, plan.lifetime_spend_after_minor
            )
            refund_id = new_record_id()
            await uow.insert_refund(
                NewRefund(
                    id=refund_id,
                    purchase_id=stored.id,
                    terminal_id=ctx.terminal_id,
                    refund_minor=refund_minor,
                    money_back_minor=plan.money_back_minor,
                    points_clawed_back=plan.points_clawed_back,
                    points_returned=plan.points_returned,
                    quantities_milli=quantities,
                    cashier_login=refund.cashier,
                ),
                tx_id,
                now,
            )
            left_minor = stored.check_minor - stored.refunded_before_minor - refund_minor
            revoked = await self._revoke_gifts(uow, ctx, stored.id, now) if left_minor == 0 else []
            extras = await self._refund_rules(uow, ctx, rules, member, stored.id, refund_minor, now)
            currency = program.currency
            return CommandResult(
                201,
                {
                    "id": refund_id,
                    "purchase_id": stored.id,
                    "amount": format_minor(refund_minor, currency),
                    "money_back": format_minor(plan.money_back_minor, currency),
                    "currency": currency,
                    "points_clawed_back": plan.points_clawed_back,
                    "points_returned": plan.points_returned,
                    "points_balance": plan.balance_after,
                    "refundable_left": format_minor(left_minor, currency),
                    "gifts_revoked": revoked,
                }
                | extras,  # after the refund's own figures: a goodwill bonus changes the balance
            )

        return await self.idempotent(ctx, idempotency_key, request_hash, record)

    async def enrol(
        self, ctx: TerminalContext, enrol: EnrolInput, idempotency_key: str | None, request_hash: str
    ) -> CommandResult:
        identifiers = _enrolment_identifiers(enrol)
        segments = parse_segments(enrol.segments)
        card_type = parse_label(enrol.card_type, field="card_type")
        rules = await self.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult:
            pc = await self.program_context(uow, ctx.network_id)
            now = self.clock.now()
            profile = _clean_profile(enrol)
            member = await uow.create_member(ctx.network_id, enrol.kind, profile, pc, now, segments)
            card_id = None
            card_number = None
            if enrol.card_number:
                card_number = normalize(IdentifierKind.CARD, enrol.card_number, field="card_number")
                card_id = await uow.add_card(
                    ctx.network_id, member.member_id, card_number, CardState.ACTIVE, now, card_type
                )
            for ident in identifiers:
                linked_card = card_id if ident.kind is IdentifierKind.CARD else None
                await uow.add_identifier(ctx.network_id, member.member_id, linked_card, ident.kind, ident.value)
            facts = MemberFacts(
                kind=enrol.kind,
                segments=frozenset(segments),
                birth_date=profile.birth_date,
                card_type=card_type if card_number else "",
            )
            no_points = MemberPoints(0, 0, ())
            evaluation = evaluate_at(rules, Trigger.ENROLMENT, facts, ctx, now)
            bonus = await self.event_bonus(uow, ctx, member, Trigger.ENROLMENT, evaluation, now, no_points)
            body = {
                "member": _member_json(member, profile, MemberLabels("", segments)),
                "card": {"number": card_number, "state": str(CardState.ACTIVE), "type": card_type}
                if card_number
                else None,
                "identifiers": [{"kind": str(i.kind), "value": i.value} for i in identifiers],
                "points_balance": bonus.points if bonus else 0,
            }
            if bonus is not None:
                body["bonus"] = {"points": bonus.points, "rules": list(bonus.rules)}
            return CommandResult(201, body)

        return await self.idempotent(ctx, idempotency_key, request_hash, record)

    async def issue_card(
        self,
        ctx: TerminalContext,
        number: str,
        member_identifier: str | None,
        idempotency_key: str | None,
        request_hash: str,
        card_type: str = DEFAULT_CARD_TYPE,
    ) -> CommandResult:
        card_number = normalize(IdentifierKind.CARD, number, field="number")
        card_type = parse_label(card_type, field="card_type")

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult:
            now = self.clock.now()
            if member_identifier:
                member = await _find_member(uow, ctx, member_identifier, lock=True, field_name="member")
            else:
                pc = await self.program_context(uow, ctx.network_id)
                member = await uow.create_member(ctx.network_id, "anonymous", Profile(), pc, now)
            card_id = await uow.add_card(
                ctx.network_id, member.member_id, card_number, CardState.ACTIVE, now, card_type
            )
            await uow.add_identifier(ctx.network_id, member.member_id, card_id, IdentifierKind.CARD, card_number)
            return CommandResult(
                201,
                {
                    "number": card_number,
                    "state": str(CardState.ACTIVE),
                    "type": card_type,
                    "member_id": member.member_id,
                },
            )

        return await self.idempotent(ctx, idempotency_key, request_hash, record)

    async def change_card(
        self,
        ctx: TerminalContext,
        number: str,
        action: CardAction,
        new_number: str | None,
        idempotency_key: str | None,
        request_hash: str,
    ) -> CommandResult:
        if action is CardAction.REPLACE and not new_number:
            raise InvalidInput("a replacement needs the new card's number", field="new_number")

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult:
            body = await change_card_state(uow, ctx.network_id, number, action, new_number, self.clock.now())
            return CommandResult(200, body)

        return await self.idempotent(ctx, idempotency_key, request_hash, record)

    async def honour_gift(
        self, ctx: TerminalContext, gift_id: str, idempotency_key: str | None, request_hash: str
    ) -> CommandResult:
        """Hand a gift over at this outlet: once, while valid, where allowed; the node then owes this partner its
        agreed price."""

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult:
            now = self.clock.now()
            gift = await uow.gift(ctx.network_id, gift_id.strip(), lock=True)
            if gift is None:
                raise NotFound(f"this network has no gift '{gift_id}'", field="gift_id")
            require_honourable(gift, ctx.outlet_name, ctx.partner_id, now)
            matrix = await self.matrix(uow, ctx.network_id)
            matrix.require(ctx.outlet_id, ctx.outlet_name, gift_counter(gift.gift_type.code), Operation.HONOUR)
            pc = await self.program_context(uow, ctx.network_id)
            partner_account = await self._partner_account(uow, ctx)
            memo = f"gift {gift.id} handed over: {gift.gift_type.name}"
            tx = honour_transaction(
                partner_account, pc.node_obligations_account, pc.program.money_asset, gift.gift_type.price_minor, memo
            )
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
            if not await uow.mark_gift_honoured(gift.id, ctx.outlet_id, tx_id, now):
                raise Conflict(f"gift {gift.id} was handed over already", field="gift_id")
            body = gift_json(gift) | {
                "state": GiftState.HONOURED.value,
                "honoured_at": now.isoformat(),
                "outlet": ctx.outlet_name,
                "price": format_minor(gift.gift_type.price_minor, pc.program.currency),
            }
            return CommandResult(200, body)

        return await self.idempotent(ctx, idempotency_key, request_hash, record)

    async def purchase_batch(
        self, ctx: TerminalContext, items: Sequence[BatchItem]
    ) -> list[CommandResult | DomainError]:
        """Many purchases in one unit of work; each item gets its own answer (see `application.batch`)."""
        from coalition.application.batch import BatchRecorder  # batch builds on this module

        return await BatchRecorder(self, ctx).run(items)

    # --- helpers ------------------------------------------------------------------------------------------

    async def idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[PosUnitOfWork, str], Awaitable[CommandResult]],
    ) -> CommandResult:
        result = await self._maybe_idempotent(ctx, idempotency_key, request_hash, operation)
        if result is None:
            raise RuntimeError("an idempotent command wrote nothing")
        return result

    async def _maybe_idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[PosUnitOfWork, str], Awaitable[CommandResult | None]],
        *,
        look_up_first: bool = True,
        autocommit: bool = False,
    ) -> CommandResult | None:
        """Run `operation` once per key. With `look_up_first=False` (the purchase path) the stored answer is not
        read up front: the write itself collides on the key, and a refusal looks for a stored answer before it is
        reported, so a retry of a committed purchase still replays instead of being judged again."""
        key = required_text(idempotency_key, "Idempotency-Key", MAX_IDEMPOTENCY_KEY_LENGTH)
        try:
            async with self.unit_of_work(autocommit=autocommit) as uow:
                stored = await uow.stored_response(ctx.terminal_id, key) if look_up_first else None
                if stored is not None:
                    return replay(stored, request_hash)
                result = await operation(uow, key)
                if result is not None and not result.response_stored:
                    response = StoredResponse(request_hash, result.status_code, result.body)
                    await uow.store_response(ctx.terminal_id, key, response, self.clock.now())
                return result
        except DuplicateKey as duplicate:
            # A concurrent request with the same key may have committed first (and taken the receipt number):
            # then this one is its retry. Otherwise the duplicate is the caller's.
            stored = await self._stored(ctx, key)
            if stored is None:
                raise _conflict(duplicate) from None
            return replay(stored, request_hash)
        except DomainError:
            stored = None if look_up_first else await self._stored(ctx, key)
            if stored is None:
                raise
            return replay(stored, request_hash)

    async def _stored(self, ctx: TerminalContext, key: str) -> StoredResponse | None:
        async with self.unit_of_work() as uow:
            return await uow.stored_response(ctx.terminal_id, key)

    async def require_cashier(self, uow: PosUnitOfWork, ctx: TerminalContext, login: str | None) -> None:
        """A purchase names its cashier optionally; when it does, the cashier must be active at this outlet."""
        if login is None:
            return

        async def load() -> bool | None:
            return True if await uow.cashier_is_active(ctx.outlet_id, login) else None

        if await self._cashiers.get_or_load((ctx.outlet_id, login), load) is None:
            raise InvalidInput(f"no active cashier '{login}' at {ctx.outlet_name}", field="cashier")

    async def program_context(self, uow: PosUnitOfWork, network_id: int) -> ProgramContext:
        program = await self._programs.get_or_load(network_id, lambda: uow.program_of(network_id))
        if program is None:
            raise LookupError(f"network {network_id} has no program")
        return program

    async def points_accounts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, pc: ProgramContext, member: MemberRef
    ) -> PointsAccounts:
        partner_account = await self._partner_account(uow, ctx)
        return PointsAccounts(
            member_points=member.points_account_id,
            points_issued=pc.points_issued_account,
            points_redeemed=pc.points_redeemed_account,
            partner_obligations=partner_account,
            node_obligations=pc.node_obligations_account,
            partner_id=ctx.partner_id,
        )

    async def breakage_policy(self, uow: PosUnitOfWork, network_id: int) -> BreakagePolicy:
        """The network's points breakage policy, cached like the program (a change takes effect within seconds)."""
        policy = await self._breakage_policies.get_or_load(network_id, lambda: uow.points_breakage(network_id))
        if policy is None:
            raise LookupError(f"network {network_id} has no breakage policy")
        return policy

    def forget_breakage_policies(self) -> None:
        """After the administrator changed a policy: this process sees it at once (others within the cache time)."""
        self._breakage_policies.clear()

    async def expiry_accounts(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        lots: tuple[Lot, ...],
        now: datetime,
    ) -> tuple[ExpiryAccounts, BreakagePolicy]:
        """What a member's sweep posts to under the network's policy: the obligations accounts of the partners that
        granted the expired points are looked up only when the policy returns value to them."""
        policy = await self.breakage_policy(uow, network_id)
        partner_accounts = {}
        if policy.kind is not PointsBreakage.KEPT:
            for partner_id in expired_grantors(lots, now):
                partner_accounts[partner_id] = await self.partner_account(uow, network_id, partner_id)
        accounts = ExpiryAccounts(
            member.points_account_id, pc.points_breakage_account, pc.node_obligations_account, partner_accounts
        )
        return accounts, policy

    async def matrix(self, uow: PosUnitOfWork, network_id: int) -> Matrix:
        """The network's permissions matrix, cached like the program (a change takes effect within seconds)."""

        async def load() -> tuple[Matrix]:
            return (Matrix(frozenset(await uow.permissions(network_id))),)

        found = await self._matrices.get_or_load(network_id, load)
        return found[0] if found else OPEN

    def forget_terminal_keys(self) -> None:
        """After a terminal was revoked: this process drops every cached key (the admin service has also moved
        the shared AccessChanges, so the other workers drop theirs)."""
        self._terminals.clear()

    def forget_programs(self) -> None:
        self._programs.clear()

    def forget_matrix(self) -> None:
        """After the administrator changed a matrix: this process sees it at once (others within the cache time)."""
        self._matrices.clear()

    async def require_allowed(self, uow: PosUnitOfWork, ctx: TerminalContext, quote: Quote) -> None:
        """The purchase's points within the network's limits; its operations allowed at this outlet: earning and
        spending points, granting gifts."""
        (await self.program_context(uow, ctx.network_id)).limits.require_points(
            quote.redeem_points, quote.points_to_earn
        )
        matrix = await self.matrix(uow, ctx.network_id)
        if not matrix.defined:
            return
        if quote.points_to_earn > 0:
            matrix.require(ctx.outlet_id, ctx.outlet_name, POINTS, Operation.ACCRUE)
        if quote.redeem_points > 0:
            matrix.require(ctx.outlet_id, ctx.outlet_name, POINTS, Operation.SPEND)
        for code, _, _ in quote.gifts_to_grant:
            matrix.require(ctx.outlet_id, ctx.outlet_name, gift_counter(code), Operation.GRANT)

    async def _partner_account(self, uow: PosUnitOfWork, ctx: TerminalContext) -> int:
        """The obligations account of the terminal's partner."""
        return await self.partner_account(uow, ctx.network_id, ctx.partner_id)

    async def partner_account(self, uow: PosUnitOfWork, network_id: int, partner_id: int) -> int:
        """A partner's obligations account (cached: accounts never change)."""
        partner_account = await self._partner_accounts.get_or_load(
            (network_id, partner_id), lambda: uow.partner_obligations_account(network_id, partner_id)
        )
        if partner_account is None:
            raise LookupError(f"partner {partner_id} has no obligations account")
        return partner_account

    async def expire_points(
        self, network_id: int, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        """Post every expired lot of the network to breakage, one member (and one transaction) at a time, so the
        node's breakage account is current without waiting for each member's next purchase; under the network's
        policy, part or all of the expired points' value goes back to the partners that granted them."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            pc = await self.program_context(uow, network_id)
            due = await uow.members_with_expired_lots(network_id, now)
            policy = await self.breakage_policy(uow, network_id)
        points = returned_minor = 0
        for done, (member_id, account_id) in enumerate(due, start=1):
            member = MemberRef(member_id, "", account_id, None, None, None)
            async with self.unit_of_work() as uow:
                await uow.lock_member(member_id)
                state = await uow.member_points(member)
                swept, returned = await self._sweep(uow, network_id, pc, member, state, now)
                points += state.balance - swept.balance
                returned_minor += returned
            if progress is not None:
                progress(done, len(due))
        return {
            "members": len(due),
            "points": points,
            "policy": breakage_json(policy),
            "returned_to_partners": format_minor(returned_minor, pc.program.currency),
        }

    async def expire_gifts(self, network_id: int) -> dict[str, Any]:
        """Mark every gift whose validity ended unused as expired; where the network releases them, reverse the
        grant, so the granting partner owes nothing for it (settlement shows it as granted value taken back)."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            due = await uow.gifts_due_to_expire(network_id, now)
            policy = await uow.gift_breakage(network_id)
        released = 0
        for gift_id, grant_tx_id in due:
            async with self.unit_of_work() as uow:
                applied = await self.expire_gift(uow, network_id, gift_id, grant_tx_id, policy, now)
                released += applied is GiftBreakage.RELEASED
        return {"gifts": len(due), "released": released, "policy": policy.value}

    async def expire_gift(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        gift_id: str,
        grant_tx_id: int,
        policy: GiftBreakage,
        now: datetime,
        why: str = "expired",
    ) -> GiftBreakage | None:
        """Expire one gift not handed over, under its lock, releasing the grant where the network does; None when it
        was handed over or expired by someone else since it was listed."""
        gift = await uow.gift(network_id, gift_id, lock=True)
        if gift is None or gift.state is not GiftState.GRANTED:
            return None
        release_tx_id = None
        if policy is GiftBreakage.RELEASED:
            release = release_transaction(await uow.transaction(grant_tx_id), grant_tx_id, gift_id, why)
            release_tx_id = await uow.post(network_id, release, None, now, now)
        if not await uow.mark_gift_expired(gift_id, now, release_tx_id):
            raise RuntimeError(f"gift {gift_id} changed under its lock")
        return policy

    async def _refund_rules(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        rules: CompiledRuleSet | None,
        member: MemberRef,
        purchase_id: str,
        refund_minor: int,
        now: datetime,
    ) -> dict[str, Any]:
        """What the `refund` rules that apply at this outlet give on a refund of `refund_minor` (the basket is one line
        of that amount): their fixed points as a goodwill bonus, and their coupons."""
        if rules is None or not rules.candidates(Trigger.REFUND, ctx.partner_name, ctx.outlet_name):
            return {}  # most networks: no read of the member beyond the refund's own
        state = await uow.member_points(member)  # after the refund
        history = await member_history(uow, rules, ctx, member, now)
        facts = member_facts(history, state.lifetime_spend_minor, state.balance)
        evaluation = evaluate_at(rules, Trigger.REFUND, facts, ctx, now, total_minor=refund_minor)
        if evaluation is None:
            return {}
        answer: dict[str, Any] = {}
        bonus = await self.event_bonus(uow, ctx, member, Trigger.REFUND, evaluation, now, state)
        if bonus is not None:
            answer["bonus"] = {"points": bonus.points, "rules": list(bonus.rules)}
            answer["points_balance"] = state.balance + bonus.points
        coupons = tuple(
            issued_coupon(effect.campaign, member.member_id, effect.valid_days, effect.uses, now, purchase_id)
            for _, effect in evaluation.coupons
        )
        if coupons:
            await uow.add_coupons(ctx.network_id, coupons, now)
            answer["coupons_issued"] = [coupon_json(coupon) for coupon in coupons]
        return answer

    async def _revoke_gifts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, purchase_id: str, now: datetime
    ) -> list[str]:
        """A purchase refunded in full takes back the gifts it granted that were not handed over yet: the refund
        reverses its share of every obligation, so the granting partner owes nothing for them."""
        revoked = []
        for gift_id, grant_tx_id in await uow.open_gifts_of_purchase(purchase_id):
            why = f"revoked by the refund of {purchase_id}"
            if await self.expire_gift(uow, ctx.network_id, gift_id, grant_tx_id, GiftBreakage.RELEASED, now, why):
                revoked.append(gift_id)
        return revoked

    async def swept_points(
        self, uow: PosUnitOfWork, ctx: TerminalContext, pc: ProgramContext, member: MemberRef, now: datetime
    ) -> MemberPoints:
        """The member's points after posting any expired lots to breakage (the member is locked)."""
        return await self._sweep_expired(uow, ctx.network_id, pc, member, await uow.member_points(member), now)

    async def event_bonus(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member: MemberRef,
        trigger: Trigger,
        evaluation: Evaluation | None,
        now: datetime,
        state: MemberPoints,
        visit_id: str | None = None,
    ) -> GrantedBonus | None:
        """The fixed points of an event's rules at this outlet (a welcome bonus at enrolment, an entry bonus at a
        visit's start, a goodwill bonus on a refund) as one ledger transaction, owed by the outlet's partner; the
        member is locked. `evaluation` comes from `evaluate_at` (None: no rule of the event applies here); each rule's
        points go to a lot of its own expiry (`end_of_visit`: the visit `visit_id`, when one is open)."""
        if evaluation is None:
            return None
        pc = await self.program_context(uow, ctx.network_id)
        granted = event_grants(evaluation, pc.program.point_value_minor)
        if granted.points <= 0:
            return None
        (await self.matrix(uow, ctx.network_id)).require(ctx.outlet_id, ctx.outlet_name, POINTS, Operation.ACCRUE)
        accounts = await self.points_accounts(uow, ctx, pc, member)
        memo = f"{trigger.value}: {', '.join(granted.rules)}"
        place = AccrualPlace(zone_named(ctx.timezone), visit_id)
        plan = plan_bonus(
            pc.program, accounts, state, granted.points, now, memo, by_expiry=granted.by_expiry, place=place
        )
        tx_id = await uow.post(ctx.network_id, plan.transaction, ctx.outlet_id, now, now)
        await uow.apply_lots(tx_id, member.points_account_id, (), plan.new_lots)
        await uow.set_member_points(
            member.member_id, member.points_account_id, plan.balance_after, state.lifetime_spend_minor
        )
        return GrantedBonus(granted.points, granted.rules)

    async def grant_node_bonus(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        granted: EventGrants,
        memo: str,
        now: datetime,
    ) -> bool:
        """Points the network grants with no outlet (birthday, the close of a month), once per `memo`: the node
        carries their value. The member is locked; False when nothing was granted."""
        if granted.points <= 0 or await uow.has_bonus(member.points_account_id, memo):
            return False
        state = await uow.member_points(member)
        plan = plan_node_bonus(
            pc.program,
            pc.points_issued_account,
            member.points_account_id,
            state,
            granted.points,
            now,
            memo,
            by_expiry=granted.by_expiry,
        )
        tx_id = await uow.post(network_id, plan.transaction, None, now, now)
        await uow.apply_lots(tx_id, member.points_account_id, (), plan.new_lots)
        await uow.set_member_points(
            member.member_id, member.points_account_id, plan.balance_after, state.lifetime_spend_minor
        )
        return True

    async def _sweep_expired(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        state: MemberPoints,
        now: datetime,
    ) -> MemberPoints:
        return (await self._sweep(uow, network_id, pc, member, state, now))[0]

    async def _sweep(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        state: MemberPoints,
        now: datetime,
    ) -> tuple[MemberPoints, int]:
        """Post the member's expired lots to breakage (the member is locked): the points left, and the value
        returned to granting partners (minor units)."""
        if not has_expired_lots(state, now):
            return state, 0
        accounts, policy = await self.expiry_accounts(uow, network_id, pc, member, state.lots, now)
        expiry = plan_expiry(pc.program, accounts, state.lots, now, policy)
        if expiry is None:
            return state, 0
        tx_id = await uow.post(network_id, expiry.transaction, None, now, now)
        await uow.apply_lots(tx_id, member.points_account_id, expiry.takes, ())
        swept = after_expiry(state, expiry)
        await uow.set_member_points(
            member.member_id, member.points_account_id, swept.balance, swept.lifetime_spend_minor
        )
        return swept, expiry.returned_minor


def breakage_json(policy: BreakagePolicy) -> dict[str, Any]:
    return {"policy": policy.kind.value, "share_bp": policy.share_bp}


def purchase_record(
    ctx: TerminalContext,
    purchase: PurchaseInput,
    member: MemberRef,
    receipt: str,
    lines: tuple[BasketLine, ...],
    quote: Quote,
    occurred_at: datetime,
    new_tier: str | None = None,
) -> NewPurchase:
    """The purchase row to store, with a new id."""
    return NewPurchase(
        id=new_record_id(),
        terminal=ctx,
        cashier_login=purchase.cashier,
        member=member,
        receipt=receipt,
        check_minor=quote.check_minor,
        points_redeemed=quote.redeem_points,
        amount_due_minor=quote.amount_due_minor,
        points_earned=quote.points_to_earn,
        lines=lines,
        occurred_at=occurred_at,
        rule_set_version=quote.rule_set_version,
        applied_rules=quote.applied_rules,
        discount_minor=quote.discount_minor,
        new_tier=new_tier,
    )


def purchase_body(purchase: NewPurchase, points_balance: int, currency: str) -> dict[str, Any]:
    """The answer to a committed purchase, stored with it for replays."""
    return (
        {
            "id": purchase.id,
            "receipt": purchase.receipt,
            "amount": format_minor(purchase.check_minor, currency),
            "discount": format_minor(purchase.discount_minor, currency),
            "amount_due": format_minor(purchase.amount_due_minor, currency),
            "currency": currency,
            "points_redeemed": purchase.points_redeemed,
            "points_earned": purchase.points_earned,
            "points_balance": points_balance,
            "occurred_at": purchase.occurred_at.isoformat(),
        }
        | (
            {"rule_set_version": purchase.rule_set_version, "applied_rules": list(purchase.applied_rules)}
            if purchase.rule_set_version is not None
            else {}
        )
        | ({"tier": purchase.new_tier} if purchase.new_tier is not None else {})
    )


def replay(stored: StoredResponse, request_hash: str) -> CommandResult:
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key per attempt",
            field="Idempotency-Key",
        )
    return CommandResult(stored.status_code, stored.body, replayed=True)


def _conflict(duplicate: DuplicateKey) -> Conflict:
    messages = {
        "receipt": ("this receipt number is already recorded at this outlet", "receipt"),
        "identifier": ("one of these identifiers already belongs to a member of this network", "identifiers"),
        "card": ("a card with this number already exists in this network", "card_number"),
    }
    detail, field_name = messages.get(duplicate.what, ("a unique value is already taken", None))
    return Conflict(detail, field=field_name)


def customer_candidates(identifier: str, field_name: str = "customer") -> tuple[str, ...]:
    try:
        return lookup_candidates(identifier)
    except InvalidInput as error:
        raise InvalidInput(error.detail, field=field_name) from None


def member_not_found(identifier: str, field_name: str = "customer") -> MemberNotFound:
    return MemberNotFound(f"no member of this network has the identifier '{identifier}'", field=field_name)


async def usable_member_locked(
    uow: PosUnitOfWork, ctx: TerminalContext, customer: str, candidates: tuple[str, ...]
) -> MemberRef:
    """The member `customer` identifies (its `candidates` checked before the unit of work), locked, whose card may
    be used: what a visit's entry and a device's use start with."""
    member = await uow.find_member(ctx.network_id, candidates, lock=True)
    if member is None:
        raise member_not_found(customer)
    require_usable_card(member)
    return member


async def _find_member(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str, *, lock: bool, field_name: str
) -> MemberRef:
    member = await uow.find_member(ctx.network_id, customer_candidates(identifier, field_name), lock=lock)
    if member is None:
        raise member_not_found(identifier, field_name)
    return member


async def _peek_member_points(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str
) -> tuple[MemberRef, MemberPoints, int]:
    found = await uow.peek_member_points(ctx.network_id, customer_candidates(identifier))
    if found is None:
        raise member_not_found(identifier)
    return found


async def _find_member_points(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str
) -> tuple[MemberRef, MemberPoints]:
    found = await uow.find_member_points(ctx.network_id, customer_candidates(identifier))
    if found is None:
        raise member_not_found(identifier)
    return found


async def change_card_state(
    uow: PosUnitOfWork, network_id: int, number: str, action: CardAction, new_number: str | None, now: datetime
) -> dict[str, Any]:
    """Move a card through its life cycle (a replacement adds the new card to the same member, so the balance and
    the history stay with them); shared by the tills and the administrator's console."""
    card = await uow.find_member(network_id, customer_candidates(number, "number"), lock=True)
    if card is None:
        raise member_not_found(number, "number")
    if card.card_id is None or card.card_state is None:
        raise InvalidInput(f"'{number}' identifies a member, not a card", field="number")
    target = next_state(card.card_state, action)
    body: dict[str, Any] = {"number": card.card_number, "state": str(target), "member_id": card.member_id}
    replacement_id = None
    if action is CardAction.REPLACE and new_number:
        replacement = normalize(IdentifierKind.CARD, new_number, field="new_number")
        card_type = await uow.card_type(card.card_id)  # a social card's replacement is a social card
        replacement_id = await uow.add_card(network_id, card.member_id, replacement, CardState.ACTIVE, now, card_type)
        await uow.add_identifier(network_id, card.member_id, replacement_id, IdentifierKind.CARD, replacement)
        body["replaced_by"] = {"number": replacement, "state": str(CardState.ACTIVE)}
    await uow.set_card_state(card.card_id, target, now, replacement_id)
    return body


def require_usable_card(member: MemberRef) -> None:
    if member.card_state is not None and member.card_number is not None:
        require_usable(member.card_state, member.card_number)


def _refund_amount(program: BonusProgram, stored: StoredPurchase, refund: RefundInput) -> tuple[int, dict[str, int]]:
    """The refund measured on the check total before points, from an amount or from returned items."""
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


def _totals(stored: StoredPurchase) -> PurchaseTotals:
    return PurchaseTotals(
        check_minor=stored.check_minor,
        amount_due_minor=stored.amount_due_minor,
        points_earned=stored.points_earned,
        points_redeemed=stored.points_redeemed,
        refunded_before_minor=stored.refunded_before_minor,
        spent=stored.spent,
    )


def _enrolment_identifiers(enrol: EnrolInput) -> list[IdentifierInput]:
    if enrol.kind not in ("personal", "anonymous"):
        raise InvalidInput("kind is 'personal' or 'anonymous'", field="kind")
    found: list[IdentifierInput] = []
    if enrol.card_number:
        found.append(
            IdentifierInput(IdentifierKind.CARD, normalize(IdentifierKind.CARD, enrol.card_number, field="card_number"))
        )
    if enrol.profile.phone:
        found.append(
            IdentifierInput(
                IdentifierKind.PHONE, normalize(IdentifierKind.PHONE, enrol.profile.phone, field="profile.phone")
            )
        )
    for index, ident in enumerate(enrol.identifiers):
        found.append(
            IdentifierInput(ident.kind, normalize(ident.kind, ident.value, field=f"identifiers[{index}].value"))
        )
    values = [ident.value for ident in found]
    if len(set(values)) != len(values):
        raise InvalidInput("the same identifier is listed twice", field="identifiers")
    if not found:
        raise InvalidInput(
            "a member needs at least one identifier: a card number, a phone or another", field="card_number"
        )
    return found


def _clean_profile(enrol: EnrolInput) -> Profile:
    profile = enrol.profile
    if enrol.kind == "anonymous":
        if profile.name or profile.email or profile.birth_date or profile.phone:
            raise InvalidInput("an anonymous card has no profile; enrol a personal member instead", field="profile")
        return Profile()
    if not profile.consent_data_processing:
        raise InvalidInput(
            "a personal profile needs the customer's consent to data processing",
            field="profile.consent_data_processing",
        )
    if profile.phone:
        return replace(profile, phone=normalize(IdentifierKind.PHONE, profile.phone))
    return profile


def _member_json(member: MemberRef, profile: Profile, labels: MemberLabels) -> dict[str, Any]:
    return {
        "id": member.member_id,
        "kind": member.kind,
        "tier": labels.tier,
        "segments": list(labels.segments),
        "name": profile.name,
        "phone": profile.phone,
        "email": profile.email,
        "birth_date": profile.birth_date.isoformat() if profile.birth_date else None,
        "consent_data_processing": profile.consent_data_processing,
        "consent_newsletters": profile.consent_newsletters,
    }


def _card_json(member: MemberRef) -> dict[str, Any] | None:
    if member.card_number is None or member.card_state is None:
        return None
    return {"number": member.card_number, "state": str(member.card_state)}


def _tier_json(program: BonusProgram, tier: Tier) -> dict[str, Any]:
    return {
        "from_lifetime_spend": format_minor(tier.min_lifetime_spend_minor, program.currency),
        "accrual": format_basis_points(tier.accrual_bp),
        "fixed_points_per_check": tier.fixed_points_per_check,
        "redeem_cap": format_basis_points(tier.redeem_cap_bp),
        "min_check_for_redeem": format_minor(program.min_check_for_redeem_minor, program.currency),
    }


def _next_expiry(state: MemberPoints, now: datetime) -> dict[str, Any] | None:
    upcoming = sorted(
        (lot for lot in state.lots if lot.expires_at is not None and lot.expires_at > now and lot.remaining),
        key=lambda lot: lot.expires_at or now,
    )
    if not upcoming or upcoming[0].expires_at is None:
        return None
    return {"points": upcoming[0].remaining, "expires_at": upcoming[0].expires_at.isoformat()}


def _statement_json(line: StatementLine) -> dict[str, Any]:
    return {
        "tx_id": line.tx_id,
        "kind": line.kind,
        "occurred_at": line.occurred_at.isoformat(),
        "recorded_at": line.recorded_at.isoformat(),
        "outlet": line.outlet_name,
        "points": line.amount,
        "points_earned": line.points_earned,
        "points_spent": line.points_spent,
        "balance_after": line.balance_after,
        "memo": line.memo,
        "reverses_tx_id": line.reverses_tx_id,
    }


def member_facts(history: MemberHistory | None, lifetime_spend_minor: int, points_balance: int) -> MemberFacts:
    """What rules see of a member: the points and spend, and the history read when the rule set uses it."""
    facts = MemberFacts(lifetime_spend_minor=lifetime_spend_minor, points_balance=points_balance)
    if history is None:
        return facts
    return replace(
        facts,
        kind=history.kind,
        birth_date=history.birth_date,
        visit_count=history.visit_count,
        period_spend_minor=history.period_spend_minor,
        previous_period_spend_minor=history.previous_period_spend_minor,
        tier=history.tier,
        segments=history.segments,
        card_type=history.card_type,
    )


def evaluate_at(
    rules: CompiledRuleSet | None,
    trigger: Trigger,
    facts: MemberFacts,
    ctx: TerminalContext,
    now: datetime,
    total_minor: int = 0,
) -> Evaluation | None:
    """The rules of an event without a basket of goods at this terminal's outlet, in its local time; None when no
    rule of that trigger applies here (nothing is evaluated)."""
    if rules is None or not rules.candidates(trigger, ctx.partner_name, ctx.outlet_name):
        return None
    return evaluate_event(
        rules,
        trigger,
        facts,
        outlet=ctx.outlet_name,
        partner=ctx.partner_name,
        now_utc=now,
        local_time=now.astimezone(zone_named(ctx.timezone)),
        total_minor=total_minor,
    )


def price_with_rules(
    rules: CompiledRuleSet | None,
    ctx: TerminalContext,
    program: BonusProgram,
    lines: tuple[BasketLine, ...],
    check_minor: int,
    state: MemberPoints,
    redeem_points: int | None,
    now: datetime,
    coupons: Sequence[Coupon] = (),
    history: MemberHistory | None = None,
) -> Quote | None:
    """The quote of a published rule set, or None when the network has none (the bonus program prices it)."""
    if rules is None:
        return None
    spendable = points_balance(state, now)
    member = member_facts(history, state.lifetime_spend_minor, spendable)
    facts = PurchaseFacts(
        lines=tuple(
            LineFacts(line.sku, line.total_minor, line.quantity_milli, line.unit_price_minor, line.category, line.tags)
            for line in lines
        )
        or (LineFacts("", check_minor),),
        outlet=ctx.outlet_name,
        partner=ctx.partner_name,
        member=member,
        now_utc=now,
        local_time=now.astimezone(zone_named(ctx.timezone)),
        coupons=frozenset(coupon.code for coupon in coupons),
        coupon_campaigns=frozenset(coupon.campaign for coupon in coupons),
    )
    return quote_from_rules(
        evaluate(rules, facts),
        point_value_minor=program.point_value_minor,
        spendable_points=spendable,
        redeem_points=redeem_points,
        currency=program.currency,
    )


@dataclass(frozen=True, slots=True)
class PurchaseExtras:
    """What a purchase writes beyond its points: the coupons it uses, the coupons and the gifts its rules grant."""

    purchase_id: str
    used: tuple[Coupon, ...]
    issued: tuple[NewCoupon, ...]
    gifts: tuple[Gift, ...] = ()

    @classmethod
    def of(
        cls,
        quote: Quote,
        presented: Sequence[Coupon],
        purchase: NewPurchase,
        now: datetime,
        gift_types: Mapping[str, GiftType] | None = None,
    ) -> PurchaseExtras:
        used = tuple(presented) if quote.uses_coupons else ()
        issued = tuple(
            issued_coupon(campaign, purchase.member.member_id, days, uses, now, purchase.id)
            for campaign, days, uses in quote.coupons_to_issue
        )
        gifts = []
        for code, outlets, days in quote.gifts_to_grant:
            gift_type = (gift_types or {}).get(code)
            if gift_type is None:
                raise Conflict(
                    f"the rule set grants gift type '{code}', which this network does not have", field="rules"
                )
            valid_until = now + timedelta(days=days)
            gifts.append(
                Gift(
                    new_record_id(), gift_type, purchase.member.member_id, outlets, now, valid_until, GiftState.GRANTED
                )
            )
        return cls(purchase.id, used, issued, tuple(gifts))

    @property
    def needs_more_statements(self) -> bool:
        return bool(self.issued or self.gifts or self.used)

    def json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if self.used:
            answer["coupons_used"] = [coupon.code for coupon in self.used]
        if self.issued:
            answer["coupons_issued"] = [coupon_json(coupon) for coupon in self.issued]
        if self.gifts:
            answer["gifts_granted"] = [gift_json(gift) for gift in self.gifts]
        return answer

    async def write(
        self, uow: PosUnitOfWork, ctx: TerminalContext, accounts: PointsAccounts, money_asset: str, now: datetime
    ) -> None:
        if self.used:
            await uow.use_coupons([(coupon.id, self.purchase_id) for coupon in self.used], now)
        if self.issued:
            await uow.add_coupons(ctx.network_id, self.issued, now)
        await self.write_gifts(uow, ctx, accounts, money_asset, now)

    async def write_gifts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, accounts: PointsAccounts, money_asset: str, now: datetime
    ) -> None:
        """Each gift granted: the granting partner owes the node its price (its own `gift` transaction)."""
        for gift in self.gifts:
            memo = f"gift {gift.id} granted: {gift.gift_type.name}"
            tx = grant_transaction(
                accounts.partner_obligations, accounts.node_obligations, money_asset, gift.gift_type.price_minor, memo
            )
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
            await uow.insert_gift(ctx.network_id, gift, ctx.outlet_id, tx_id, self.purchase_id)


def coupon_json(coupon: NewCoupon) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "campaign": coupon.campaign,
        "valid_until": coupon.valid_until.isoformat(),
        "uses": coupon.max_uses,
    }


def gift_json(gift: Gift) -> dict[str, Any]:
    return {
        "id": gift.id,
        "gift_type": gift.gift_type.code,
        "name": gift.gift_type.name,
        "outlets": sorted(gift.outlets),
        "valid_until": gift.valid_until.isoformat(),
    }


async def gift_types_for(uow: PosUnitOfWork, ctx: TerminalContext, quote: Quote) -> dict[str, GiftType]:
    if not quote.gifts_to_grant:
        return {}
    return await uow.gift_types(ctx.network_id, sorted({code for code, _, _ in quote.gifts_to_grant}))


async def _accepted_coupons(
    uow: PosUnitOfWork, ctx: TerminalContext, member: MemberRef, codes: tuple[str, ...], now: datetime, *, lock: bool
) -> tuple[Coupon, ...]:
    if not codes:
        return ()
    return accept_coupons(codes, await uow.coupons(ctx.network_id, codes, lock=lock), member.member_id, now)


def tier_change(quote: Quote, history: MemberHistory | None) -> str | None:
    """The tier an applied rule moves the member to, or None when no rule does or they are in it already."""
    if quote.new_tier is None or (history is not None and history.tier == quote.new_tier):
        return None
    return quote.new_tier


async def member_history(
    uow: PosUnitOfWork, rules: CompiledRuleSet | None, ctx: TerminalContext, member: MemberRef, now: datetime
) -> MemberHistory | None:
    """One more read, only when the rule set in force uses visits, period spends, the birthday or the kind."""
    if rules is None or not rules.needs_member_history:
        return None
    local = now.astimezone(zone_named(ctx.timezone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous_month_start = (month_start - timedelta(days=1)).replace(day=1)
    return await uow.member_history(member.member_id, member.card_id, month_start, previous_month_start)


async def accrual_place(uow: PosUnitOfWork, ctx: TerminalContext, member_id: int, priced: Quote | None) -> AccrualPlace:
    """The outlet's time zone and — read only when an accrual ends with the visit — the member's open visit."""
    zone = zone_named(ctx.timezone)
    if priced is None or all(expiry.kind is not ExpiryKind.END_OF_VISIT for expiry, _ in priced.earned_by_expiry):
        return AccrualPlace(zone)
    visit = await uow.open_visit_of(member_id)
    return AccrualPlace(zone, visit.id if visit is not None else None)


def points_expiring_json(new_lots: tuple[NewLot, ...]) -> dict[str, Any]:
    """When the points a purchase earns expire (only when some do): the lots they go to, soonest first."""
    expiring = expiring_lots(new_lots)
    if not expiring:
        return {}
    return {
        "points_expiring": [
            {"points": lot.points, "expires_at": lot.expires_at.isoformat() if lot.expires_at else None}
            | ({"visit_id": lot.ends_with_visit_id} if lot.ends_with_visit_id is not None else {})
            for lot in expiring
        ]
    }


@functools.lru_cache(maxsize=256)
def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)
