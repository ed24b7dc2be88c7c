"""The close of a calendar month: the rule set's `period_close` rules run for every member of the network.

What the rules see: the member's checks in the closed month (`member.period_spend_minor`) and in the month before
(`member.previous_period_spend_minor`), lifetime spend, tier and segments; months are calendar months in UTC. What
they do: move the member to a tier (`set_tier`: re-qualification for the next month), grant fixed points (no
outlet takes part, so the node carries their value, as for birthday bonuses) and issue coupons valid from the first
moment of the next month. Running the close of a month again changes nothing: the points' transaction names the
month, a coupon of the same campaign from the same moment is not issued twice, and a tier already held stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from coalition.application.audit import entry
from coalition.application.events import MEMBER_TIER_CHANGED, PERIOD_CLOSED
from coalition.application.ports import CouponsPort, MemberHistory, MemberRef, PosUnitOfWork, ProgramContext
from coalition.application.pos import PosService
from coalition.application.rule_events import member_facts
from coalition.domain.coupons import NewCoupon, generate_code
from coalition.domain.errors import InvalidInput
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.pricing import evaluate_event, event_grants


@dataclass(frozen=True, slots=True)
class Month:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive: the first moment of the next month
    previous_start: datetime

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")


def month_of(text: str | None, today: date) -> Month:
    """'2026-11' (or None: the month before `today`) as UTC bounds; 422 naming `month` otherwise."""
    if text is None:
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    else:
        try:
            year, month = (int(part) for part in text.strip().split("-"))
            date(year, month, 1)
        except ValueError:
            raise InvalidInput(f"'{text}' is not a month: use YYYY-MM, e.g. 2026-11", field="month") from None
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    previous = datetime(year - (month == 1), (month - 2) % 12 + 1, 1, tzinfo=UTC)
    return Month(start, end, previous)


@dataclass
class Tally:
    members: int = 0
    tiers_changed: int = 0
    points: int = 0
    coupons: int = 0


class PeriodClose:
    def __init__(self, pos: PosService) -> None:
        self.pos = pos

    async def run(
        self, network_id: int, month: str | None = None, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        now = self.pos.clock.now()
        period = month_of(month, now.astimezone(UTC).date())
        if period.end > now:
            raise InvalidInput(f"{period.label} has not ended yet", field="month")
        tally = Tally()
        rules = await self.pos.rule_set_in_force(network_id)
        if rules is not None and rules.candidates(Trigger.PERIOD_CLOSE, "", ""):
            async with self.pos.unit_of_work() as uow:
                pc = await self.pos.program_context(uow, network_id)
                members = await uow.members_with_spend(network_id, period.start, period.end, period.previous_start)
            for done, (member, history) in enumerate(members, start=1):
                async with self.pos.unit_of_work() as uow:
                    await self._close_for(uow, network_id, pc, rules, period, member, history, now, tally)
                if progress is not None:
                    progress(done, len(members))
            tally.members = len(members)
        result = {
            "month": period.label,
            "members": tally.members,
            "tiers_changed": tally.tiers_changed,
            "points": tally.points,
            "coupons": tally.coupons,
        }
        async with self.pos.unit_of_work() as uow:  # once the run is done: each member is its own transaction
            await uow.audit(entry(network_id, "job.period_close", "network", network_id, after=result))
            # a period closed twice (a retry) is one event: its id is the month
            await self.pos.emit(uow, network_id, PERIOD_CLOSED, f"period:{period.label}", result, now)
        return result

    async def _close_for(
        self,
        uow: PosUnitOfWork,
        network_id: int,
        pc: ProgramContext,
        rules: CompiledRuleSet,
        period: Month,
        member: MemberRef,
        history: MemberHistory,
        now: datetime,
        tally: Tally,
    ) -> None:
        await uow.lock_member(member.member_id)
        state = await uow.member_points(member)
        facts = member_facts(history, state.lifetime_spend_minor, state.balance)
        # the rules see the last moment of the closed month
        evaluation = evaluate_event(
            rules, Trigger.PERIOD_CLOSE, facts, outlet="", partner="", now_utc=period.end, local_time=period.end
        )
        if evaluation.tier is not None and evaluation.tier != history.tier:
            await uow.set_member_labels(member.member_id, tier=evaluation.tier, segments=None)
            tally.tiers_changed += 1
            data = {"member_id": member.member_id, "tier": evaluation.tier, "previous_tier": history.tier or None}
            data |= {"period": period.label}
            event_id = f"tier:{period.label}:{member.member_id}"
            await self.pos.emit(uow, network_id, MEMBER_TIER_CHANGED, event_id, data, now)
        granted = event_grants(evaluation, pc.program.point_value_minor)
        memo = f"period close {period.label}: {', '.join(granted.rules)}"
        if await self.pos.grant_node_bonus(uow, network_id, pc, member, granted, memo, now):
            tally.points += granted.points
        tally.coupons += await self._coupons(uow, network_id, evaluation, member, period, now)

    async def _coupons(
        self,
        uow: CouponsPort,
        network_id: int,
        evaluation: Evaluation,
        member: MemberRef,
        period: Month,
        now: datetime,
    ) -> int:
        """The period's coupons, valid from the first moment of the next month (which marks them as this close's)."""
        fresh = []
        for _, effect in evaluation.coupons:
            if await uow.has_coupon_from(member.member_id, effect.campaign, period.end):
                continue
            valid_until = period.end + timedelta(days=effect.valid_days)
            fresh.append(
                NewCoupon(generate_code(), effect.campaign, member.member_id, period.end, valid_until, effect.uses)
            )
        if fresh:
            await uow.add_coupons(network_id, fresh, now)
        return len(fresh)
