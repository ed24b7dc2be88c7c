"""What the purchase pipeline uses of the point of sale's service (its caches of programs, accounts, matrices and
rule sets, its idempotency and expiry sweeps): declared here, so the pipeline does not import `pos`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from coalition.application.commands import CommandResult
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.ports import (
    Clock,
    MemberRef,
    PosUnitOfWork,
    ProgramContext,
    StoredResponse,
    TerminalContext,
    UnitOfWorkFactory,
)
from coalition.application.tenders import GiftCardFundsReader
from coalition.application.webhooks import WebhookEvents
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.lots import Lot
from coalition.domain.permissions import Matrix
from coalition.domain.purchase import ExpiryAccounts, MemberPoints, PointsAccounts
from coalition.domain.rules.engine import CompiledRuleSet


class PurchaseSupport(Protocol):
    unit_of_work: UnitOfWorkFactory
    clock: Clock
    occurred_at_window: OccurredAtWindow
    gift_cards: GiftCardFundsReader | None  # None: gift cards are not taken as tenders (a service without them)
    webhook_events: WebhookEvents | None  # None: no webhooks (a service without them)

    async def rule_set_in_force(self, network_id: int) -> CompiledRuleSet | None: ...
    async def rule_set_at(self, network_id: int, occurred_at: datetime | None) -> CompiledRuleSet | None: ...
    async def program_context(self, uow: PosUnitOfWork, network_id: int) -> ProgramContext: ...
    async def require_cashier(self, uow: PosUnitOfWork, ctx: TerminalContext, login: str | None) -> None: ...
    async def points_accounts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, pc: ProgramContext, member: MemberRef
    ) -> PointsAccounts: ...
    async def prepaid_account(self, uow: PosUnitOfWork, ctx: TerminalContext, currency: str) -> int: ...
    async def matrix(self, uow: PosUnitOfWork, network_id: int) -> Matrix: ...
    async def expiry_accounts(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        lots: tuple[Lot, ...],
        now: datetime,
    ) -> tuple[ExpiryAccounts, BreakagePolicy]: ...
    async def sweep_expired(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        member: MemberRef,
        state: MemberPoints,
        now: datetime,
    ) -> MemberPoints: ...
    async def maybe_idempotent(
        self,
        ctx: TerminalContext,
        idempotency_key: str | None,
        request_hash: str,
        operation: Callable[[PosUnitOfWork, str], Awaitable[CommandResult | None]],
        *,
        look_up_first: bool = True,
        autocommit: bool = False,
    ) -> CommandResult | None: ...
    async def stored_answer(self, ctx: TerminalContext, key: str) -> StoredResponse | None: ...
