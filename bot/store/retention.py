"""Retention: what people wrote is deleted after ``RETENTION_DAYS``; bookkeeping after days.

``docs/privacy.md`` lists every table, what it holds and how long; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import String, cast, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey
from bot.store.base import try_singleton, utcnow
from bot.store.jobs import DESK, outbox_row
from bot.store.schema import (
    attachments,
    conversations,
    deliveries,
    desk_topics,
    inbox,
    login_failures,
    messages,
    outbox,
    page_feedback,
    people,
    staff_sessions,
    ticket_notes,
    tickets,
    unanswered,
    web_messages,
)
from bot.store.turns import delete_chat_bookkeeping, delete_person

log = logging.getLogger(__name__)

# Bookkeeping that only guards against duplicates and late delivery reports needs days, not months.
SHORT_KEEP = dt.timedelta(days=3)
# Keys of a conversation's data that hold the person's own words (a question kept for later).
TEXT_KEYS = ("pending", "last_question")


class RetentionStore:
    """Deleting what is older than the retention window (part of ``Store``)."""

    async def purge_messages(self, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Apply retention; returns how many logged messages were deleted. Several instances may
        call it at once: one does the work, the others return 0."""
        now = now or utcnow()
        cutoff = now - older_than
        short = now - SHORT_KEEP

        async def work(conn: AsyncConnection) -> int:
            if not await try_singleton(conn, "acasa:retention"):
                return 0
            await _forget_silent_people(conn, cutoff, now)
            await _expire_ticket_topics(conn, cutoff, now)
            result = await conn.execute(delete(messages).where(messages.c.created_at < cutoff))
            await conn.execute(delete(unanswered).where(unanswered.c.created_at < cutoff))
            await conn.execute(delete(ticket_notes).where(ticket_notes.c.created_at < cutoff))
            await conn.execute(delete(attachments).where(attachments.c.created_at < cutoff))
            await conn.execute(
                delete(web_messages).where((web_messages.c.created_at < cutoff) | (web_messages.c.expires_at < now))
            )
            await conn.execute(delete(page_feedback).where(page_feedback.c.created_at < cutoff))
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < now))
            await conn.execute(delete(login_failures).where(login_failures.c.at < short))
            await _forget_old_words_in_conversations(conn, cutoff)
            # The person's last question on a ticket's card, once the ticket is long closed.
            await conn.execute(
                update(tickets)
                .where(tickets.c.summary.is_not(None), tickets.c.status.not_in(("waiting", "claimed")))
                .where(tickets.c.closed_at < cutoff)
                .values(summary=None)
            )
            await conn.execute(delete(inbox).where(inbox.c.processed_at.is_not(None), inbox.c.processed_at < short))
            await conn.execute(delete(deliveries).where(deliveries.c.updated_at < short))
            # Replies held for WhatsApp's window of someone who never wrote again; refused and
            # dropped ones (kept without text, for operators) — with the chat they were for.
            await conn.execute(
                delete(outbox).where(outbox.c.status.in_(("held", "failed", "dropped")), outbox.c.created_at < cutoff)
            )
            return int(result.rowcount or 0)

        return await self.write(work)


async def _forget_old_words_in_conversations(conn: AsyncConnection, cutoff: dt.datetime) -> None:
    """A question kept in a conversation's state (asked before choosing a language, or the last one
    for a mediator's card) goes once the conversation is older than the retention window."""
    rows = (
        await conn.execute(
            select(conversations.c.person_id, conversations.c.data).where(
                conversations.c.updated_at < cutoff,
                or_(*(conversations.c.data[key].as_string().is_not(None) for key in TEXT_KEYS)),
            )
        )
    ).all()
    for row in rows:
        data = {key: value for key, value in dict(row.data or {}).items() if key not in TEXT_KEYS}
        await conn.execute(update(conversations).where(conversations.c.person_id == row.person_id).values(data=data))


async def _forget_silent_people(conn: AsyncConnection, cutoff: dt.datetime, now: dt.datetime) -> None:
    """Someone who has not written for longer than the retention window is deleted entirely, as if
    they had written "forget" (without a message to them): their number or chat id is not kept for
    ever. Not while they wait for or talk with a mediator."""
    open_ticket = (
        select(tickets.c.id)
        .where(tickets.c.person_id == people.c.id, tickets.c.status.in_(("waiting", "claimed")))
        .exists()
    )
    rows = (
        await conn.execute(
            select(people.c.id, people.c.channel, people.c.platform_id).where(people.c.last_seen < cutoff, ~open_ticket)
        )
    ).all()
    for row in rows:
        await delete_person(conn, row.id, now, why="expired")
        await delete_chat_bookkeeping(conn, ConversationKey(row.channel, row.platform_id))
    if rows:
        log.info("retention: %d person(s) silent for longer than the retention window deleted", len(rows))


async def _expire_ticket_topics(conn: AsyncConnection, cutoff: dt.datetime, now: dt.datetime) -> None:
    """The mediator group's topic of a conversation that ended before the retention window holds
    words that are no longer kept here: the desk deletes it."""
    waiting_jobs = (
        select(outbox.c.id)
        .where(outbox.c.channel == DESK, outbox.c.chat_id == "ticket:" + cast(tickets.c.id, String))
        .where(outbox.c.status == "pending")
        .exists()
    )
    # Only tickets the Telegram desk still has a topic for (its own table; the topic is forgotten
    # there once deleted).
    rows = (
        await conn.execute(
            select(tickets.c.id)
            .join(desk_topics, desk_topics.c.ticket_id == tickets.c.id)
            .where(
                desk_topics.c.thread_id.is_not(None),
                tickets.c.status.not_in(("waiting", "claimed")),
                tickets.c.closed_at < cutoff,
                ~waiting_jobs,
            )
        )
    ).all()
    if rows:
        await conn.execute(
            insert(outbox),
            [outbox_row(DESK, f"ticket:{row.id}", {"kind": "expired", "ticket_id": row.id}, now) for row in rows],
        )
