"""The store: one short write transaction per conversation turn, on SQLite or PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so a
reader that later writes cannot fail at once with SQLITE_BUSY. A briefly locked database is retried
with backoff; nothing is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.messages import ConversationKey
from bot.store.schema import PERSONAL_TABLES, conversations, feedback, messages, people, unanswered

log = logging.getLogger(__name__)
T = TypeVar("T")

_LOCK_RETRIES = 5


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
        await self.engine.dispose()  # aiosqlite threads are not daemons: always dispose

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction, retrying while the database is briefly locked."""
        delay = 0.05
        for attempt in range(_LOCK_RETRIES):
            try:
                async with self.engine.connect() as connection:
                    conn = await connection.execution_options(write=True)
                    async with conn.begin():
                        return await work(conn)
            except OperationalError as exc:
                if (
                    "locked" not in str(exc).lower() and "busy" not in str(exc).lower()
                ) or attempt == _LOCK_RETRIES - 1:
                    raise
                log.warning("database locked; retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

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
        table = {t.name: t for t in (people, conversations, messages, feedback, unanswered)}[table_name]
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
        """Write a turn; returns the person's id (None after "forget")."""
        return await self._write(lambda conn: self._save(conn, turn))

    async def _save(self, conn: AsyncConnection, turn: Turn) -> int | None:
        state = turn.state
        if turn.forget:
            if state.person_id is not None:
                await self._delete_person(conn, state.person_id)
            return None
        person_id = state.person_id
        if person_id is None:
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
        else:
            await conn.execute(
                update(people).where(people.c.id == person_id).values(language=state.language, last_seen=turn.at)
            )
            await conn.execute(
                update(conversations)
                .where(conversations.c.person_id == person_id)
                .values(mode=state.mode, step=state.step, data=state.data, updated_at=turn.at)
            )
        rows = [
            dict(
                person_id=person_id,
                direction="in",
                text=turn.incoming_text,
                intent=None,
                platform_message_id=turn.incoming_id,
                created_at=turn.at,
            )
        ]
        rows += [
            dict(
                person_id=person_id,
                direction="out",
                text=text,
                intent=intent,
                platform_message_id=None,
                created_at=turn.at,
            )
            for text, intent in turn.replies
        ]
        await conn.execute(insert(messages), rows)
        if turn.feedback:
            await conn.execute(
                insert(feedback),
                [
                    dict(person_id=person_id, entry_id=e, language=lang, helpful=h, created_at=turn.at)
                    for e, lang, h in turn.feedback
                ],
            )
        if turn.unanswered:
            await conn.execute(
                insert(unanswered),
                [
                    dict(person_id=person_id, language=lang, text=text, created_at=turn.at)
                    for lang, text in turn.unanswered
                ],
            )
        state.person_id = person_id
        return person_id

    @staticmethod
    async def _delete_person(conn: AsyncConnection, person_id: int) -> None:
        for table in PERSONAL_TABLES:
            await conn.execute(delete(table).where(table.c.person_id == person_id))
        await conn.execute(delete(people).where(people.c.id == person_id))

    async def purge_messages(self, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Delete logged messages older than the retention window; returns how many."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - older_than

        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(delete(messages).where(messages.c.created_at < cutoff))
            return int(result.rowcount or 0)

        return await self._write(work)
