"""The web chat's mailboxes and the help centre's "was this helpful?".

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False, unique=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sqlite_autoincrement=True,  # ids never reused: browsers ask for the messages after their last
    )
    op.create_index("ix_web_messages_conversation", "web_messages", ["conversation", "id"])
    op.create_table(
        "page_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_page_feedback_created_at", "page_feedback", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_page_feedback_created_at", "page_feedback")
    op.drop_table("page_feedback")
    op.drop_index("ix_web_messages_conversation", "web_messages")
    op.drop_table("web_messages")
