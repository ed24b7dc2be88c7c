"""The plan's limit on customers, checked where a customer joins (issue 18, point 6; domain/plans.py).

Every way a new member is created calls `require_member_room` inside its unit of work before writing: enrolment
at a till or the web terminal, a new anonymous card, self sign-up, a members file. On PostgreSQL the network's row is
locked (FOR NO KEY UPDATE: purchases never wait on it) so two enrolments cannot both take the last place; SQLite's
write transaction already holds the whole database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from coalition.domain.plans import PlanState, require_room


class PlansPort(Protocol):
    async def plan_and_members(self, network_id: int) -> tuple[PlanState, int]:
        """The network's plan (its row locked for the rest of the unit of work) and how many members it has; the
        count stops one past the plan's largest limit (a bounded scan), which is enough to decide."""
        ...


async def require_member_room(uow: PlansPort, network_id: int, now: datetime, adding: int = 1) -> None:
    state, members = await uow.plan_and_members(network_id)
    require_room(state, now, members, adding)
