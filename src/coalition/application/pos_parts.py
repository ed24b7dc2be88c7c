"""What the POS commands outside the purchase need of the point of sale service: its unit of work and clock, the
cached contexts (program, permissions, partner accounts), the idempotent run of a write, and the points operations
the events share. Each module of the POS (members, enrolment, cards, refunds, gifts, visits, devices) takes a
`PosParts`, not the whole service, so it declares what it uses and imports nothing of `pos`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.ports import (
    Clock,
    MemberHistory,
    MemberRef,
    PosUnitOfWork,
    ProgramContext,
    TerminalContext,
    UnitOfWorkFactory,
)
from coalition.application.pos_ports.outbox import OutboxWriter
from coalition.application.pos_results import CommandResult, GrantedBonus
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.gifts import GiftBreakage
from coalition.domain.lots import Lot
from coalition.domain.permissions import Matrix
from coalition.domain.purchase import ExpiryAccounts, MemberPoints, PointsAccounts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import Trigger

T = TypeVar("T")


class PosParts(Protocol):
    unit_of_work: UnitOfWorkFactory
    clock: Clock
    occurred_at_window: OccurredAtWindow  # how far back (and ahead) a till's own time is taken

    def answered(self, status_code: int, result: T) -> CommandResult[T]:
        """A command's typed answer with its JSON, written once (and stored for replays by `idempotent`)."""
        ...

    async def emit(
        self, uow: OutboxWriter, network_id: int, kind: str, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> None:
        """Queue a webhook event in `uow`'s transaction, when a subscription listens (nothing written otherwise)."""
        ...

    async def listens(self, network_id: int, kind: str) -> bool:
        """Whether a webhook subscription of the network listens to `kind` (cached: no database round trip)."""
        ...

    async def idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[PosUnitOfWork, str], Awaitable[CommandResult[Any]]],
    ) -> CommandResult[Any]: ...

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
        """`idempotent` for an operation that may give up (None: nothing written, try otherwise)."""
        ...

    async def rule_set_in_force(self, network_id: int) -> CompiledRuleSet | None: ...

    async def read_member_history(
        self, uow: PosUnitOfWork, rules: CompiledRuleSet | None, ctx: TerminalContext, member: MemberRef, now: datetime
    ) -> MemberHistory | None:
        """The member's history when the rule set in force reads it (visits, period spends, birthday, kind)."""
        ...

    async def program_context(self, uow: PosUnitOfWork, network_id: int) -> ProgramContext: ...
    async def matrix(self, uow: PosUnitOfWork, network_id: int) -> Matrix: ...
    async def partner_account(self, uow: PosUnitOfWork, network_id: int, partner_id: int) -> int: ...
    async def prepaid_account(self, uow: PosUnitOfWork, ctx: TerminalContext, currency: str) -> int: ...
    async def require_cashier(self, uow: PosUnitOfWork, ctx: TerminalContext, login: str | None) -> None: ...

    async def points_accounts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, pc: ProgramContext, member: MemberRef
    ) -> PointsAccounts: ...

    async def breakage_policy(self, uow: PosUnitOfWork, network_id: int) -> BreakagePolicy: ...

    async def expiry_accounts(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        lots: tuple[Lot, ...],
        now: datetime,
    ) -> tuple[ExpiryAccounts, BreakagePolicy]: ...

    async def swept_points(
        self, uow: PosUnitOfWork, ctx: TerminalContext, pc: ProgramContext, member: MemberRef, now: datetime
    ) -> MemberPoints: ...

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
    ) -> GrantedBonus | None: ...

    async def expire_gift(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        gift_id: str,
        grant_tx_id: int,
        policy: GiftBreakage,
        now: datetime,
        why: str = "expired",
    ) -> GiftBreakage | None: ...
