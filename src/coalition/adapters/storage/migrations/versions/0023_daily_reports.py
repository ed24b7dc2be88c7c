"""The owner's daily report by e-mail: which partner was sent which day's report, so a re-run sends no copy; the
language a partner's reports are written in; and who made a refund (the cashier a report holds to account).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("partners", sa.Column("mail_language", sa.String(8), nullable=True))  # None: English
    op.add_column("refunds", sa.Column("cashier_login", sa.String(100), nullable=True))  # None: not named
    op.create_table(
        "daily_reports_sent",
        sa.Column("partner_id", sa.BigInteger(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name="fk_daily_reports_sent_partner_id_partners"),
    )


def downgrade() -> None:
    op.drop_table("daily_reports_sent")
    # in place on both engines: copying `partners` on SQLite would trip the keys that refer to it
    op.execute("ALTER TABLE refunds DROP COLUMN cashier_login")
    op.execute("ALTER TABLE partners DROP COLUMN mail_language")
