"""People and their conversation turns: state, the message log, feedback, unanswered questions,
hand-off effects and "forget", each turn written in one transaction with its replies.

Nothing here changes a ``Turn`` it is given: a batch that is rolled back leaves every turn as it
was, so writing the same turns again (one by one, after a failure) derives everything anew.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey
from bot.store.base import insert_ignoring
from bot.store.jobs import DESK, outbox_row
from bot.store.schema import (
    PERSONAL_TABLES,
    attachments,
    conversations,
    deliveries,
    feedback,
    messages,
    outbox,
    people,
    referrals,
    tickets,
    unanswered,
    web_messages,
)
from bot.store.updates import mark_updates_done

FAREWELL = "farewell"  # an outbox job sent after "forget": it outlives the person it goes to

_UPDATE_PERSON = (
    update(people)
    .where(people.c.id == bindparam("b_id"))
    .values(language=bindparam("b_language"), last_seen=bindparam("b_at"), blocked_at=None, window_notice_at=None)
)
# The person wrote: replies held for WhatsApp's 24-hour window may go now, before the new ones.
_RELEASE_HELD = (
    update(outbox)
    .where(
        outbox.c.channel == bindparam("b_channel"), outbox.c.chat_id == bindparam("b_chat"), outbox.c.status == "held"
    )
    .values(status="pending", not_before=bindparam("b_at"))
)
# Built once: constructing statements per turn costs more than executing them on SQLite.
_INSERT_MESSAGES = insert(messages)
_INSERT_FEEDBACK = insert(feedback)
_INSERT_UNANSWERED = insert(unanswered)
_INSERT_OUTBOX = insert(outbox)
_UPDATE_CONVERSATION = (
    update(conversations)
    .where(conversations.c.person_id == bindparam("b_id"))
    .values(mode=bindparam("b_mode"), step=bindparam("b_step"), data=bindparam("b_data"), updated_at=bindparam("b_at"))
)


class AlreadyDone(Exception):
    """The platform update a turn answers was finished meanwhile (by another instance whose lease
    on it had not expired yet, or before a crash): the turn is not written."""


def ticket_row(person_id: int, opening: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """A new waiting ticket; ``opening`` has channel, language, topics, urgent and maybe summary."""
    return {**opening, "person_id": person_id, "status": "waiting", "created_at": at, "last_activity_at": at}


@dataclass
class PersonState:
    """What the engine needs to know about a person before handling their message."""

    key: ConversationKey
    person_id: int | None = None
    language: str | None = None
    mode: str = "bot"
    step: str = "new"
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return self.person_id is None


@dataclass
class HandoffEffects:
    """A turn's changes to the hand-off queue, written in the same transaction as the turn."""

    open_ticket: dict[str, Any] | None = None  # channel, language, topics, urgent, summary
    updates: list[tuple[int, tuple[str, ...], dict[str, Any]]] = field(default_factory=list)  # id, statuses, values
    relay: tuple[int, dict[str, Any]] | None = None  # to the mediator, if the ticket is claimed when written
    cancel: int | None = None  # the person ends their open ticket, whatever its status is by then
    rating: tuple[int, int] | None = None  # (ticket id, 1-5) for the person's own closed, unrated ticket
    referral: tuple[int, bool] | None = None  # (referral id, agreed) the person's answer to a referral question
    # (ticket id, channel, chat id, [(platform ref, mime, file name)]): files the person sent a mediator
    files: tuple[int, str, str, list[tuple[str, str | None, str | None]]] | None = None
    desk_jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (desk chat, job body)


@dataclass
class Turn:
    """Everything one handled message changes, written in one transaction."""

    state: PersonState
    at: dt.datetime
    incoming_text: str
    incoming_id: str | None = None
    outcome: str | None = None  # what became of the message (bot/handlers/context.py), for the figures
    replies: list[tuple[str, str | None]] = field(default_factory=list)  # (text, intent)
    feedback: list[tuple[str, str, bool]] = field(default_factory=list)  # (entry id, language, helpful)
    # (language, text, kind, entry id): questions for the editors' inbox (bot/unanswered.py)
    unanswered: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    forget: bool = False
    inbox_id: int | None = None  # the stored platform update this turn answers, marked done with it
    outbox: list[dict[str, Any]] = field(default_factory=list)  # replies to deliver (job bodies)
    handoff: HandoffEffects | None = None  # what the turn changes in the mediator queue


def _person_query(*, with_message: bool) -> Any:
    """Built once: constructing a statement costs more than running it."""
    columns = [people.c.id, people.c.language, conversations.c.mode, conversations.c.step, conversations.c.data]
    if with_message:  # and whether this message of theirs was handled before
        seen = (
            select(func.count())
            .select_from(messages)
            .where(
                messages.c.person_id == people.c.id,
                messages.c.direction == "in",
                messages.c.platform_message_id == bindparam("b_message"),
            )
            .scalar_subquery()
        )
        columns.append(seen.label("seen"))
    return (
        select(*columns)
        .select_from(people.outerjoin(conversations, conversations.c.person_id == people.c.id))
        .where(people.c.channel == bindparam("b_channel"), people.c.platform_id == bindparam("b_chat"))
    )


_LOAD = _person_query(with_message=False)
_LOAD_WITH_MESSAGE = _person_query(with_message=True)
_HANDLED = (
    select(messages.c.id)
    .where(
        messages.c.person_id == bindparam("b_person"),
        messages.c.direction == "in",
        messages.c.platform_message_id == bindparam("b_message"),
    )
    .limit(1)
)


class TurnStore:
    """Reading people's state and writing their turns (part of ``Store``)."""

    async def load(self, key: ConversationKey) -> PersonState:
        state, _ = await self.load_for(key, None)
        return state

    async def load_for(self, key: ConversationKey, message_id: str | None) -> tuple[PersonState, bool]:
        """The person's state, and whether the message ``message_id`` was handled already — one query."""
        query, values = (_LOAD_WITH_MESSAGE, {"b_message": message_id}) if message_id else (_LOAD, {})
        async with self.read() as conn:
            row = (await conn.execute(query, {"b_channel": key.channel, "b_chat": key.chat_id, **values})).first()
        if row is None:
            return PersonState(key), False
        state = PersonState(key, row.id, row.language, row.mode or "bot", row.step or "idle", dict(row.data or {}))
        return state, bool(message_id and row.seen)

    async def already_handled(self, person_id: int | None, platform_message_id: str | None) -> bool:
        if person_id is None or not platform_message_id:
            return False
        async with self.read() as conn:
            found = await conn.execute(_HANDLED, {"b_person": person_id, "b_message": platform_message_id})
            return found.first() is not None

    async def transcript(self, key: ConversationKey) -> list[tuple[str, str]]:
        """(direction, text) of a person's logged messages, oldest first."""
        query = (
            select(messages.c.direction, messages.c.text)
            .join(people, people.c.id == messages.c.person_id)
            .where(people.c.channel == key.channel, people.c.platform_id == key.chat_id)
            .order_by(messages.c.id)
        )
        async with self.read() as conn:
            return [(r.direction, r.text) for r in await conn.execute(query)]

    async def save(self, turn: Turn) -> int | None:
        """Write a turn; returns the person's id (None after "forget"). Raises ``AlreadyDone`` if
        the platform update it answers was finished meanwhile.

        Group commit: turns that arrive while a transaction is being written go together into
        the next one, so many people talking at once cost few transactions. The caller still
        returns only once its own turn is durable.
        """
        return await self._enqueue(turn)

    async def _save_batch(self, conn: AsyncConnection, turns: list[Turn]) -> list[int | AlreadyDone | None]:
        """Write several people's turns with a handful of statements (executemany)."""
        inbox_ids = [t.inbox_id for t in turns if t.inbox_id is not None]
        # Marked first: a turn whose update someone else finished is left out, and changes nothing.
        owned = await mark_updates_done(conn, inbox_ids) if inbox_ids else set()
        results: list[int | AlreadyDone | None] = []
        person_updates: list[dict[str, Any]] = []
        conversation_updates: list[dict[str, Any]] = []
        message_rows: list[dict[str, Any]] = []
        feedback_rows: list[dict[str, Any]] = []
        unanswered_rows: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        outbox_rows: list[dict[str, Any]] = []
        for turn in turns:
            if turn.inbox_id is not None and turn.inbox_id not in owned:
                results.append(AlreadyDone())
                continue
            state, key = turn.state, turn.state.key
            if turn.inbox_id is not None:
                released.append({"b_channel": key.channel, "b_chat": key.chat_id, "b_at": turn.at})
            if turn.forget:
                if state.person_id is not None:
                    await delete_person(conn, state.person_id, turn.at)
                await delete_chat_bookkeeping(conn, key)
                # The confirmation still goes out, from a job that outlives everything else about them.
                outbox_rows.extend(
                    outbox_row(key.channel, key.chat_id, {**body, FAREWELL: True}, turn.at) for body in turn.outbox
                )
                results.append(None)
                continue
            outbox_rows.extend(outbox_row(key.channel, key.chat_id, body, turn.at) for body in turn.outbox)
            person_id = state.person_id
            created = False
            if person_id is None:
                person_id, created = await _create_person(conn, turn)
            if turn.handoff is not None:
                await _handoff_effects(conn, person_id, turn.handoff, turn.at)
            if not created:  # known, or created by another instance a moment ago
                person_updates.append({"b_id": person_id, "b_language": state.language, "b_at": turn.at})
                conversation_updates.append(
                    {
                        "b_id": person_id,
                        "b_mode": state.mode,
                        "b_step": state.step,
                        "b_data": state.data,
                        "b_at": turn.at,
                    }
                )
            results.append(person_id)
            message_rows.append(
                {
                    "person_id": person_id,
                    "direction": "in",
                    "text": turn.incoming_text,
                    "intent": turn.outcome,
                    "platform_message_id": turn.incoming_id,
                    "created_at": turn.at,
                }
            )
            message_rows.extend(
                {
                    "person_id": person_id,
                    "direction": "out",
                    "text": text,
                    "intent": intent,
                    "platform_message_id": None,
                    "created_at": turn.at,
                }
                for text, intent in turn.replies
            )
            feedback_rows.extend(
                {"person_id": person_id, "entry_id": e, "language": lang, "helpful": h, "created_at": turn.at}
                for e, lang, h in turn.feedback
            )
            unanswered_rows.extend(
                {
                    "person_id": person_id,
                    "language": lang,
                    "text": text,
                    "kind": kind,
                    "entry_id": entry_id,
                    "created_at": turn.at,
                }
                for lang, text, kind, entry_id in turn.unanswered
            )
        for statement, rows in (
            (_UPDATE_PERSON, person_updates),
            (_UPDATE_CONVERSATION, conversation_updates),
            (_INSERT_MESSAGES, message_rows),
            (_INSERT_FEEDBACK, feedback_rows),
            (_INSERT_UNANSWERED, unanswered_rows),
            (_RELEASE_HELD, released),
            (_INSERT_OUTBOX, outbox_rows),
        ):
            if rows:
                await conn.execute(statement, rows)
        return results


async def _create_person(conn: AsyncConnection, turn: Turn) -> tuple[int, bool]:
    """(person id, created): an upsert, so two instances meeting a new person at once both succeed."""
    state = turn.state
    inserted = await conn.execute(
        insert_ignoring(conn, people)
        .values(
            channel=state.key.channel,
            platform_id=state.key.chat_id,
            language=state.language,
            first_seen=turn.at,
            last_seen=turn.at,
        )
        .on_conflict_do_nothing(index_elements=["channel", "platform_id"])
        .returning(people.c.id)
    )
    person_id = inserted.scalar_one_or_none()
    if person_id is None:
        existing = await conn.execute(
            select(people.c.id).where(people.c.channel == state.key.channel, people.c.platform_id == state.key.chat_id)
        )
        return int(existing.scalar_one()), False
    await conn.execute(
        insert(conversations).values(
            person_id=person_id, mode=state.mode, step=state.step, data=state.data, updated_at=turn.at
        )
    )
    return int(person_id), True


async def delete_chat_bookkeeping(conn: AsyncConnection, key: ConversationKey) -> None:
    """Everything kept for delivery to this chat: pending, held and failed replies, delivery
    reports, and the chat's part of updates still waiting in the inbox."""
    for table in (outbox, deliveries):
        await conn.execute(delete(table).where(table.c.channel == key.channel, table.c.chat_id == key.chat_id))


async def delete_person(conn: AsyncConnection, person_id: int, at: dt.datetime, why: str = "forgotten") -> None:
    """Delete everything about a person. Their tickets stay for the statistics, without anything
    about them; an open one ends, and the mediator group's copies of the conversation (the ticket
    topics) are deleted (desk jobs of kind ``why``: "forgotten", or "expired" by retention; a desk
    with no copy of a ticket has nothing to do)."""
    rows = (await conn.execute(select(tickets.c.id, tickets.c.status).where(tickets.c.person_id == person_id))).all()
    jobs = []
    if rows:  # what was still to go to the mediators (their words) is not sent any more
        await conn.execute(
            delete(outbox).where(
                outbox.c.channel == DESK,
                outbox.c.status.in_(("pending", "held", "failed")),
                outbox.c.chat_id.in_([f"ticket:{row.id}" for row in rows]),
            )
        )
    for row in rows:
        if row.status in ("waiting", "claimed"):
            jobs.append(("queue", {"kind": "card", "ticket_id": row.id}))
        jobs.append((f"ticket:{row.id}", {"kind": why, "ticket_id": row.id}))
    if rows:
        await conn.execute(
            update(tickets)
            .where(tickets.c.person_id == person_id, tickets.c.status.in_(("waiting", "claimed")))
            .values(status="abandoned", closed_at=at)
        )
        await conn.execute(update(tickets).where(tickets.c.person_id == person_id).values(summary=None))
    if jobs:
        await conn.execute(_INSERT_OUTBOX, [outbox_row(DESK, chat, body, at) for chat, body in jobs])
    for table in PERSONAL_TABLES:
        await conn.execute(delete(table).where(table.c.person_id == person_id))
    chat = (await conn.execute(select(people.c.channel, people.c.platform_id).where(people.c.id == person_id))).first()
    if chat is not None and chat.channel == "web":  # the web chat's mailbox is keyed by the conversation
        await conn.execute(delete(web_messages).where(web_messages.c.conversation == chat.platform_id))
    await conn.execute(delete(people).where(people.c.id == person_id))


async def _handoff_effects(conn: AsyncConnection, person_id: int, effects: HandoffEffects, at: dt.datetime) -> None:
    jobs = list(effects.desk_jobs)
    if effects.cancel is not None:
        jobs.extend(await _cancel_ticket(conn, effects.cancel, person_id, at))
    if effects.rating is not None:
        ticket_id, rating = effects.rating
        await conn.execute(
            update(tickets)
            .where(
                tickets.c.id == ticket_id,
                tickets.c.person_id == person_id,
                tickets.c.status == "closed",
                tickets.c.rating.is_(None),
            )
            .values(rating=rating, rated_at=at)
        )
    if effects.referral is not None:
        referral_id, agreed = effects.referral
        await conn.execute(
            update(referrals)
            .where(referrals.c.id == referral_id, referrals.c.person_id == person_id, referrals.c.status == "asked")
            .values(status="agreed" if agreed else "declined", updated_at=at)
        )
    if effects.files is not None:
        ticket_id, channel, chat_id, files = effects.files
        for ref, mime, filename in files:
            attachment_id = (
                await conn.execute(
                    insert(attachments)
                    .values(
                        ticket_id=ticket_id,
                        person_id=person_id,
                        direction="in",
                        channel=channel,
                        platform_ref=ref,
                        mime=mime,
                        filename=filename,
                        status="pending",
                        created_at=at,
                    )
                    .returning(attachments.c.id)
                )
            ).scalar_one()
            # Fetched by the channel's sender, like a message going out: retried, paced, never lost —
            # in a queue of its own, so that a slow download never holds up the person's replies.
            body = {"kind": "fetch", "attachment_id": attachment_id, "chat": chat_id}
            await conn.execute(_INSERT_OUTBOX, [outbox_row(channel, f"file:{attachment_id}", body, at)])
    for ticket_id, allowed, values in effects.updates:
        await conn.execute(
            update(tickets).where(tickets.c.id == ticket_id, tickets.c.status.in_(allowed)).values(**values)
        )
    if effects.relay is not None:
        ticket_id, body = effects.relay
        # Locked, so a mediator's claim is either before this (relay now) or after it (the claim's
        # transcript then includes this message): never neither.
        status = (
            await conn.execute(select(tickets.c.status).where(tickets.c.id == ticket_id).with_for_update())
        ).scalar_one_or_none()
        if status in ("waiting", "claimed"):
            await conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(last_activity_at=at))
        if status == "claimed":
            jobs.append((f"ticket:{ticket_id}", body))
    if effects.open_ticket is not None:
        values = ticket_row(person_id, effects.open_ticket, at)
        ticket_id = (await conn.execute(insert(tickets).values(**values).returning(tickets.c.id))).scalar_one()
        jobs.append(("queue", {"kind": "card", "ticket_id": ticket_id}))
    if jobs:
        await conn.execute(_INSERT_OUTBOX, [outbox_row(DESK, chat, body, at) for chat, body in jobs])


async def _cancel_ticket(
    conn: AsyncConnection, ticket_id: int, person_id: int, at: dt.datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Waiting → cancelled, with a mediator → closed; the desk is told which it was."""
    status = (
        await conn.execute(
            select(tickets.c.status)
            .where(tickets.c.id == ticket_id, tickets.c.person_id == person_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if status not in ("waiting", "claimed"):
        return []
    final = "cancelled" if status == "waiting" else "closed"
    await conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(status=final, closed_at=at))
    jobs: list[tuple[str, dict[str, Any]]] = [("queue", {"kind": "card", "ticket_id": ticket_id})]
    if status == "claimed":
        jobs.append((f"ticket:{ticket_id}", {"kind": "ended", "ticket_id": ticket_id, "by": "person"}))
    return jobs
