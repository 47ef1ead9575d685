"""Several instances on one database: claims with leases on the inbox and outbox, a shared
sending pace (per chat and per channel); indexes for retention.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING_UPDATE = sa.text("processed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("next_send_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("chat_key", sa.String(160)))
        batch.add_column(sa.Column("claimed_by", sa.String(64)))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.create_index(
        "ix_inbox_pending_chat",
        "inbox",
        ["chat_key", "id"],
        sqlite_where=PENDING_UPDATE,
        postgresql_where=PENDING_UPDATE,
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64)))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True)))
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"])
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_table(
        "rate_limits",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
    )
    op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    op.create_index("ix_unanswered_created_at", "unanswered", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_unanswered_created_at", "unanswered")
    op.drop_index("ix_conversations_updated_at", "conversations")
    op.drop_table("rate_limits")
    op.drop_index("ix_outbox_status_not_before", "outbox")
    op.drop_index("ix_outbox_status_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_index("ix_inbox_pending_chat", "inbox")
    with op.batch_alter_table("inbox") as batch:
        for column in ("attempts", "claimed_until", "claimed_by", "chat_key"):
            batch.drop_column(column)
    with op.batch_alter_table("people") as batch:
        batch.drop_column("next_send_at")
