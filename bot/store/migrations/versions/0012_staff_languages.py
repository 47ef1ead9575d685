"""Translators and reviewers work on their own languages: the languages of a staff account.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as table:
        table.add_column(sa.Column("languages", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as table:
        table.drop_column("languages")
