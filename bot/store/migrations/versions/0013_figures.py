"""The city's figures: counts that outlive the messages they were counted from.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as table:
        table.add_column(sa.Column("rated_at", sa.DateTime(timezone=True)))
    op.create_table(
        "figures",
        sa.Column("period", sa.String(5), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("metric", sa.String(40), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.create_table(
        "figure_periods",
        sa.Column("period", sa.String(5), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("figure_periods")
    op.drop_table("figures")
    with op.batch_alter_table("tickets") as table:
        table.drop_column("rated_at")
