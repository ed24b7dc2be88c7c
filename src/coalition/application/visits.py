"""Visits to a closed venue: the entry turnstile starts one, the exit ends it (see domain/visits.py).

A visit's start runs the `visit_start` rules (an entry bonus: fixed points, owed by the entry outlet's partner); its
end runs the `visit_end` rules, and a `reset_balances` effect resets what the visit left unused — points as
breakage (like points that expire), gifts as expired gifts under the network's gift breakage policy. Both are
idempotent writes of a terminal, like a purchase.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from coalition.application.commands import customer_candidates
from coalition.application.members_pos import usable_member_locked
from coalition.application.ports import (
    MemberRef,
    PosUnitOfWork,
    ProgramContext,
    ReferencePort,
    TerminalContext,
    VisitsPort,
)
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult, VisitEnded, VisitReset, VisitStarted, VisitView
from coalition.application.record_ids import new_record_id
from coalition.application.rule_events import evaluate_at, member_facts
from coalition.domain.errors import Conflict, NotFound
from coalition.domain.lots import Lot
from coalition.domain.purchase import MemberPoints, points_balance
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.model import Trigger
from coalition.domain.visits import (
    Visit,
    after_reset,
    lots_ending_with_visit,
    lots_to_reset,
    plan_reset,
    points_left_from_visit,
    require_open,
)


class VisitService:
    def __init__(self, pos: PosParts) -> None:
        self.pos = pos

    async def start(
        self, ctx: TerminalContext, customer: str, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[VisitStarted]:
        candidates = customer_candidates(customer, region=ctx.phone_region)
        rules = await self.pos.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[VisitStarted]:
            now = self.pos.clock.now()
            member = await usable_member_locked(uow, ctx, customer, candidates)
            open_visit = await uow.open_visit_of(member.member_id)
            if open_visit is not None:
                since = open_visit.started_at.isoformat()
                raise Conflict(f"the member is in visit {open_visit.id} already, since {since}", field="customer")
            pc = await self.pos.program_context(uow, ctx.network_id)
            state = await self.pos.swept_points(uow, ctx, pc, member, now)
            visit = Visit(new_record_id(), member.member_id, ctx.outlet_id, now)
            await uow.insert_visit(ctx.network_id, visit)
            facts = await self._member_facts(uow, rules, ctx, member, now, state)
            entry = evaluate_at(rules, Trigger.VISIT_START, facts, ctx, now)
            bonus = await self.pos.event_bonus(uow, ctx, member, Trigger.VISIT_START, entry, now, state, visit.id)
            balance = points_balance(state, now) + (bonus.points if bonus else 0)
            started = VisitStarted(_visit_view(visit, ctx.outlet_name, None), balance, bonus)
            return self.pos.answered(201, started)

        result: CommandResult[VisitStarted] = await self.pos.idempotent(ctx, idempotency_key, request_hash, record)
        return result

    async def end(
        self, ctx: TerminalContext, visit_id: str, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[VisitEnded]:
        rules = await self.pos.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[VisitEnded]:
            now = self.pos.clock.now()
            visit = await _visit(uow, ctx, visit_id, to_end=True)
            require_open(visit)
            member = await uow.member_by_id(visit.member_id)
            await uow.lock_member(member.member_id)
            pc = await self.pos.program_context(uow, ctx.network_id)
            state = await self.pos.swept_points(uow, ctx, pc, member, now)
            state, expired = await self._expire_visit_lots(uow, ctx, pc, member, visit, state, now)
            facts = await self._member_facts(uow, rules, ctx, member, now, state)
            exit_rules = evaluate_at(rules, Trigger.VISIT_END, facts, ctx, now)
            reset, codes = (exit_rules.reset, exit_rules.applied_rules) if exit_rules else (None, ())
            points = 0
            gifts: list[str] = []
            reset_tx_id = None
            if reset is not None and reset.points:
                added = await uow.points_added_since(member.points_account_id, visit.started_at)
                due = lots_to_reset(state, points_left_from_visit(state.balance, added), now)
                state, points, reset_tx_id = await self._post_breakage(
                    uow, ctx, pc, member, visit, state, due, now, "unused points reset"
                )
            if reset is not None and reset.gifts:
                gift_policy = await uow.gift_breakage(ctx.network_id)
                for gift_id, grant_tx_id in await uow.open_gifts_granted_since(member.member_id, visit.started_at):
                    if await self.pos.expire_gift(uow, ctx.network_id, gift_id, grant_tx_id, gift_policy, now):
                        gifts.append(gift_id)
            ended = replace(
                visit, ended_at=now, exit_outlet_id=ctx.outlet_id, points_reset=points, gifts_reset=len(gifts)
            )
            if not await uow.end_visit(ended, reset_tx_id):
                raise Conflict(f"visit {visit.id} ended meanwhile", field="visit_id")
            view = _visit_view(ended, await _outlet_name(uow, ctx, visit), ctx.outlet_name)
            reset_done = VisitReset(points, tuple(gifts), tuple(codes))
            return self.pos.answered(200, VisitEnded(view, points_balance(state, now), expired, reset_done))

        result: CommandResult[VisitEnded] = await self.pos.idempotent(ctx, idempotency_key, request_hash, record)
        return result

    async def _expire_visit_lots(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        pc: ProgramContext,
        member: MemberRef,
        visit: Visit,
        state: MemberPoints,
        now: datetime,
    ) -> tuple[MemberPoints, int]:
        """Sweep to breakage what is left of the points end_of_visit accruals granted during this visit (the member
        is locked); the member's points after, and the points swept. Before any reset: the reset then sees the
        visit's net addition without them (their sweep is a posting of the visit too)."""
        lot_ids = await uow.lots_ending_with_visit(member.points_account_id, visit.id)
        due = lots_ending_with_visit(state, lot_ids, now)
        swept, points, _ = await self._post_breakage(uow, ctx, pc, member, visit, state, due, now, "its points expired")
        return swept, points

    async def _post_breakage(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        pc: ProgramContext,
        member: MemberRef,
        visit: Visit,
        state: MemberPoints,
        due: tuple[Lot, ...],
        now: datetime,
        what: str,
    ) -> tuple[MemberPoints, int, int | None]:
        """Post `due` (lots expiring now) to breakage under the network's policy, at this exit: the member's points
        after, the points posted and the ledger transaction (None when there was nothing to post)."""
        if not due:
            return state, 0, None
        accounts, policy = await self.pos.expiry_accounts(uow, ctx.network_id, pc, member, due, now)
        after, points, first_tx_id = state, 0, None
        # a transaction takes so many granting partners' postings (plan_expiry): as many as the lots need
        while due and (plan := plan_reset(pc.program, accounts, due, now, policy, visit.id, what)) is not None:
            tx_id = await uow.post(ctx.network_id, plan.transaction, ctx.outlet_id, now, now)
            await uow.apply_lots(tx_id, member.points_account_id, plan.takes, ())
            after, points, first_tx_id = after_reset(after, plan), points + plan.points, first_tx_id or tx_id
            taken = {take.lot_id for take in plan.takes}
            due = tuple(lot for lot in due if lot.id not in taken)
        if first_tx_id is None:
            return state, 0, None
        await uow.set_member_points(
            member.member_id, member.points_account_id, after.balance, after.lifetime_spend_minor
        )
        return after, points, first_tx_id

    async def show(self, ctx: TerminalContext, visit_id: str) -> VisitView:
        async with self.pos.unit_of_work() as uow:
            visit = await _visit(uow, ctx, visit_id, to_end=False)
            exit_name = await uow.outlet_name(visit.exit_outlet_id) if visit.exit_outlet_id is not None else None
            return _visit_view(visit, await _outlet_name(uow, ctx, visit), exit_name)

    async def _member_facts(
        self,
        uow: PosUnitOfWork,
        rules: CompiledRuleSet | None,
        ctx: TerminalContext,
        member: MemberRef,
        now: datetime,
        state: MemberPoints,
    ) -> MemberFacts:
        history = await self.pos.read_member_history(uow, rules, ctx, member, now)
        return member_facts(history, state.lifetime_spend_minor, points_balance(state, now))


async def _visit(uow: VisitsPort, ctx: TerminalContext, visit_id: str, *, to_end: bool) -> Visit:
    """A visit in this terminal's reach: to end it (locked), one an outlet of its partner opened; to read it, also
    one in which the member bought at an outlet of its partner. Any other visit, of this network or another, is not
    found, so a till learns nothing about it (docs/terminal-reach.md)."""
    visit = await uow.visit(
        ctx.network_id, visit_id.strip(), lock=to_end, partner_id=ctx.partner_id, bought_in=not to_end
    )
    if visit is None:
        raise NotFound(f"this outlet's partner has no visit '{visit_id}'", field="visit_id")
    return visit


async def _outlet_name(uow: ReferencePort, ctx: TerminalContext, visit: Visit) -> str:
    if visit.entry_outlet_id == ctx.outlet_id:
        return ctx.outlet_name
    return await uow.outlet_name(visit.entry_outlet_id)


def _visit_view(visit: Visit, entry_outlet: str, exit_outlet: str | None) -> VisitView:
    return VisitView(
        id=visit.id,
        is_open=visit.is_open,
        entry_outlet=entry_outlet,
        started_at=visit.started_at,
        exit_outlet=exit_outlet,
        ended_at=visit.ended_at,
        member_id=visit.member_id,
    )
