"""Files of a conversation with a mediator (photos and PDFs, both ways).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL")),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("platform_ref", sa.Text),
        sa.Column("mime", sa.String(100)),
        sa.Column("filename", sa.String(200)),
        sa.Column("size", sa.Integer),
        sa.Column("content", sa.LargeBinary),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attachments_ticket_id", "attachments", ["ticket_id", "id"])
    op.create_index("ix_attachments_created_at", "attachments", ["created_at"])


def downgrade() -> None:
    op.drop_table("attachments")
