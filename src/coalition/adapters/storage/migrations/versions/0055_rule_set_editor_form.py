"""The program editor's form kept with the rule-set version it wrote (issue 18, point 1): `rule_sets.editor_form`,
the form as JSON (application/program_editor.py), so that the editor opens with the draft or the program in force
rather than the example. None: the version was written as YAML (or before this column).

Revision ID: 0055
Revises: 0054
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rule_sets", sa.Column("editor_form", sa.Text(), nullable=True))


def downgrade() -> None:
    # in place on both engines (SQLite ≥ 3.35): a batch copy of `rule_sets` would have to rebuild its partial
    # unique index (one draft per network) from reflection; the column is in no index or constraint
    op.drop_column("rule_sets", "editor_form")
