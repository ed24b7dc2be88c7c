"""Commands and queries of the point of sale: identify, quote, purchase, refund, enrol, cards.

Each public method runs in one unit of work. Writes carry an idempotency key: the first answer is stored in the
same transaction as the write, so a retry replays it and a different request under the same key is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from coalition.application import (
    cards_pos,
    enrolment,
    gifts,
    members_pos,
    points_expiry,
    refund_batch,
    refunds,
    rule_events,
)
from coalition.application.basket import required_text
from coalition.application.cache import ACCESS_CHANGES, AccessChanges, TtlCache
from coalition.application.commands import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    DuplicateKey,
    PurchaseInput,
    key_hash,
    member_history,
    replay,
)
from coalition.application.enrolment import EnrolInput
from coalition.application.key_life import still_valid
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.ports import (
    EVERY_LINE,
    Clock,
    LineWindow,
    MemberHistory,
    MemberRef,
    PosUnitOfWork,
    ProgramContext,
    StoredResponse,
    TerminalContext,
    UnitOfWorkFactory,
)
from coalition.application.pos_ports.outbox import OutboxWriter
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
from coalition.application.purchases.batch import BatchItem, BatchRecorder
from coalition.application.purchases.record import Purchases
from coalition.application.purchases.results import QuoteResult
from coalition.application.refund_batch import RefundBatchItem, RefundOutcome
from coalition.application.refunds import RefundInput
from coalition.application.tenders import GiftCardFundsReader
from coalition.application.webhooks import WebhookEvents
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.cards import CardAction
from coalition.domain.coupons import NewCoupon
from coalition.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    Unauthorized,
)
from coalition.domain.gifts import (
    Gift,
    GiftBreakage,
)
from coalition.domain.lots import Lot
from coalition.domain.members import DEFAULT_CARD_TYPE
from coalition.domain.money import (
    format_basis_points,
    format_minor,
)
from coalition.domain.permissions import OPEN, Matrix
from coalition.domain.purchase import (
    ExpiryAccounts,
    MemberPoints,
    PointsAccounts,
)
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.pricing import EventGrants

T = TypeVar("T")

RulesInForce = Callable[[int], Awaitable[CompiledRuleSet | None]]
RulesAt = Callable[[int, datetime], Awaitable[CompiledRuleSet | None]]


class PosService:
    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        cache_ttl_seconds: float = 5.0,
        rules_in_force: RulesInForce | None = None,
        access_changes: AccessChanges = ACCESS_CHANGES,
        occurred_at_window: OccurredAtWindow = OccurredAtWindow(),
        rules_at: RulesAt | None = None,
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
        self._rules_at = rules_at  # the set in force at an offline sale's time (cached by the rules service)
        self.purchases = Purchases(self)
        self.gift_cards: GiftCardFundsReader | None = None  # the gift cards' service, set by the wiring
        self.webhook_events: WebhookEvents | None = None  # issue 16: events queued for webhooks, set by the wiring
        self._rule_sets: TtlCache[int, tuple[CompiledRuleSet | None]] = TtlCache(cache_ttl_seconds)
        # who may act is dropped from every worker's cache as soon as it changes (see AccessChanges)
        self._terminals: TtlCache[str, TerminalContext] = TtlCache(cache_ttl_seconds, changes=access_changes)
        self._programs: TtlCache[int, ProgramContext] = TtlCache(cache_ttl_seconds)
        self._matrices: TtlCache[int, tuple[Matrix]] = TtlCache(cache_ttl_seconds)
        self._partner_accounts: TtlCache[tuple[int, int], int] = TtlCache(cache_ttl_seconds)
        self._prepaid_accounts: TtlCache[tuple[int, int, str], int] = TtlCache(cache_ttl_seconds)
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

    async def quote(self, ctx: TerminalContext, purchase: PurchaseInput) -> QuoteResult:
        """What a purchase would do (see `application.purchases`); nothing is written."""
        return await self.purchases.quote(ctx, purchase)

    async def rule_set_in_force(self, network_id: int) -> CompiledRuleSet | None:
        if self._rules_in_force is None:
            return None
        load = self._rules_in_force

        async def wrapped() -> tuple[CompiledRuleSet | None]:
            return (await load(network_id),)  # a tuple, so that "no rule set" is cached too

        found = await self._rule_sets.get_or_load(network_id, wrapped)
        return found[0] if found else None

    async def rule_set_at(self, network_id: int, occurred_at: datetime | None) -> CompiledRuleSet | None:
        """The rule set that prices a sale of `occurred_at` (a till's time, for offline sales): the one in force
        then; without a time (or without its offset, which the purchase refuses) the one in force now."""
        if occurred_at is None or occurred_at.utcoffset() is None or self._rules_at is None:
            return await self.rule_set_in_force(network_id)
        return await self._rules_at(network_id, occurred_at)

    async def statement(
        self, network_id: int, identifier: str, limit: int = 500, window: LineWindow = EVERY_LINE
    ) -> MemberStatement:
        return await members_pos.statement(self, network_id, identifier, limit, window)

    # --- commands -----------------------------------------------------------------------------------------

    async def purchase(
        self, ctx: TerminalContext, purchase: PurchaseInput, idempotency_key: str | None, request_hash: str
    ) -> CommandResult:
        """Record a purchase once per key (see `application.purchases`)."""
        return await self.purchases.purchase(ctx, purchase, idempotency_key, request_hash)

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
        """Many purchases in one unit of work; each item gets its own answer (see `application.purchases.batch`)."""
        return await BatchRecorder(self, ctx).run(items)

    async def refund_batch(self, ctx: TerminalContext, items: Sequence[RefundBatchItem]) -> list[RefundOutcome]:
        """Many refunds, each its own single refund under its own key (see `application.refund_batch`)."""
        return await refund_batch.refund_batch(self, ctx, items)

    async def emit(
        self, uow: OutboxWriter, network_id: int, kind: str, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> None:
        if self.webhook_events is not None:
            await self.webhook_events.emit(uow, network_id, kind, event_id, data, now)

    async def listens(self, network_id: int, kind: str) -> bool:
        return self.webhook_events is not None and await self.webhook_events.listens(network_id, kind)

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
        result = await self.maybe_idempotent(ctx, idempotency_key, request_hash, operation)
        if result is None:
            raise RuntimeError("an idempotent command wrote nothing")
        return result

    async def maybe_idempotent(
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
        read up front: the write itself collides on the key. A refusal looks for a stored answer before it is
        reported, so a retry of a committed write (or one committed while this one waited) replays instead of being
        judged again."""
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
            # a refusal may be this request losing a race to its own twin (a retry sent while the first was still
            # running), refused for what the twin did (a refund of all that is left, once more): the twin's answer
            # stored meanwhile is this one's too
            stored = await self._stored(ctx, key)
            if stored is None:
                raise
            return replay(stored, request_hash)

    async def stored_answer(self, ctx: TerminalContext, key: str) -> StoredResponse | None:
        """The answer stored under this key, read in a unit of work of its own."""
        return await self._stored(ctx, key)

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

    def forget_rule_sets(self) -> None:
        """A rule set was published in this process: price by it from the next purchase on."""
        self._rule_sets.clear()

    def forget_terminal_keys(self) -> None:
        """After a terminal was revoked: this process drops every cached key (the admin service has also moved
        the shared AccessChanges, so the other workers drop theirs)."""
        self._terminals.clear()

    def forget_programs(self) -> None:
        self._programs.clear()

    def forget_matrix(self) -> None:
        """After the administrator changed a matrix: this process sees it at once (others within the cache time)."""
        self._matrices.clear()

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

    async def prepaid_account(self, uow: PosUnitOfWork, ctx: TerminalContext, currency: str) -> int:
        """The PREPAID account of the terminal's partner, which money from wallets and gift cards pays (cached like
        its obligations account). Every partner has it from its creation on (migration 0034 for older ones), so it
        is only ever read, never created here: a cached id is always a committed account."""
        found = await self._prepaid_accounts.get_or_load(
            (ctx.network_id, ctx.partner_id, currency),
            lambda: uow.partner_prepaid_account(ctx.network_id, ctx.partner_id, currency),
        )
        if found is None:
            raise LookupError(f"partner {ctx.partner_id} has no prepaid {currency} account (migration 0034 adds it)")
        return found

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
        return await self.sweep_expired(uow, ctx.network_id, pc, member, await uow.member_points(member), now)

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

    async def sweep_expired(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        state: MemberPoints,
        now: datetime,
    ) -> MemberPoints:
        return (await points_expiry.sweep(self, uow, network_id, pc, member, state, now))[0]


def _conflict(duplicate: DuplicateKey) -> Conflict:
    messages = {
        "receipt": ("this receipt number is already recorded at this outlet", "receipt"),
        "identifier": ("one of these identifiers already belongs to a member of this network", "identifiers"),
        "card": ("a card with this number already exists in this network", "card_number"),
    }
    detail, field_name = messages.get(duplicate.what, ("a unique value is already taken", None))
    return Conflict(detail, field=field_name)


def _tier_json(program: BonusProgram, tier: Tier) -> dict[str, Any]:
    return {
        "from_lifetime_spend": format_minor(tier.min_lifetime_spend_minor, program.currency),
        "accrual": format_basis_points(tier.accrual_bp),
        "fixed_points_per_check": tier.fixed_points_per_check,
        "redeem_cap": format_basis_points(tier.redeem_cap_bp),
        "min_check_for_redeem": format_minor(program.min_check_for_redeem_minor, program.currency),
    }


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
