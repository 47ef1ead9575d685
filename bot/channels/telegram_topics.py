"""The Telegram desk's own storage: which forum topic and which queue card belong to a ticket.

The hand-off queue and the platform-free desk know tickets only; topics are a Telegram matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import Store
from bot.store.base import insert_ignoring
from bot.store.schema import desk_topics, tickets


@dataclass(frozen=True)
class Topic:
    thread_id: int | None = None
    card_message_id: int | None = None


class TelegramTopics:
    def __init__(self, store: Store):
        self.store = store

    async def get(self, ticket_id: int) -> Topic:
        query = select(desk_topics.c.thread_id, desk_topics.c.card_message_id).where(
            desk_topics.c.ticket_id == ticket_id
        )
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return Topic(row.thread_id, row.card_message_id) if row else Topic()

    async def set(self, ticket_id: int, **values: int | None) -> None:
        """Set ``thread_id`` and/or ``card_message_id`` of a ticket."""

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                insert_ignoring(conn, desk_topics)
                .values(ticket_id=ticket_id)
                .on_conflict_do_nothing(index_elements=["ticket_id"])
            )
            await conn.execute(update(desk_topics).where(desk_topics.c.ticket_id == ticket_id).values(**values))

        await self.store.write(work)

    async def ticket_for_thread(self, thread_id: int) -> int | None:
        """The ticket a forum topic belongs to (the latest, should a topic id ever come back)."""
        query = (
            select(desk_topics.c.ticket_id)
            .join(tickets, tickets.c.id == desk_topics.c.ticket_id)
            .where(desk_topics.c.thread_id == thread_id)
            .order_by(desk_topics.c.ticket_id.desc())
            .limit(1)
        )
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query)).scalar()
