"""Scheduled jobs (issue 16; docs/scheduler.md): `job_schedules`, what a network changed of a job's default schedule,
and `job_runs`, one row per (job, network, period): the claim that makes a period run once however many schedulers
look, and its outcome. Cron and the admin API record their runs here too."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata

RUN_STATUSES = ("running", "done", "failed")
MAX_ERROR_CHARS = 1000
MAX_RESULT_CHARS = 4000

job_schedules = Table(
    "job_schedules",
    metadata,
    Column("network_id", Id, ForeignKey("networks.id"), primary_key=True),
    Column("job", String(32), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("at_minute", Integer, nullable=True),  # daily and monthly jobs: minutes after local midnight
    Column("every_minutes", Integer, nullable=True),  # interval jobs
    Column("day_of_month", Integer, nullable=True),  # period close
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("at_minute IS NULL OR (at_minute >= 0 AND at_minute < 1440)", name="at_minute"),
)

job_runs = Table(
    "job_runs",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("job", String(32), nullable=False),
    Column("period_key", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),  # scheduler | cli | api: who ran it last
    Column("claimed_by", String(128), nullable=False),  # the scheduler (host:pid:random) or the person's tool
    Column("attempts", Integer, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Column("lease_until", Timestamp, nullable=True),  # running: a claim not renewed by then is taken over
    Column("next_attempt_at", Timestamp, nullable=True),  # failed: not retried before
    Column("error", String(MAX_ERROR_CHARS), nullable=True),
    Column("result", Text, nullable=True),  # what the job answered, as JSON
    UniqueConstraint("job", "network_id", "period_key"),
    CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
    Index("ix_job_runs_network_id_started_at", "network_id", "started_at"),
    Index("ix_job_runs_period_key", "period_key"),
)
