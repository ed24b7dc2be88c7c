"""Rules of events without a basket of goods (an enrolment, a visit's start and end, a device's use, a refund, a
birthday, the close of a month): what a member looks like to them, their evaluation at an outlet, and the fixed
points they grant as one ledger transaction."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import datetime

from coalition.application.commands import zone_named
from coalition.application.ports import MemberHistory, MemberRef, PosUnitOfWork, ProgramContext, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import GrantedBonus
from coalition.domain.permissions import POINTS, Operation
from coalition.domain.purchase import AccrualPlace, MemberPoints, plan_bonus, plan_node_bonus
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.pricing import EventGrants, evaluate_event, event_grants


@functools.lru_cache(maxsize=256)
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


async def event_bonus(
    pos: PosParts,
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
    pc = await pos.program_context(uow, ctx.network_id)
    granted = event_grants(evaluation, pc.program.point_value_minor)
    if granted.points <= 0:
        return None
    (await pos.matrix(uow, ctx.network_id)).require(ctx.outlet_id, ctx.outlet_name, POINTS, Operation.ACCRUE)
    accounts = await pos.points_accounts(uow, ctx, pc, member)
    memo = f"{trigger.value}: {', '.join(granted.rules)}"
    place = AccrualPlace(zone_named(ctx.timezone), visit_id)
    plan = plan_bonus(pc.program, accounts, state, granted.points, now, memo, by_expiry=granted.by_expiry, place=place)
    tx_id = await uow.post(ctx.network_id, plan.transaction, ctx.outlet_id, now, now)
    await uow.apply_lots(tx_id, member.points_account_id, (), plan.new_lots)
    await uow.set_member_points(
        member.member_id, member.points_account_id, plan.balance_after, state.lifetime_spend_minor
    )
    return GrantedBonus(granted.points, granted.rules)


async def grant_node_bonus(
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
