"""Scheduled jobs (issue 16): `job_schedules` (a network's changes to a job's default schedule) and `job_runs` (one
row per job, network and period: the claim and its outcome).

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=True),
        sa.Column("every_minutes", sa.Integer(), nullable=True),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "at_minute IS NULL OR (at_minute >= 0 AND at_minute < 1440)", name="ck_job_schedules_at_minute"
        ),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_job_schedules_network_id_networks"),
        sa.PrimaryKeyConstraint("network_id", "job", name="pk_job_schedules"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("period_key", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="ck_job_runs_status"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_job_runs_network_id_networks"),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.UniqueConstraint("job", "network_id", "period_key", name="uq_job_runs_job_network_id_period_key"),
    )
    op.create_index("ix_job_runs_network_id_started_at", "job_runs", ["network_id", "started_at"])
    op.create_index("ix_job_runs_period_key", "job_runs", ["period_key"])


def downgrade() -> None:
    op.drop_index("ix_job_runs_period_key", table_name="job_runs")
    op.drop_index("ix_job_runs_network_id_started_at", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_schedules")
