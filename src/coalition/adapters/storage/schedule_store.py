"""The scheduler's tables on SQLAlchemy Core, both engines (application/scheduler.py, docs/scheduler.md).

A claim is one INSERT ... ON CONFLICT DO NOTHING RETURNING: of two schedulers only one gets the row. A take-over,
a renewal and a finish are each one UPDATE guarded by what the row must still be (a dead lease, a failed run past
its back-off, our own claim): PostgreSQL re-reads the row a concurrent UPDATE changed before applying the guard, and
SQLite has one writer (BEGIN IMMEDIATE), so of two take-overs one matches nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.application.audit import AuditEntry
from coalition.application.scheduler import JobRun
from coalition.application.time_window import utc_bound
from coalition.domain.schedules import Schedule

_RUN_COLUMNS = list(t.job_runs.c)


def _run(row: Row[Any]) -> JobRun:
    def at(value: datetime | None) -> datetime | None:
        return None if value is None else t.as_utc(value)

    return JobRun(
        id=row.id,
        network_id=row.network_id,
        job=row.job,
        period_key=row.period_key,
        status=row.status,
        trigger=row.trigger,
        claimed_by=row.claimed_by,
        attempts=row.attempts,
        started_at=t.as_utc(row.started_at),
        finished_at=at(row.finished_at),
        lease_until=at(row.lease_until),
        next_attempt_at=at(row.next_attempt_at),
        error=row.error,
        result=row.result,
    )


class SqlScheduleStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def _zone_of_network(self) -> Any:
        o = t.outlets
        first = select(o.c.timezone).where(o.c.network_id == t.networks.c.id).order_by(o.c.id).limit(1)
        return func.coalesce(first.scalar_subquery(), "UTC")

    async def networks(self) -> list[tuple[int, str]]:
        query = select(t.networks.c.id, self._zone_of_network()).order_by(t.networks.c.id)
        async with self.engine.connect() as connection:
            return [(row[0], row[1]) for row in await connection.execute(query)]

    async def network_zone(self, network_id: int) -> str:
        query = select(self._zone_of_network()).where(t.networks.c.id == network_id)
        async with self.engine.connect() as connection:
            return str((await connection.execute(query)).scalar_one_or_none() or "UTC")

    async def schedules(self, network_id: int | None) -> dict[tuple[int, str], Schedule]:
        s = t.job_schedules
        query = select(s)
        if network_id is not None:
            query = query.where(s.c.network_id == network_id)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {
            (row.network_id, row.job): Schedule(
                row.job, bool(row.enabled), row.at_minute, row.every_minutes, row.day_of_month
            )
            for row in rows
        }

    async def save_schedule(self, network_id: int, schedule: Schedule, now: datetime, audited: AuditEntry) -> None:
        s = t.job_schedules
        values = {
            "enabled": schedule.enabled,
            "at_minute": schedule.at_minute,
            "every_minutes": schedule.every_minutes,
            "day_of_month": schedule.day_of_month,
            "updated_at": now,
        }
        async with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(s).values(network_id=network_id, job=schedule.job, **values)
            await connection.execute(
                statement.on_conflict_do_update(index_elements=[s.c.network_id, s.c.job], set_=values)
            )
            await ConnectionAuditTrail(connection).audit(audited)

    async def runs_of(self, period_keys: set[str]) -> dict[tuple[int, str, str], JobRun]:
        r = t.job_runs
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(r).where(r.c.period_key.in_(sorted(period_keys))))).all()
        return {(row.network_id, row.job, row.period_key): _run(row) for row in rows}

    async def claim(
        self, network_id: int, job: str, key: str, by: str, trigger: str, now: datetime, lease_until: datetime
    ) -> JobRun | None:
        r = t.job_runs
        now, lease_until = now.astimezone(UTC), lease_until.astimezone(UTC)  # SQLite compares them as text
        async with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = (
                dialect.insert(r)
                .values(
                    network_id=network_id,
                    job=job,
                    period_key=key,
                    status="running",
                    trigger=trigger,
                    claimed_by=by,
                    attempts=1,
                    started_at=now,
                    lease_until=lease_until,
                )
                .on_conflict_do_nothing(index_elements=[r.c.job, r.c.network_id, r.c.period_key])
                .returning(*_RUN_COLUMNS)
            )
            row = (await connection.execute(statement)).first()
        return None if row is None else _run(row)

    async def take_over(
        self, run: JobRun, by: str, trigger: str, now: datetime, lease_until: datetime, *, by_hand: bool
    ) -> JobRun | None:
        r = t.job_runs
        now, lease_until = now.astimezone(UTC), lease_until.astimezone(UTC)
        live = and_(r.c.status == "running", r.c.lease_until >= now)
        if by_hand:
            guard = not_(live)  # a person re-runs a done or failed period, never one a live claim is running
        else:
            dead = and_(r.c.status == "running", r.c.lease_until < now)
            retry = and_(r.c.status == "failed", or_(r.c.next_attempt_at.is_(None), r.c.next_attempt_at <= now))
            guard = or_(dead, retry)
        statement = (
            update(r)
            .where(r.c.id == run.id, guard)
            .values(
                status="running",
                trigger=trigger,
                claimed_by=by,
                attempts=r.c.attempts + 1,
                started_at=now,
                finished_at=None,
                lease_until=lease_until,
                next_attempt_at=None,
                error=None,
                result=None,
            )
            .returning(*_RUN_COLUMNS)
        )
        async with self.engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else _run(row)

    async def renew(self, run_id: int, by: str, lease_until: datetime) -> bool:
        r = t.job_runs
        statement = (
            update(r)
            .where(r.c.id == run_id, r.c.claimed_by == by, r.c.status == "running")
            .values(lease_until=lease_until)
        )
        async with self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def finish(
        self,
        run_id: int,
        by: str,
        now: datetime,
        *,
        result: str | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        r = t.job_runs
        statement = (
            update(r)
            .where(r.c.id == run_id, r.c.claimed_by == by, r.c.status == "running")
            .values(
                status="failed" if error is not None else "done",
                finished_at=now,
                lease_until=None,
                result=result,
                error=error,
                next_attempt_at=next_attempt_at,
            )
        )
        async with self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def release(self, run: JobRun, previous: JobRun | None) -> None:
        """A run by hand that was refused leaves the row as it found it (none, or the run before)."""
        r = t.job_runs
        ours = and_(r.c.id == run.id, r.c.claimed_by == run.claimed_by, r.c.status == "running")
        async with self.engine.begin() as connection:
            if previous is None:
                await connection.execute(delete(r).where(ours))
                return
            await connection.execute(
                update(r)
                .where(ours)
                .values(
                    status=previous.status,
                    trigger=previous.trigger,
                    claimed_by=previous.claimed_by,
                    attempts=previous.attempts,
                    started_at=previous.started_at,
                    finished_at=previous.finished_at,
                    lease_until=previous.lease_until,
                    next_attempt_at=previous.next_attempt_at,
                    error=previous.error,
                    result=previous.result,
                )
            )

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
        r = t.job_runs
        query = select(r).where(r.c.network_id == network_id)  # a window: through ix_job_runs_network_id_started_at
        if job is not None:
            query = query.where(r.c.job == job)
        if since is not None:
            query = query.where(r.c.started_at >= utc_bound(since))
        if until is not None:
            query = query.where(r.c.started_at < utc_bound(until))
        if before_id is not None:
            query = query.where(r.c.id < before_id)
        query = query.order_by(r.c.id.desc()).limit(limit)  # keyset: a run's id is the order it was first claimed
        async with self.engine.connect() as connection:
            return [_run(row) for row in await connection.execute(query)]

    async def last_runs(self, network_id: int) -> dict[str, JobRun]:
        r = t.job_runs
        newest = (
            select(r.c.job, func.max(r.c.started_at).label("started_at"))
            .where(r.c.network_id == network_id)
            .group_by(r.c.job)
            .subquery()
        )
        query = (
            select(r)
            .join(newest, and_(r.c.job == newest.c.job, r.c.started_at == newest.c.started_at))
            .where(r.c.network_id == network_id)
            .order_by(r.c.id)
        )
        async with self.engine.connect() as connection:
            return {row.job: _run(row) for row in await connection.execute(query)}
