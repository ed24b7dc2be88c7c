"""The scheduler (issue 16; docs/scheduler.md): every network's jobs run on their schedules, each period once.

A tick looks at every network, works out the latest due period of each enabled job (domain/schedules.py) and claims
the ones not run yet by inserting their `job_runs` row: a second scheduler (another worker of `coalition serve`,
another server, `coalition worker`) meets the row and skips. A claim is renewed while its job runs; one not renewed
for a lease (its process died) is taken over, as is a failed run once its back-off has passed. The jobs are the
ones cron and the admin API run (`run_now` records those runs the same way), so neither repeats a period the other
ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from coalition.application.audit import AuditEntry, entry
from coalition.application.ports import Clock
from coalition.application.time_window import check_window
from coalition.domain.errors import Conflict, DomainError
from coalition.domain.schedules import (
    DEFAULTS,
    JOBS,
    LEASE,
    RENEW_EVERY,
    Period,
    Schedule,
    changed,
    check_job,
    latest_due,
    next_due,
    period_key,
    retry_after,
)

log = logging.getLogger("coalition.scheduler")
T = TypeVar("T")
MAX_ERROR_CHARS = 1000
MAX_RESULT_CHARS = 4000
MAX_RUNS_PAGE = 501  # the API's largest page (500) and the one more that tells a next page exists


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    network_id: int
    job: str
    period_key: str
    status: str  # running | done | failed
    trigger: str  # scheduler | cli | api
    claimed_by: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    error: str | None
    result: str | None  # JSON

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "period": self.period_key,
            "status": self.status,
            "trigger": self.trigger,
            "claimed_by": self.claimed_by,
            "attempts": self.attempts,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "lease_until": None if self.lease_until is None else self.lease_until.isoformat(),
            "next_attempt_at": None if self.next_attempt_at is None else self.next_attempt_at.isoformat(),
            "error": self.error,
            "result": None if self.result is None else json.loads(self.result),
        }


@dataclass(frozen=True, slots=True)
class NextRun:
    period_key: str
    at: datetime  # in the network's zone


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A job's schedule as the administrator reads it: when it runs next, which period it owes, its last run."""

    schedule: Schedule
    default: bool  # never set: the built-in schedule
    next_run: NextRun | None  # None: disabled (left to cron)
    due_period: str
    last_run: JobRun | None
    blocked: str | None  # why the scheduler waits (e-mail off), if it does

    @property
    def job(self) -> str:
        return self.schedule.job

    def json(self) -> dict[str, Any]:
        next_run = self.next_run
        return schedule_json(self.schedule, self.default) | {
            "next_run": None if next_run is None else {"period": next_run.period_key, "at": next_run.at.isoformat()},
            "due_period": self.due_period,
            "last_run": None if self.last_run is None else self.last_run.json(),
            "blocked": self.blocked,
        }


@dataclass(frozen=True, slots=True)
class ScheduleListing:
    timezone: str
    now: datetime  # in the network's zone
    schedules: tuple[ScheduleView, ...]

    def json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "now": self.now.isoformat(),
            "schedules": [item.json() for item in self.schedules],
        }


class ScheduleStore(Protocol):
    async def networks(self) -> list[tuple[int, str]]: ...  # (id, time zone: its first outlet's, else UTC)
    async def network_zone(self, network_id: int) -> str: ...
    async def schedules(self, network_id: int | None) -> dict[tuple[int, str], Schedule]: ...
    async def save_schedule(self, network_id: int, schedule: Schedule, now: datetime, audited: AuditEntry) -> None: ...
    async def runs_of(self, period_keys: set[str]) -> dict[tuple[int, str, str], JobRun]: ...
    async def claim(
        self, network_id: int, job: str, key: str, by: str, trigger: str, now: datetime, lease_until: datetime
    ) -> JobRun | None: ...
    async def take_over(
        self, run: JobRun, by: str, trigger: str, now: datetime, lease_until: datetime, *, by_hand: bool
    ) -> JobRun | None: ...
    async def renew(self, run_id: int, by: str, lease_until: datetime) -> bool: ...
    async def finish(
        self,
        run_id: int,
        by: str,
        now: datetime,
        *,
        result: str | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> bool: ...
    async def release(self, run: JobRun, previous: JobRun | None) -> None: ...
    async def runs(
        self,
        network_id: int,
        job: str | None,
        limit: int,
        before_id: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JobRun]:
        """Newest first by id, older than `before_id`; started at or after `since` and before `until`."""
        ...

    async def last_runs(self, network_id: int) -> dict[str, JobRun]: ...


# what a scheduled run calls: the network and the day it works on (a month's first day; None for expiry)
JobFunction = Callable[[int, date | None], Awaitable[Mapping[str, Any]]]


def worker_name() -> str:
    """Who claims: the host and process, and a random part (two schedulers in one process are two claimers)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


def _result_text(result: Mapping[str, Any]) -> str:
    text = json.dumps(result, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_RESULT_CHARS else json.dumps({"truncated": True})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # outlets are checked when created; this only guards the loop
        return ZoneInfo("UTC")


class Scheduler:
    def __init__(
        self,
        store: ScheduleStore,
        clock: Clock,
        jobs: Mapping[str, JobFunction],
        blocked: Mapping[str, str] | None = None,  # job → why it cannot run on this server (e-mail is off)
        name: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.jobs = jobs
        self.blocked = dict(blocked or {})
        self.name = name or worker_name()

    def _now(self) -> datetime:
        # UTC always: SQLite compares stored timestamps as text, so one offset for every stored moment
        return self.clock.now().astimezone(UTC)

    async def tick(self) -> list[JobRun]:
        """Run every due period no one ran yet; the runs this tick made, as they ended."""
        now = self._now()
        saved = await self.store.schedules(None)
        due: list[tuple[int, str, Period]] = []
        for network_id, zone_name in await self.store.networks():
            zone = _zone(zone_name)
            for job in JOBS:
                schedule = saved.get((network_id, job), DEFAULTS[job])
                if schedule.enabled and job not in self.blocked and job in self.jobs:
                    due.append((network_id, job, latest_due(schedule, zone, now)))
        if not due:
            return []
        existing = await self.store.runs_of({period.key for _, _, period in due})
        done = []
        for network_id, job, period in due:
            run = await self._claim(network_id, job, period, existing.get((network_id, job, period.key)))
            if run is not None:
                done.append(await self._run(run, period.day))
        return done

    async def _claim(self, network_id: int, job: str, period: Period, found: JobRun | None) -> JobRun | None:
        now = self._now()
        if found is None:
            return await self.store.claim(network_id, job, period.key, self.name, "scheduler", now, now + LEASE)
        dead = found.status == "running" and found.lease_until is not None and found.lease_until < now
        retry = found.status == "failed" and (found.next_attempt_at is None or found.next_attempt_at <= now)
        if dead or retry:
            if dead:
                log.warning("taking over %s %s of network %s from %s", job, period.key, network_id, found.claimed_by)
            return await self.store.take_over(found, self.name, "scheduler", now, now + LEASE, by_hand=False)
        return None

    async def _run(self, run: JobRun, day: date | None) -> JobRun:
        renewing = asyncio.create_task(self._keep_claim(run.id))
        try:
            result = await self.jobs[run.job](run.network_id, day)
        except Exception as error:  # any failure is recorded, shown and retried after a back-off
            detail = error.detail if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
            log.warning("%s %s of network %s failed: %s", run.job, run.period_key, run.network_id, detail)
            now = self._now()
            await self.store.finish(
                run.id,
                self.name,
                now,
                result=None,
                error=detail[:MAX_ERROR_CHARS],
                next_attempt_at=now + retry_after(run.attempts),
            )
        else:
            await self.store.finish(
                run.id, self.name, self._now(), result=_result_text(result), error=None, next_attempt_at=None
            )
        finally:
            renewing.cancel()
        return run

    async def _keep_claim(self, run_id: int) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY.total_seconds())
            try:
                await self.store.renew(run_id, self.name, self._now() + LEASE)
            except Exception:  # the database out of reach: the next renewal tries again (the lease gives 5 minutes)
                log.warning("could not renew the claim of run %s", run_id, exc_info=True)

    async def run_now(
        self, network_id: int, job: str, day: date | None, trigger: str, work: Callable[[], Awaitable[T]]
    ) -> T:
        """A run asked for by hand (cron's CLI commands, the admin API): recorded in `job_runs` under the period it
        works on, so the scheduler does not repeat it. It runs even if that period ran (each job is safe to repeat:
        what it did is not done twice), but not while a live claim runs it. A refusal records nothing."""
        schedule = (await self.store.schedules(network_id)).get((network_id, job), DEFAULTS[job])
        now = self._now()
        key = period_key(schedule, now, day)
        run = await self.store.claim(network_id, job, key, self.name, trigger, now, now + LEASE)
        previous = None
        if run is None:
            previous = (await self.store.runs_of({key})).get((network_id, job, key))
            if previous is not None:
                run = await self.store.take_over(previous, self.name, trigger, now, now + LEASE, by_hand=True)
            if run is None:
                raise Conflict(f"{job} of {key} is running now; try again when it has finished", field="job")
        try:
            result = await work()
        except DomainError:
            await self.store.release(run, previous)
            raise
        except Exception as error:
            text = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            now = self._now()
            await self.store.finish(run.id, self.name, now, result=None, error=text, next_attempt_at=now)
            raise
        summary = _result_text(result) if isinstance(result, Mapping) else None
        await self.store.finish(run.id, self.name, self._now(), result=summary, error=None, next_attempt_at=None)
        return result

    # --- what the administrator reads and sets -----------------------------------------------------------------

    async def schedules(self, network_id: int) -> ScheduleListing:
        """Each job's schedule with its next run (in the network's zone) and its last run."""
        zone_name = await self.store.network_zone(network_id)
        zone = _zone(zone_name)
        saved = await self.store.schedules(network_id)
        last = await self.store.last_runs(network_id)
        now = self._now()
        listed = []
        for job in JOBS:
            schedule = saved.get((network_id, job), DEFAULTS[job])
            upcoming = next_due(schedule, zone, now)
            listed.append(
                ScheduleView(
                    schedule=schedule,
                    default=(network_id, job) not in saved,
                    next_run=NextRun(upcoming.key, upcoming.due_at.astimezone(zone)) if schedule.enabled else None,
                    due_period=latest_due(schedule, zone, now).key,
                    last_run=last.get(job),
                    blocked=self.blocked.get(job),
                )
            )
        return ScheduleListing(zone_name, now.astimezone(zone), tuple(listed))

    async def set_schedule(
        self,
        network_id: int,
        job: str,
        *,
        enabled: bool | None = None,
        at: str | None = None,
        every_minutes: int | None = None,
        day_of_month: int | None = None,
    ) -> ScheduleView:
        check_job(job)
        current = (await self.store.schedules(network_id)).get((network_id, job), DEFAULTS[job])
        updated = changed(current, enabled=enabled, at=at, every_minutes=every_minutes, day_of_month=day_of_month)
        before, after = schedule_json(current, False), schedule_json(updated, False)
        audited = entry(
            network_id,
            "schedule.set",
            "job_schedule",
            job,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
        await self.store.save_schedule(network_id, updated, self._now(), audited)
        return next(item for item in (await self.schedules(network_id)).schedules if item.job == job)

    async def runs(
        self,
        network_id: int,
        job: str | None = None,
        limit: int = 50,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JobRun]:
        """Newest first (by id), older than `before_id` when given; started (last claimed) at or after `since` and
        before `until`."""
        if job is not None:
            check_job(job)
        check_window(since, until)
        limit = max(1, min(limit, MAX_RUNS_PAGE))
        return await self.store.runs(network_id, job, limit, before_id, since=since, until=until)


def schedule_json(schedule: Schedule, default: bool) -> dict[str, Any]:
    return {
        "job": schedule.job,
        "enabled": schedule.enabled,
        "cadence": schedule.cadence,
        "time": schedule.time_text,
        "every_minutes": schedule.every_minutes,
        "day_of_month": schedule.day_of_month,
        "default": default,
    }


def utc_today(clock: Clock) -> date:
    return clock.now().astimezone(UTC).date()
