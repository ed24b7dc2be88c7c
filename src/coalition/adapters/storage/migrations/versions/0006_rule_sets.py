"""Rule sets: a draft per network, published versions kept for good (issue 3).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PUBLISHED_KEPT = {
    "postgresql": """
CREATE FUNCTION coalition_rule_sets_published_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.status = 'published' THEN
    RAISE EXCEPTION 'a published rule set is kept as it was: % refused', TG_OP
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER rule_sets_published_kept BEFORE UPDATE OR DELETE ON rule_sets
  FOR EACH ROW EXECUTE FUNCTION coalition_rule_sets_published_kept();
""",
    "sqlite": """
CREATE TRIGGER rule_sets_published_kept BEFORE UPDATE ON rule_sets WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published rule set is kept as it was: UPDATE refused'); END;
""",
}


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("network_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_rule_sets_network_id_networks"),
        sa.UniqueConstraint("network_id", "version", name="uq_rule_sets_network_id_version"),
        sa.CheckConstraint("status IN ('draft', 'published')", name="ck_rule_sets_status"),
        sa.CheckConstraint(
            "status = 'draft' OR (published_at IS NOT NULL AND effective_from IS NOT NULL)",
            name="ck_rule_sets_published",
        ),
    )
    op.create_index(
        "uq_rule_sets_one_draft",
        "rule_sets",
        ["network_id"],
        unique=True,
        postgresql_where=sa.text("status = 'draft'"),
        sqlite_where=sa.text("status = 'draft'"),
    )
    dialect = op.get_bind().dialect.name
    if dialect in _PUBLISHED_KEPT:
        op.execute(_PUBLISHED_KEPT[dialect].strip())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP TRIGGER IF EXISTS rule_sets_published_kept" + (" ON rule_sets" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS coalition_rule_sets_published_kept()")
    op.drop_index("uq_rule_sets_one_draft", table_name="rule_sets")
    op.drop_table("rule_sets")
