"""The mediator desk: ticket topics, cards, reminders; mediators; desk state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'claimed')")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("summary", sa.Text))
        batch.add_column(sa.Column("thread_id", sa.Integer))
        batch.add_column(sa.Column("card_message_id", sa.Integer))
        batch.add_column(sa.Column("transcript_upto", sa.Integer))
        batch.add_column(sa.Column("mediator_name", sa.String(128)))
        batch.add_column(
            sa.Column(
                "last_activity_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("holder_since", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("holder_replied_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("last_activity_at", server_default=None)
    op.create_index("ix_tickets_person_id", "tickets", ["person_id", "id"])
    op.create_index("ix_tickets_thread_id", "tickets", ["thread_id"])
    op.create_index(
        "uq_tickets_open_person", "tickets", ["person_id"], unique=True, sqlite_where=OPEN, postgresql_where=OPEN
    )
    op.create_table(
        "mediators",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("username", sa.String(64)),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "desk_state",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("desk_state")
    op.drop_table("mediators")
    op.drop_index("uq_tickets_open_person", "tickets")
    op.drop_index("ix_tickets_thread_id", "tickets")
    op.drop_index("ix_tickets_person_id", "tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in (
            "holder_replied_at",
            "holder_since",
            "flagged_at",
            "reminded_at",
            "last_activity_at",
            "mediator_name",
            "transcript_upto",
            "card_message_id",
            "thread_id",
            "summary",
        ):
            batch.drop_column(column)
