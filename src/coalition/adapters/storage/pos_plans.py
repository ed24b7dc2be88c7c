"""The `PlansPort` in SQL: a network's plan and its member count, read where a member is about to be created."""

from __future__ import annotations

from coalition.adapters.storage.pos_base import SqlPart
from coalition.domain.plans import PLANS, PlanState, plan_named

# the count never needs to go past the largest finite limit (the trial's): a bounded index-only scan
_COUNT_CAP = max(plan.max_members or 0 for plan in PLANS) + 1


class SqlPlans(SqlPart):
    async def plan_and_members(self, network_id: int) -> tuple[PlanState, int]:
        lock = " FOR NO KEY UPDATE" if self.db.backend == "postgresql" else ""
        row = await self.db.fetchrow(
            "SELECT plan, trial_ends_at, suspended_at FROM networks WHERE id = $1" + lock, network_id
        )
        if row is None:
            raise LookupError(f"no network {network_id}")
        state = PlanState(
            plan_named(str(row["plan"])),
            self.db.timestamp(row["trial_ends_at"]),
            self.db.timestamp(row["suspended_at"]),
        )
        if state.plan.max_members is None and state.suspended_at is None:
            return state, 0  # no limit: nothing to count
        members = await self.db.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM members WHERE network_id = $1 LIMIT $2) AS m", network_id, _COUNT_CAP
        )
        return state, int(members)
