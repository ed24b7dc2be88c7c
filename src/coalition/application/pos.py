"""Commands and queries of the point of sale: identify, quote, purchase, refund, enrol, cards.

Each public method runs in one unit of work. Writes carry an idempotency key: the first answer is stored in the
same transaction as the write, so a retry replays it and a different request under the same key is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from coalition.application import cards_pos, enrolment, gifts, members_pos, points_expiry, refunds, rule_events
from coalition.application.access import refuse_revoked
from coalition.application.basket import parse_basket, required_text
from coalition.application.cache import ACCESS_CHANGES, AccessChanges, TtlCache
from coalition.application.enrolment import EnrolInput
from coalition.application.key_life import still_valid
from coalition.application.members_pos import customer_candidates, member_not_found
from coalition.application.members_pos import find_member as _find_member
from coalition.application.members_pos import require_usable_card as require_usable_card  # batch's import
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.ports import (
    Clock,
    IdempotencyRecord,
    MemberHistory,
    MemberRef,
    NewPurchase,
    PosUnitOfWork,
    ProgramContext,
    PurchaseWrite,
    StoredResponse,
    TerminalContext,
    UnitOfWorkFactory,
)
from coalition.application.pos_results import (
    AnswerJson,
    CardChanged,
    CardIssued,
    Enrolment,
    GiftHonoured,
    GrantedBonus,
    MemberStatement,
    MemberSummary,
    Refunded,
)
from coalition.application.pos_results import CommandResult as CommandResult  # batch's import
from coalition.application.record_ids import new_record_id
from coalition.application.refunds import RefundInput
from coalition.application.rule_events import member_facts, zone_named
from coalition.domain.bonus import BonusProgram, Quote, Tier
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.cards import CardAction
from coalition.domain.coupons import Coupon, NewCoupon, accept_coupons, issued_coupon, normalize_codes
from coalition.domain.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    Unauthorized,
)
from coalition.domain.gifts import (
    Gift,
    GiftBreakage,
    GiftState,
    GiftType,
    grant_transaction,
)
from coalition.domain.lots import Lot
from coalition.domain.members import DEFAULT_CARD_TYPE
from coalition.domain.money import (
    format_basis_points,
    format_minor,
)
from coalition.domain.permissions import OPEN, POINTS, Matrix, Operation, gift_counter
from coalition.domain.purchase import (
    AccrualPlace,
    BasketLine,
    ExpiryAccounts,
    MemberPoints,
    NewLot,
    PointsAccounts,
    accrual_lots,
    expiring_lots,
    has_expired_lots,
    plan_purchase,
    points_balance,
    quote_for,
)
from coalition.domain.rules.context import LineFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation, evaluate
from coalition.domain.rules.model import ExpiryKind, Trigger
from coalition.domain.rules.pricing import EventGrants, quote_from_rules

if TYPE_CHECKING:
    from coalition.application.batch import BatchItem

T = TypeVar("T")

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
        *,
        answer_json: AnswerJson,
    ) -> None:
        self.unit_of_work = unit_of_work
        # writes a typed answer as the API's JSON, once, to answer it and store it for replays (the HTTP layer's)
        self.answer_json = answer_json
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

    async def member_summary(self, ctx: TerminalContext, identifier: str) -> MemberSummary:
        return await members_pos.member_summary(self, ctx, identifier)

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

    async def statement(self, network_id: int, identifier: str, limit: int = 500) -> MemberStatement:
        return await members_pos.statement(self, network_id, identifier, limit)

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
    ) -> CommandResult[Refunded]:
        return await refunds.refund(self, ctx, purchase_id, refund, idempotency_key, request_hash)

    async def enrol(
        self, ctx: TerminalContext, enrol: EnrolInput, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[Enrolment]:
        return await enrolment.enrol(self, ctx, enrol, idempotency_key, request_hash)

    async def issue_card(
        self,
        ctx: TerminalContext,
        number: str,
        member_identifier: str | None,
        idempotency_key: str | None,
        request_hash: str,
        card_type: str = DEFAULT_CARD_TYPE,
    ) -> CommandResult[CardIssued]:
        return await cards_pos.issue_card(
            self, ctx, number, member_identifier, idempotency_key, request_hash, card_type
        )

    async def change_card(
        self,
        ctx: TerminalContext,
        number: str,
        action: CardAction,
        new_number: str | None,
        idempotency_key: str | None,
        request_hash: str,
    ) -> CommandResult[CardChanged]:
        return await cards_pos.change_card(self, ctx, number, action, new_number, idempotency_key, request_hash)

    async def honour_gift(
        self, ctx: TerminalContext, gift_id: str, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[GiftHonoured]:
        return await gifts.honour_gift(self, ctx, gift_id, idempotency_key, request_hash)

    async def purchase_batch(
        self, ctx: TerminalContext, items: Sequence[BatchItem]
    ) -> list[CommandResult | DomainError]:
        """Many purchases in one unit of work; each item gets its own answer (see `application.batch`)."""
        from coalition.application.batch import BatchRecorder  # batch builds on this module

        return await BatchRecorder(self, ctx).run(items)

    # --- helpers ------------------------------------------------------------------------------------------

    def answered(self, status_code: int, result: T) -> CommandResult[T]:
        """A command's typed answer with its JSON, written once: `idempotent` stores that JSON for replays."""
        return CommandResult(status_code, self.answer_json(result), result=result)

    async def idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[PosUnitOfWork, str], Awaitable[CommandResult[Any]]],
    ) -> CommandResult[Any]:
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
        return await points_expiry.expiry_accounts(self, uow, network_id, pc, member, lots, now)

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
        return await points_expiry.expire_points(self, network_id, progress)

    async def expire_gifts(self, network_id: int) -> dict[str, Any]:
        return await gifts.expire_gifts(self, network_id)

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
        return await gifts.expire_gift(uow, network_id, gift_id, grant_tx_id, policy, now, why)

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
        return await rule_events.event_bonus(self, uow, ctx, member, trigger, evaluation, now, state, visit_id)

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
        return await rule_events.grant_node_bonus(uow, network_id, pc, member, granted, memo, now)

    async def read_member_history(
        self, uow: PosUnitOfWork, rules: CompiledRuleSet | None, ctx: TerminalContext, member: MemberRef, now: datetime
    ) -> MemberHistory | None:
        return await member_history(uow, rules, ctx, member, now)  # the module's function, shared with the purchase

    async def _sweep_expired(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        state: MemberPoints,
        now: datetime,
    ) -> MemberPoints:
        return (await points_expiry.sweep(self, uow, network_id, pc, member, state, now))[0]


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


def _tier_json(program: BonusProgram, tier: Tier) -> dict[str, Any]:
    return {
        "from_lifetime_spend": format_minor(tier.min_lifetime_spend_minor, program.currency),
        "accrual": format_basis_points(tier.accrual_bp),
        "fixed_points_per_check": tier.fixed_points_per_check,
        "redeem_cap": format_basis_points(tier.redeem_cap_bp),
        "min_check_for_redeem": format_minor(program.min_check_for_redeem_minor, program.currency),
    }


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
