"""The server's operator and the plans of the hosted service (issue 18, point 6; domain/plans.py, docs/plans.md).

The operator lists every network with its member count, plan and trial end, sets a network's plan and trial, and
suspends or resumes a network. A network's administrator reads its own plan. Suspension stops the network's tills,
devices and enrolments (they answer 403 `network-suspended`); its console and admin API keep working, so the
owner can read and export everything; nothing is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.audit import AuditEntry, entry
from coalition.application.ports import Clock
from coalition.domain.errors import NotFound
from coalition.domain.plans import Plan, PlanState, plan_named


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """A network as the operator sees it."""

    network_id: int
    code: str
    name: str
    created_at: datetime
    state: PlanState
    members: int

    def max_members(self, now: datetime) -> int | None:
        return self.state.max_members(now)


class OperatorStore(Protocol):
    async def networks_page(self, after_id: int | None, limit: int) -> list[NetworkPlan]:
        """Networks in id order after `after_id`, at most `limit`, each with its member count."""
        ...

    async def network_plan(self, network_id: int) -> NetworkPlan | None: ...
    async def set_plan(
        self, network_id: int, plan: Plan, trial_ends_at: datetime | None, audited: AuditEntry
    ) -> None: ...
    async def set_suspended(self, network_id: int, suspended_at: datetime | None, audited: AuditEntry) -> None: ...


class TerminalKeys(Protocol):
    def forget_terminal_keys(self) -> None: ...


class OperatorService:
    def __init__(self, store: OperatorStore, clock: Clock, terminals: TerminalKeys) -> None:
        self.store = store
        self.clock = clock
        self.terminals = terminals

    async def networks(self, after_id: int | None, limit: int) -> list[NetworkPlan]:
        return await self.store.networks_page(after_id, limit)

    async def network(self, network_id: int) -> NetworkPlan:
        found = await self.store.network_plan(network_id)
        if found is None:
            raise NotFound(f"no network {network_id} on this server", field="network_id")
        return found

    async def set_plan(
        self, network_id: int, plan_code: str, *, trial_ends_at: datetime | None = None, change_trial: bool = False
    ) -> NetworkPlan:
        """The network's plan; its trial's end too with `change_trial` (None: no trial), else kept."""
        before = await self.network(network_id)
        plan = plan_named(plan_code)
        trial = trial_ends_at if change_trial else before.state.trial_ends_at
        change = entry(
            network_id,
            "plan.set",
            "network",
            network_id,
            before=_audited(before.state),
            after={"plan": plan.code, "trial_ends_at": trial.isoformat() if trial else None},
        )
        await self.store.set_plan(network_id, plan, trial, change)
        return await self.network(network_id)

    async def suspend(self, network_id: int) -> NetworkPlan:
        return await self._suspended(network_id, self.clock.now())

    async def resume(self, network_id: int) -> NetworkPlan:
        return await self._suspended(network_id, None)

    async def _suspended(self, network_id: int, at: datetime | None) -> NetworkPlan:
        before = await self.network(network_id)
        if (before.state.suspended_at is None) == (at is None):
            return before  # already so: nothing to write, nothing to audit
        action = "network.suspend" if at is not None else "network.resume"
        after = {"suspended_at": at.isoformat() if at else None}
        change = entry(network_id, action, "network", network_id, before=_audited(before.state), after=after)
        await self.store.set_suspended(network_id, at, change)
        self.terminals.forget_terminal_keys()  # this process at once; others within the key cache's seconds
        return await self.network(network_id)


def _audited(state: PlanState) -> dict[str, str | None]:
    return {
        "plan": state.plan.code,
        "trial_ends_at": state.trial_ends_at.isoformat() if state.trial_ends_at else None,
        "suspended_at": state.suspended_at.isoformat() if state.suspended_at else None,
    }
