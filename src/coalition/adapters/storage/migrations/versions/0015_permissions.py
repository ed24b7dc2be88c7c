"""The permissions matrix: outlet × counter × operation, allowed when listed (issue 4, point 3).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outlet_permissions",
        sa.Column("network_id", sa.BigInteger(), nullable=False),
        sa.Column("outlet_id", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.String(48), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "counter", "operation", name="pk_outlet_permissions"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_outlet_permissions_network_id_networks"),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"], name="fk_outlet_permissions_outlet_id_outlets"),
        sa.CheckConstraint(
            "operation IN ('accrue', 'spend', 'grant', 'honour', 'top_up')", name="ck_outlet_permissions_operation"
        ),
    )
    op.create_index("ix_outlet_permissions_network_id", "outlet_permissions", ["network_id"])


def downgrade() -> None:
    op.drop_index("ix_outlet_permissions_network_id", table_name="outlet_permissions")
    op.drop_table("outlet_permissions")
