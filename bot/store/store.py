"""The store: one short write transaction per conversation turn, on SQLite or PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so a
reader that later writes cannot fail at once with SQLITE_BUSY. A briefly locked database is retried
with backoff; nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import bindparam, delete, event, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.messages import ConversationKey
from bot.store.schema import (
    PERSONAL_TABLES,
    conversations,
    deliveries,
    feedback,
    inbox,
    messages,
    outbox,
    people,
    tickets,
    unanswered,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_LOCK_RETRIES = 5
SHORT_KEEP = dt.timedelta(days=3)
DESK = "desk"  # the outbox channel of the mediator desk  # processed update ids and delivery reports

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
# Done: the platform's copy of the message (names, text) is not kept, only the key for de-duplication.
_INBOX_DONE = update(inbox).where(inbox.c.id == bindparam("b_id")).values(processed_at=bindparam("b_at"), payload={})

_UPDATE_CONVERSATION = (
    update(conversations)
    .where(conversations.c.person_id == bindparam("b_id"))
    .values(mode=bindparam("b_mode"), step=bindparam("b_step"), data=bindparam("b_data"), updated_at=bindparam("b_at"))
)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def outbox_row(channel: str, chat_id: str, body: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    return {
        "channel": channel,
        "chat_id": chat_id,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "parts_sent": 0,
        "not_before": at,
        "created_at": at,
    }


def ticket_row(person_id: int, opening: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """A new waiting ticket; ``opening`` has channel, language, topics, urgent and maybe summary."""
    return {**opening, "person_id": person_id, "status": "waiting", "created_at": at, "last_activity_at": at}


@dataclass(frozen=True)
class _Accept:
    """A platform update waiting to be stored (see ``Store.accept_update``)."""

    channel: str
    update_key: str
    payload: dict[str, Any]
    at: dt.datetime


@dataclass
class Job:
    """One reply waiting for delivery."""

    id: int
    channel: str
    chat_id: str
    body: dict[str, Any]
    attempts: int
    parts_sent: int


@dataclass
class PendingUpdate:
    id: int
    channel: str
    payload: dict[str, Any]
    received_at: dt.datetime


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
class Turn:
    """Everything one handled message changes, written in one transaction."""

    state: PersonState
    at: dt.datetime
    incoming_text: str
    incoming_id: str | None = None
    replies: list[tuple[str, str | None]] = field(default_factory=list)  # (text, intent)
    feedback: list[tuple[str, str, bool]] = field(default_factory=list)  # (entry id, language, helpful)
    unanswered: list[tuple[str, str]] = field(default_factory=list)  # (language, text)
    forget: bool = False
    inbox_id: int | None = None  # the stored platform update this turn answers, marked done with it
    outbox: list[dict[str, Any]] = field(default_factory=list)  # replies to deliver (job bodies)
    handoff: HandoffEffects | None = None  # what the turn changes in the mediator queue


@dataclass
class HandoffEffects:
    """A turn's changes to the hand-off queue, written in the same transaction as the turn."""

    open_ticket: dict[str, Any] | None = None  # channel, language, topics, urgent, summary
    updates: list[tuple[int, tuple[str, ...], dict[str, Any]]] = field(default_factory=list)  # id, statuses, values
    relay: tuple[int, dict[str, Any]] | None = None  # to the mediator, if the ticket is claimed when written
    cancel: int | None = None  # the person ends their open ticket, whatever its status is by then
    rating: tuple[int, int] | None = None  # (ticket id, 1-5) for the person's own closed, unrated ticket
    desk_jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (desk chat, job body)


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("bot.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, url: str) -> None:
    config = _alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Store:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._pending: list[tuple[Turn | _Accept, asyncio.Future[int | None]]] = []
        self._flushing = False
        self._write_lock = asyncio.Lock()
        self._write_connection: AsyncConnection | None = None

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        kwargs: dict[str, Any] = {}
        if url.startswith("postgresql"):
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        engine = create_async_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":
            _sqlite_setup(engine)
        store = cls(engine)
        if migrate:
            await store.migrate()
        return store

    async def migrate(self) -> None:
        url = self.engine.url.render_as_string(hide_password=False)
        async with self.engine.connect() as connection:
            conn = await connection.execution_options(write=True)
            await conn.run_sync(_upgrade, url)
            await conn.commit()

    async def close(self) -> None:
        await self._drop_writer()
        await self.engine.dispose()  # aiosqlite threads are not daemons: always dispose

    async def _writer(self) -> AsyncConnection:
        """The connection all writes of this process go through (one writer: no lock contention
        inside the process, no pool round trip per transaction)."""
        if self._write_connection is None or self._write_connection.closed:
            connection = await self.engine.connect()
            self._write_connection = await connection.execution_options(write=True)
        return self._write_connection

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction, retrying while the database is briefly locked."""
        delay = 0.05
        async with self._write_lock:
            for attempt in range(_LOCK_RETRIES):
                conn = await self._writer()
                try:
                    async with conn.begin():
                        return await work(conn)
                except OperationalError as exc:
                    message = str(exc).lower()
                    if ("locked" not in message and "busy" not in message) or attempt == _LOCK_RETRIES - 1:
                        await self._drop_writer()
                        raise
                    log.warning("database locked; retrying in %.2f s", delay)
                    await asyncio.sleep(delay)
                    delay *= 2
                except BaseException:
                    await self._drop_writer()
                    raise
        raise AssertionError("unreachable")

    async def _drop_writer(self) -> None:
        if self._write_connection is not None:
            with contextlib.suppress(Exception):
                await self._write_connection.close()
            self._write_connection = None

    # -- reading ------------------------------------------------------------------------------

    async def load(self, key: ConversationKey) -> PersonState:
        query = (
            select(people.c.id, people.c.language, conversations.c.mode, conversations.c.step, conversations.c.data)
            .select_from(people.outerjoin(conversations, conversations.c.person_id == people.c.id))
            .where(people.c.channel == key.channel, people.c.platform_id == key.chat_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return PersonState(key)
        return PersonState(key, row.id, row.language, row.mode or "bot", row.step or "idle", dict(row.data or {}))

    async def already_handled(self, person_id: int | None, platform_message_id: str | None) -> bool:
        if person_id is None or not platform_message_id:
            return False
        query = select(messages.c.id).where(
            messages.c.person_id == person_id,
            messages.c.direction == "in",
            messages.c.platform_message_id == platform_message_id,
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def count(self, table_name: str, key: ConversationKey | None = None) -> int:
        table = {t.name: t for t in (people, conversations, messages, feedback, unanswered, inbox, outbox, deliveries)}[
            table_name
        ]
        query = select(func.count()).select_from(table)
        if key is not None:
            person = select(people.c.id).where(people.c.channel == key.channel, people.c.platform_id == key.chat_id)
            column = table.c.id if table is people else table.c.person_id
            query = query.where(column.in_(person.scalar_subquery()))
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def transcript(self, key: ConversationKey) -> list[tuple[str, str]]:
        """(direction, text) of a person's logged messages, oldest first."""
        query = (
            select(messages.c.direction, messages.c.text)
            .join(people, people.c.id == messages.c.person_id)
            .where(people.c.channel == key.channel, people.c.platform_id == key.chat_id)
            .order_by(messages.c.id)
        )
        async with self.engine.connect() as conn:
            return [(r.direction, r.text) for r in await conn.execute(query)]

    # -- writing ------------------------------------------------------------------------------

    async def save(self, turn: Turn) -> int | None:
        """Write a turn; returns the person's id (None after "forget").

        Group commit: turns that arrive while a transaction is being written go together into
        the next one, so many people talking at once cost few transactions. The caller still
        returns only once its own turn is durable.
        """
        return await self._enqueue(turn)

    async def _enqueue(self, item: Turn | _Accept) -> int | None:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._flushing:
            self._flushing = True
            try:
                while self._pending:
                    batch, self._pending = self._pending, []
                    await self._flush(batch)
            finally:
                self._flushing = False
        return await future

    async def _flush(self, batch: list[tuple[Turn | _Accept, asyncio.Future[int | None]]]) -> None:
        try:
            results = await self.write(lambda conn: self._write_batch(conn, [item for item, _ in batch]))
        except Exception:
            if len(batch) == 1:
                batch[0][1].set_exception(sys.exc_info()[1] or RuntimeError("write failed"))
                return
            # One bad turn must not fail the others: write them one by one.
            for item in batch:
                await self._flush([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    async def _write_batch(self, conn: AsyncConnection, items: list[Turn | _Accept]) -> list[int | None]:
        """Stored updates first (they are independent), then the turns; results in input order."""
        results: dict[int, int | None] = {}
        for index, item in enumerate(items):
            if isinstance(item, _Accept):
                results[index] = await self._insert_update(conn, item)
        turns = [(index, item) for index, item in enumerate(items) if isinstance(item, Turn)]
        if turns:
            for (index, _), person_id in zip(turns, await self._save_batch(conn, [t for _, t in turns]), strict=True):
                results[index] = person_id
        return [results[index] for index in range(len(items))]

    async def _save_batch(self, conn: AsyncConnection, turns: list[Turn]) -> list[int | None]:
        """Write several people's turns with a handful of statements (executemany)."""
        ids: list[int | None] = []
        person_updates: list[dict[str, Any]] = []
        conversation_updates: list[dict[str, Any]] = []
        message_rows: list[dict[str, Any]] = []
        feedback_rows: list[dict[str, Any]] = []
        unanswered_rows: list[dict[str, Any]] = []
        inbox_done: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        outbox_rows: list[dict[str, Any]] = []
        for turn in turns:
            state = turn.state
            if turn.inbox_id is not None:
                inbox_done.append({"b_id": turn.inbox_id, "b_at": turn.at})
                released.append({"b_channel": state.key.channel, "b_chat": state.key.chat_id, "b_at": turn.at})
            outbox_rows.extend(outbox_row(state.key.channel, state.key.chat_id, body, turn.at) for body in turn.outbox)
            if turn.handoff is not None and state.person_id is not None:
                await self._handoff_effects(conn, state.person_id, turn.handoff, turn.at)
            if turn.forget:
                if state.person_id is not None:
                    await self._delete_person(conn, state.person_id, turn.at)
                    for table in (outbox, deliveries):
                        await conn.execute(
                            delete(table).where(
                                table.c.channel == state.key.channel, table.c.chat_id == state.key.chat_id
                            )
                        )
                ids.append(None)
                continue
            if state.person_id is None:
                state.person_id = await self._create_person(conn, turn)
                if turn.handoff is not None:
                    await self._handoff_effects(conn, state.person_id, turn.handoff, turn.at)
            else:
                person_updates.append({"b_id": state.person_id, "b_language": state.language, "b_at": turn.at})
                conversation_updates.append(
                    {
                        "b_id": state.person_id,
                        "b_mode": state.mode,
                        "b_step": state.step,
                        "b_data": state.data,
                        "b_at": turn.at,
                    }
                )
            pid = state.person_id
            ids.append(pid)
            message_rows.append(
                {
                    "person_id": pid,
                    "direction": "in",
                    "text": turn.incoming_text,
                    "intent": None,
                    "platform_message_id": turn.incoming_id,
                    "created_at": turn.at,
                }
            )
            message_rows.extend(
                {
                    "person_id": pid,
                    "direction": "out",
                    "text": text,
                    "intent": intent,
                    "platform_message_id": None,
                    "created_at": turn.at,
                }
                for text, intent in turn.replies
            )
            feedback_rows.extend(
                {"person_id": pid, "entry_id": e, "language": lang, "helpful": h, "created_at": turn.at}
                for e, lang, h in turn.feedback
            )
            unanswered_rows.extend(
                {"person_id": pid, "language": lang, "text": text, "created_at": turn.at}
                for lang, text in turn.unanswered
            )
        for statement, rows in (
            (_UPDATE_PERSON, person_updates),
            (_UPDATE_CONVERSATION, conversation_updates),
            (_INSERT_MESSAGES, message_rows),
            (_INSERT_FEEDBACK, feedback_rows),
            (_INSERT_UNANSWERED, unanswered_rows),
            (_INBOX_DONE, inbox_done),
            (_RELEASE_HELD, released),
            (_INSERT_OUTBOX, outbox_rows),
        ):
            if rows:
                await conn.execute(statement, rows)
        return ids

    @staticmethod
    async def _handoff_effects(conn: AsyncConnection, person_id: int, effects: HandoffEffects, at: dt.datetime) -> None:
        jobs = list(effects.desk_jobs)
        if effects.cancel is not None:
            jobs.extend(await Store._cancel_ticket(conn, effects.cancel, person_id, at))
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
                .values(rating=rating)
            )
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

    @staticmethod
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

    @staticmethod
    async def _create_person(conn: AsyncConnection, turn: Turn) -> int:
        state = turn.state
        result = await conn.execute(
            insert(people)
            .values(
                channel=state.key.channel,
                platform_id=state.key.chat_id,
                language=state.language,
                first_seen=turn.at,
                last_seen=turn.at,
            )
            .returning(people.c.id)
        )
        person_id = int(result.scalar_one())
        await conn.execute(
            insert(conversations).values(
                person_id=person_id, mode=state.mode, step=state.step, data=state.data, updated_at=turn.at
            )
        )
        return person_id

    @staticmethod
    async def _delete_person(conn: AsyncConnection, person_id: int, at: dt.datetime) -> None:
        # Their tickets stay for the statistics, without anything about them; an open one ends,
        # and the mediator group's copies of the conversation (the ticket topics) are deleted.
        rows = (
            await conn.execute(
                select(tickets.c.id, tickets.c.status, tickets.c.thread_id).where(tickets.c.person_id == person_id)
            )
        ).all()
        jobs = []
        if rows:  # what was still to go to the mediators (their words) is not sent any more
            await conn.execute(
                delete(outbox).where(
                    outbox.c.channel == DESK,
                    outbox.c.status.in_(("pending", "held")),
                    outbox.c.chat_id.in_([f"ticket:{row.id}" for row in rows]),
                )
            )
        for row in rows:
            if row.status in ("waiting", "claimed"):
                jobs.append(("queue", {"kind": "card", "ticket_id": row.id}))
            if row.thread_id is not None:
                jobs.append((f"ticket:{row.id}", {"kind": "forgotten", "ticket_id": row.id}))
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
        await conn.execute(delete(people).where(people.c.id == person_id))

    # -- inbox ---------------------------------------------------------------------------------

    async def accept_update(
        self, channel: str, update_key: str, payload: dict[str, Any], at: dt.datetime | None = None
    ) -> int | None:
        """Store a platform update durably; None if it was already accepted (a platform retry).

        Goes through the same group commit as turns: many webhook requests at once share one
        transaction, and each still returns only once its update is stored.
        """
        accepted = _Accept(channel, update_key, payload, at or dt.datetime.now(dt.UTC))
        return await self._enqueue(accepted)

    async def _insert_update(self, conn: AsyncConnection, item: _Accept) -> int | None:
        dialect_insert = sqlite_insert if self.is_sqlite else postgresql_insert
        result = await conn.execute(
            dialect_insert(inbox)
            .values(channel=item.channel, update_key=item.update_key, payload=item.payload, received_at=item.at)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(inbox.c.id)
        )
        found = result.scalar_one_or_none()
        return int(found) if found is not None else None

    async def pending_updates(
        self, limit: int = 100, exclude: set[int] | frozenset[int] = frozenset()
    ) -> list[PendingUpdate]:
        query = (
            select(inbox.c.id, inbox.c.channel, inbox.c.payload, inbox.c.received_at)
            .where(inbox.c.processed_at.is_(None))
            .order_by(inbox.c.id)
            .limit(limit + len(exclude))
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            found = [PendingUpdate(r.id, r.channel, dict(r.payload), as_utc(r.received_at)) for r in rows]
        return [u for u in found if u.id not in exclude][:limit]

    async def finish_update(self, inbox_id: int) -> None:
        """Mark an update that needs no answer (an unsupported kind) as done."""
        at = dt.datetime.now(dt.UTC)
        await self.write(lambda conn: conn.execute(_INBOX_DONE, [{"b_id": inbox_id, "b_at": at}]))

    # -- outbox --------------------------------------------------------------------------------

    async def due_jobs(self, now: dt.datetime, limit: int, busy_chats: set[tuple[str, str]]) -> list[Job]:
        """The oldest pending job of each chat, if it is due: a chat's replies go out in order."""
        first = (
            select(func.min(outbox.c.id).label("id"))
            .where(outbox.c.status == "pending")
            .group_by(outbox.c.channel, outbox.c.chat_id)
            .subquery()
        )
        query = (
            select(outbox)
            .join(first, first.c.id == outbox.c.id)
            .where(outbox.c.not_before <= now)
            .order_by(outbox.c.id)
            .limit(limit + len(busy_chats))
        )
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        jobs = [
            Job(r.id, r.channel, r.chat_id, dict(r.body), r.attempts, r.parts_sent)
            for r in rows
            if (r.channel, r.chat_id) not in busy_chats
        ]
        return jobs[:limit]

    async def next_due(self) -> dt.datetime | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(func.min(outbox.c.not_before)).where(outbox.c.status == "pending"))
            ).scalar_one()
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value

    async def job_sent(self, job_id: int) -> None:
        """Delivered: the copy is deleted (the message log keeps what was said)."""
        await self.write(lambda conn: conn.execute(delete(outbox).where(outbox.c.id == job_id)))

    async def job_progress(self, job_id: int, parts_sent: int) -> None:
        await self.write(
            lambda conn: conn.execute(update(outbox).where(outbox.c.id == job_id).values(parts_sent=parts_sent))
        )

    async def job_retry(self, job_id: int, not_before: dt.datetime, error: str) -> None:
        await self.write(
            lambda conn: conn.execute(
                update(outbox)
                .where(outbox.c.id == job_id)
                .values(not_before=not_before, attempts=outbox.c.attempts + 1, last_error=error[:200])
            )
        )

    async def job_failed(self, job_id: int, error: str) -> None:
        """Refused by the platform for good (a bad request): kept without its text, for operators."""
        await self.write(
            lambda conn: conn.execute(
                update(outbox)
                .where(outbox.c.id == job_id)
                .values(status="failed", body={}, attempts=outbox.c.attempts + 1, last_error=error[:200])
            )
        )

    async def chat_blocked(self, channel: str, chat_id: str) -> int:
        """The person blocked the bot: stop sending to them. Returns how many replies were dropped."""
        at = dt.datetime.now(dt.UTC)

        async def work(conn: AsyncConnection) -> int:
            await conn.execute(
                update(people).where(people.c.channel == channel, people.c.platform_id == chat_id).values(blocked_at=at)
            )
            result = await conn.execute(
                update(outbox)
                .where(outbox.c.channel == channel, outbox.c.chat_id == chat_id, outbox.c.status == "pending")
                .values(status="dropped", body={}, last_error="blocked by the person")
            )
            return int(result.rowcount or 0)

        return await self.write(work)

    # -- messaging windows and delivery reports (WhatsApp) --------------------------------------

    async def window(self, channel: str, chat_id: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(last message from the person, last window notice sent to them)."""
        query = select(people.c.last_seen, people.c.window_notice_at).where(
            people.c.channel == channel, people.c.platform_id == chat_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None, None
        return as_utc(row.last_seen), as_utc(row.window_notice_at)

    async def hold_chat(self, channel: str, chat_id: str) -> int:
        """Keep a chat's pending replies until the person writes again; returns how many."""
        result = await self.write(
            lambda conn: conn.execute(
                update(outbox)
                .where(outbox.c.channel == channel, outbox.c.chat_id == chat_id, outbox.c.status == "pending")
                .values(status="held")
            )
        )
        return int(result.rowcount or 0)

    async def release_held(self, channel: str, chat_id: str, not_before: dt.datetime) -> None:
        await self.write(
            lambda conn: conn.execute(_RELEASE_HELD, [{"b_channel": channel, "b_chat": chat_id, "b_at": not_before}])
        )

    async def window_notice_sent(self, channel: str, chat_id: str) -> None:
        at = dt.datetime.now(dt.UTC)
        await self.write(
            lambda conn: conn.execute(
                update(people)
                .where(people.c.channel == channel, people.c.platform_id == chat_id)
                .values(window_notice_at=at)
            )
        )

    async def record_delivery(self, platform_id: str, channel: str, chat_id: str, body: dict[str, Any]) -> None:
        at = dt.datetime.now(dt.UTC)
        await self.write(
            lambda conn: conn.execute(
                insert(deliveries).values(
                    platform_id=platform_id,
                    channel=channel,
                    chat_id=chat_id,
                    body=body,
                    status="accepted",
                    updated_at=at,
                )
            )
        )

    async def delivery_report(
        self, platform_id: str, status: str, error_code: str | None
    ) -> tuple[str, str, dict[str, Any]] | None:
        """Record a status; returns (channel, chat id, body) of a message that failed for good."""
        at = dt.datetime.now(dt.UTC)

        async def work(conn: AsyncConnection) -> tuple[str, str, dict[str, Any]] | None:
            row = (await conn.execute(select(deliveries).where(deliveries.c.platform_id == platform_id))).first()
            if row is None:
                return None
            final = status in ("delivered", "read", "failed", "undelivered")
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.platform_id == platform_id)
                .values(status=status, error_code=error_code, updated_at=at, body={} if final else row.body)
            )
            if status in ("failed", "undelivered") and row.body:
                return row.channel, row.chat_id, dict(row.body)
            return None

        return await self.write(work)

    async def requeue(self, channel: str, chat_id: str, body: dict[str, Any], *, held: bool) -> None:
        at = dt.datetime.now(dt.UTC)
        row = outbox_row(channel, chat_id, body, at)
        row["status"] = "held" if held else "pending"
        await self.write(lambda conn: conn.execute(insert(outbox).values(**row)))

    async def outbox_counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(count) for status, count in rows}

    async def purge_messages(self, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Delete logged messages older than the retention window; returns how many."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - older_than

        now = now or dt.datetime.now(dt.UTC)
        short = now - SHORT_KEEP

        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(delete(messages).where(messages.c.created_at < cutoff))
            # Bookkeeping that only guards against duplicates and late reports needs days, not months.
            await conn.execute(delete(inbox).where(inbox.c.processed_at.is_not(None), inbox.c.processed_at < short))
            await conn.execute(delete(deliveries).where(deliveries.c.updated_at < short))
            await conn.execute(
                delete(outbox).where(outbox.c.status.in_(("failed", "dropped")), outbox.c.created_at < cutoff)
            )
            return int(result.rowcount or 0)

        return await self.write(work)
