"""The clients' calls for the hosted service's plans (docs/plans.md: a network's own plan; the operator's list of
networks, plan and trial, suspension and resumption, with the operator token) and for scheduled jobs
(docs/scheduler.md: the schedules, their runs, a job run by hand). Mixed into `Client` and `AsyncClient`, whose
`call` they use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition_client import admin_models as admin
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls

Json = dict[str, Any]


def _runs_query(job: str | None, since: str | None, until: str | None, limit: int | None, cursor: str | None) -> Json:
    return {"job": job, "since": since, "until": until, "limit": limit, "cursor": cursor}


class PlanAndJobCalls(Calls):
    def plan(self) -> admin.NetworkPlan:
        """The network's own plan, customers and trial (its admin key)."""
        return self.call(r.PLAN)

    def networks(self, *, limit: int | None = None, cursor: str | None = None) -> admin.NetworksPage:
        """Every network with its plan (the operator token), a page at a time."""
        return self.call(r.NETWORKS, query={"limit": limit, "cursor": cursor})

    def set_plan(
        self,
        network_id: int,
        plan: str,
        *,
        trial_ends_at: datetime | None = None,
        change_trial: bool = False,
        if_match: str | None = None,
    ) -> admin.NetworkPlan:
        """The network's plan (the operator token); with `change_trial`, the trial's end too (None ends it)."""
        body: Json = {"plan": plan}
        if change_trial:
            body["trial_ends_at"] = None if trial_ends_at is None else trial_ends_at.isoformat()
        return self.call(r.SET_PLAN, body, path={"network_id": network_id}, if_match=if_match)

    def suspend_network(self, network_id: int) -> admin.NetworkPlan:
        return self.call(r.SUSPEND_NETWORK, path={"network_id": network_id})

    def resume_network(self, network_id: int) -> admin.NetworkPlan:
        return self.call(r.RESUME_NETWORK, path={"network_id": network_id})

    def schedules(self) -> admin.Schedules:
        return self.call(r.SCHEDULES)

    def job_runs(
        self,
        *,
        job: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.JobRuns:
        """A page of runs, newest first; `since`/`until`: started in that window (ISO 8601 with the offset)."""
        return self.call(r.JOB_RUNS, query=_runs_query(job, since, until, limit, cursor))

    def set_schedule(self, job: str, body: admin.ScheduleChange, *, if_match: str | None = None) -> admin.Schedule:
        return self.call(r.SET_SCHEDULE, body, path={"job": job}, if_match=if_match)

    def run_birthdays(self, body: admin.Birthdays | None = None) -> Json:
        return self.call(r.RUN_BIRTHDAYS, body or admin.Birthdays())

    def run_daily_reports(self, body: admin.DailyReports | None = None) -> Json:
        return self.call(r.RUN_DAILY_REPORTS, body or admin.DailyReports())

    def run_period_close(self, body: admin.PeriodClose | None = None) -> Json:
        return self.call(r.RUN_PERIOD_CLOSE, body or admin.PeriodClose())

    def run_expiry(self) -> Json:
        return self.call(r.RUN_EXPIRY)


class AsyncPlanAndJobCalls(AsyncCalls):
    async def plan(self) -> admin.NetworkPlan:
        """The network's own plan, customers and trial (its admin key)."""
        return await self.call(r.PLAN)

    async def networks(self, *, limit: int | None = None, cursor: str | None = None) -> admin.NetworksPage:
        """Every network with its plan (the operator token), a page at a time."""
        return await self.call(r.NETWORKS, query={"limit": limit, "cursor": cursor})

    async def set_plan(
        self,
        network_id: int,
        plan: str,
        *,
        trial_ends_at: datetime | None = None,
        change_trial: bool = False,
        if_match: str | None = None,
    ) -> admin.NetworkPlan:
        """The network's plan (the operator token); with `change_trial`, the trial's end too (None ends it)."""
        body: Json = {"plan": plan}
        if change_trial:
            body["trial_ends_at"] = None if trial_ends_at is None else trial_ends_at.isoformat()
        return await self.call(r.SET_PLAN, body, path={"network_id": network_id}, if_match=if_match)

    async def suspend_network(self, network_id: int) -> admin.NetworkPlan:
        return await self.call(r.SUSPEND_NETWORK, path={"network_id": network_id})

    async def resume_network(self, network_id: int) -> admin.NetworkPlan:
        return await self.call(r.RESUME_NETWORK, path={"network_id": network_id})

    async def schedules(self) -> admin.Schedules:
        return await self.call(r.SCHEDULES)

    async def job_runs(
        self,
        *,
        job: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.JobRuns:
        return await self.call(r.JOB_RUNS, query=_runs_query(job, since, until, limit, cursor))

    async def set_schedule(
        self, job: str, body: admin.ScheduleChange, *, if_match: str | None = None
    ) -> admin.Schedule:
        return await self.call(r.SET_SCHEDULE, body, path={"job": job}, if_match=if_match)

    async def run_birthdays(self, body: admin.Birthdays | None = None) -> Json:
        return await self.call(r.RUN_BIRTHDAYS, body or admin.Birthdays())

    async def run_daily_reports(self, body: admin.DailyReports | None = None) -> Json:
        return await self.call(r.RUN_DAILY_REPORTS, body or admin.DailyReports())

    async def run_period_close(self, body: admin.PeriodClose | None = None) -> Json:
        return await self.call(r.RUN_PERIOD_CLOSE, body or admin.PeriodClose())

    async def run_expiry(self) -> Json:
        return await self.call(r.RUN_EXPIRY)
