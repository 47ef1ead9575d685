"""The editors' inbox: unanswered questions also from did-you-mean replies and 👎 answers.

``kind`` says why a question is kept (none: no answer; suggest: only a did-you-mean; unhelpful:
the answer got 👎, ``entry_id`` names it). The same retention and "forget" apply.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unanswered") as table:
        table.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="none"))
        table.add_column(sa.Column("entry_id", sa.String(80)))


def downgrade() -> None:
    with op.batch_alter_table("unanswered") as table:
        table.drop_column("entry_id")
        table.drop_column("kind")
