"""The Telegram desk's forum topic and queue card of a ticket move out of ``tickets`` into its own
table, ``desk_topics``: the core ticket is the same for every desk.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_topics",
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("thread_id", sa.Integer),
        sa.Column("card_message_id", sa.Integer),
    )
    op.create_index("ix_desk_topics_thread_id", "desk_topics", ["thread_id"])
    op.execute(
        "INSERT INTO desk_topics (ticket_id, thread_id, card_message_id) "
        "SELECT id, thread_id, card_message_id FROM tickets "
        "WHERE thread_id IS NOT NULL OR card_message_id IS NOT NULL"
    )
    op.drop_index("ix_tickets_thread_id", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("thread_id")
        batch.drop_column("card_message_id")


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("thread_id", sa.Integer))
        batch.add_column(sa.Column("card_message_id", sa.Integer))
    op.create_index("ix_tickets_thread_id", "tickets", ["thread_id"])
    op.execute(
        "UPDATE tickets SET thread_id = (SELECT thread_id FROM desk_topics WHERE ticket_id = tickets.id), "
        "card_message_id = (SELECT card_message_id FROM desk_topics WHERE ticket_id = tickets.id)"
    )
    op.drop_table("desk_topics")
