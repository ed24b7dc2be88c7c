"""Birthday bonuses: a daily job grants the points of the rule set's `birthday` rules to members born on the day.

No outlet takes part, so no partner owes for these points: the node carries their value (a welcome bonus, granted
at an outlet, is owed by that outlet's partner instead). Each member gets at most one birthday bonus a year: the
bonus transaction's memo names the year, and the job looks for it under the member's lock before granting.

The same run queues a `birthday` greeting for each member born on the day (docs/messages.md), in the member's unit of
work, with the event id `birthday:<member>:<year>`: the outbox keeps one per event, channel and member, so a
second run that year queues none. A network that did not turn the kind on queues nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from coalition.application.audit import entry
from coalition.application.campaigns import MessageQueue
from coalition.application.pos import PosService
from coalition.domain.messages import MessageKind
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.pricing import event_points


class BirthdayBonuses:
    def __init__(self, pos: PosService, messages: MessageQueue | None = None) -> None:
        self.pos = pos
        self.messages = messages

    async def grant(
        self, network_id: int, day: date | None = None, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        now = self.pos.clock.now()
        today = day or now.astimezone(UTC).date()
        rules = await self.pos.rule_set_in_force(network_id)
        greeting = self.messages is not None and bool(await self.messages.turned_on(network_id, MessageKind.BIRTHDAY))
        if rules is not None and not rules.candidates(Trigger.BIRTHDAY, "", ""):
            rules = None
        if rules is None and not greeting:
            nothing = {"date": today.isoformat(), "members": 0, "granted": 0, "points": 0}
            async with self.pos.unit_of_work() as uow:
                await uow.audit(entry(network_id, "job.birthdays", "network", network_id, after=nothing))
            return nothing
        async with self.pos.unit_of_work() as uow:
            pc = await self.pos.program_context(uow, network_id)
            born = await uow.members_born_on(network_id, today.month, today.day)
        memo = f"birthday bonus {today.year}"
        moment = datetime.combine(today, time(12), tzinfo=UTC)  # the rules see the day; noon keeps it that day
        granted = points_total = greeted = 0
        for done, (member, history) in enumerate(born, start=1):
            if greeting and self.messages is not None:
                async with self.pos.unit_of_work() as uow:
                    event_id = f"birthday:{member.member_id}:{today.year}"
                    queued = await self.messages.enqueue(uow, network_id, member.member_id, MessageKind.BIRTHDAY,
                                                         event_id, {}, now)  # fmt: skip
                    greeted += 1 if queued else 0
            if rules is None:
                if progress is not None:
                    progress(done, len(born))
                continue
            facts = MemberFacts(
                kind=history.kind, tier=history.tier, segments=history.segments, birth_date=history.birth_date
            )
            bonus = event_points(
                rules,
                Trigger.BIRTHDAY,
                facts,
                outlet="",
                partner="",
                now_utc=moment,
                local_time=moment,
                point_value_minor=pc.program.point_value_minor,
            )
            if bonus.points > 0:
                async with self.pos.unit_of_work() as uow:
                    await uow.lock_member(member.member_id)
                    if await self.pos.grant_node_bonus(uow, network_id, pc, member, bonus, memo, now):
                        granted += 1
                        points_total += bonus.points
            if progress is not None:
                progress(done, len(born))
        result = {"date": today.isoformat(), "members": len(born), "granted": granted, "points": points_total}
        if greeting:
            result["greeted"] = greeted  # greetings queued (a repeat the outbox drops counts too)
        async with self.pos.unit_of_work() as uow:  # once the run is done: each member's grant is its own transaction
            await uow.audit(entry(network_id, "job.birthdays", "network", network_id, after=result))
        return result
