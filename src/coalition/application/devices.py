"""Device use: a machine (an arcade or a slot machine, a water dispenser, a photo booth) reports that a member used
it, and the `device_use` rules of its outlet fire — a bonus in points owed by the device's partner, coupons.

A device is an outlet with its own terminal key. What a use costs (a fixed price charged to a balance) belongs to
prepaid wallets and is not charged here; a use that no rule rewards writes nothing but its idempotency record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coalition.application.commands import customer_candidates
from coalition.application.members_pos import usable_member_locked
from coalition.application.ports import MemberRef, PosUnitOfWork, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult, CouponView, DeviceUsed
from coalition.application.rule_events import evaluate_at, member_facts
from coalition.domain.coupons import NewCoupon, generate_code
from coalition.domain.purchase import MemberPoints, points_balance
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import Trigger


class DeviceUseService:
    def __init__(self, pos: PosParts) -> None:
        self.pos = pos

    async def record_use(
        self, ctx: TerminalContext, customer: str, idempotency_key: str | None, request_hash: str
    ) -> CommandResult[DeviceUsed]:
        candidates = customer_candidates(customer, region=ctx.phone_region)
        rules = await self.pos.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[DeviceUsed]:
            now = self.pos.clock.now()
            member = await usable_member_locked(uow, ctx, customer, candidates)
            return self.pos.answered(201, await self.reward_use(uow, ctx, member, rules, now))

        result: CommandResult[DeviceUsed] = await self.pos.idempotent(ctx, idempotency_key, request_hash, record)
        return result

    async def reward_use(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member: MemberRef,
        rules: CompiledRuleSet | None,
        now: datetime,
        occurred_at: datetime | None = None,
    ) -> DeviceUsed:
        """The `device_use` rules for a use by a member already locked (a use reported, or a device's charge). An
        offline use's rules are judged at `occurred_at` (its hours, its day) but written at `now`, so what they
        give lands in the open settlement period."""
        pc = await self.pos.program_context(uow, ctx.network_id)
        state = await self.pos.swept_points(uow, ctx, pc, member, now)
        history = await self.pos.read_member_history(uow, rules, ctx, member, now)
        facts = member_facts(history, state.lifetime_spend_minor, points_balance(state, now))
        evaluation = evaluate_at(rules, Trigger.DEVICE_USE, facts, ctx, occurred_at or now)
        visit = await uow.open_visit_of(member.member_id)  # points that end with the visit go to its lot
        visit_id = visit.id if visit is not None else None
        return await self._rewards(uow, ctx, member, evaluation, now, state, visit_id)

    async def _rewards(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member: MemberRef,
        evaluation: Evaluation | None,
        now: datetime,
        state: MemberPoints,
        visit_id: str | None,
    ) -> DeviceUsed:
        bonus = await self.pos.event_bonus(uow, ctx, member, Trigger.DEVICE_USE, evaluation, now, state, visit_id)
        coupons = tuple(
            NewCoupon(
                generate_code(),
                effect.campaign,
                member.member_id,
                now,
                now + timedelta(days=effect.valid_days),
                effect.uses,
            )
            for _, effect in (evaluation.coupons if evaluation else ())
        )
        if coupons:
            await uow.add_coupons(ctx.network_id, coupons, now)
        return DeviceUsed(
            member_id=member.member_id,
            device=ctx.outlet_name,
            visit_id=visit_id,
            points_balance=points_balance(state, now) + (bonus.points if bonus else 0),
            applied_rules=evaluation.applied_rules if evaluation else (),
            bonus=bonus,
            coupons_issued=tuple(CouponView.of(coupon) for coupon in coupons),
        )
