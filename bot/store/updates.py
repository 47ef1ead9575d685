"""The inbox: platform updates stored before the platform is told "received", then claimed.

Any number of instances share one inbox. An instance *claims* pending updates for a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two instances never take the same row); if it dies,
the lease expires and another instance takes the update over. Only the oldest pending update of a
conversation can be claimed, so one person's messages are handled one at a time, in arrival
order, whichever instance handles them. Marking an update done is conditional (``processed_at IS
NULL``) and happens in the transaction that stores its effects: an update is answered once even
if a slow instance's lease ran out while it worked.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import as_utc, utcnow
from bot.store.schema import inbox, web_messages


@dataclass(frozen=True)
class Accepted:
    """A platform update waiting to be stored (see ``UpdateStore.accept_update``)."""

    channel: str
    update_key: str
    payload: dict[str, Any]
    chat_key: str | None
    at: dt.datetime
    mailbox: dict[str, Any] | None = None  # a web chat message's row in its mailbox, stored with it


@dataclass
class PendingUpdate:
    id: int
    channel: str
    payload: dict[str, Any]
    received_at: dt.datetime
    attempts: int = 0


def _done_values(at: dt.datetime) -> dict[str, Any]:
    # The platform's copy of the message (names, text) and whose it was are not kept: only the key,
    # for de-duplication of the platform's retries.
    return {"processed_at": at, "payload": {}, "chat_key": None, "claimed_by": None, "claimed_until": None}


async def mark_updates_done(conn: AsyncConnection, ids: list[int], at: dt.datetime | None = None) -> set[int]:
    """Mark updates done; returns the ids that were still pending (the others were done already)."""
    result = await conn.execute(
        update(inbox)
        .where(inbox.c.id.in_(ids), inbox.c.processed_at.is_(None))
        .values(**_done_values(at or utcnow()))
        .returning(inbox.c.id)
    )
    return {int(row.id) for row in result}


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """Built once per dialect: stored unless already there (a platform's retry)."""
    build = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        build(inbox)
        .values(
            channel=bindparam("b_channel"),
            update_key=bindparam("b_key"),
            chat_key=bindparam("b_chat"),
            payload=bindparam("b_payload", type_=inbox.c.payload.type),
            received_at=bindparam("b_at", type_=inbox.c.received_at.type),
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["channel", "update_key"])
        .returning(inbox.c.id)
    )


async def insert_update(conn: AsyncConnection, item: Accepted) -> int | None:
    values = {
        "b_channel": item.channel,
        "b_key": item.update_key,
        "b_chat": item.chat_key,
        "b_payload": item.payload,
        "b_at": item.at,
    }
    found = (await conn.execute(_insert_statement(conn.dialect.name), values)).scalar_one_or_none()
    if found is not None and item.mailbox is not None:  # new: the person's message shows in their chat
        await insert_mailbox_rows(conn, [item.mailbox])
    return int(found) if found is not None else None


async def insert_mailbox_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Web chat mailbox rows, each stored once: ``ref`` (an outbox job, a posted message) is unique,
    so delivering or posting it again changes nothing."""
    build = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(build(web_messages).on_conflict_do_nothing(index_elements=["ref"]), rows)


def _claim_statement() -> Any:
    """Built once (constructing it costs more than running it): the oldest pending update of each
    conversation that nobody holds, up to ``b_limit``, claimed for ``b_owner`` until ``b_until``."""
    earlier = inbox.alias("earlier")
    first_of_its_conversation = ~(
        exists()
        .where(earlier.c.chat_key == inbox.c.chat_key, earlier.c.processed_at.is_(None), earlier.c.id < inbox.c.id)
        .correlate(inbox)
    )
    candidates = (
        select(inbox.c.id)
        .where(
            inbox.c.processed_at.is_(None),
            or_(inbox.c.claimed_until.is_(None), inbox.c.claimed_until < bindparam("b_now")),
            or_(inbox.c.chat_key.is_(None), first_of_its_conversation),
        )
        .order_by(inbox.c.id)
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(inbox)
        .where(inbox.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=bindparam("b_owner"), claimed_until=bindparam("b_until"))
        .returning(inbox.c.id, inbox.c.channel, inbox.c.payload, inbox.c.received_at, inbox.c.attempts)
    )


_CLAIM = _claim_statement()


class UpdateStore:
    """The inbox (part of ``Store``)."""

    async def accept_update(
        self,
        channel: str,
        update_key: str,
        payload: dict[str, Any],
        chat_key: str | None = None,
        at: dt.datetime | None = None,
        mailbox: dict[str, Any] | None = None,
    ) -> int | None:
        """Store a platform update durably; None if it was already accepted (a platform retry).
        ``chat_key`` names the conversation it belongs to (their updates are handled in order).

        Goes through the same group commit as turns: many webhook requests at once share one
        transaction, and each still returns only once its update is stored.
        """
        return await self._enqueue(Accepted(channel, update_key, payload, chat_key, at or utcnow(), mailbox))

    async def claim_updates(self, owner: str, limit: int, lease: dt.timedelta) -> list[PendingUpdate]:
        """Claim up to ``limit`` pending updates for ``owner``, oldest first, at most one per
        conversation; each is held until handled, or until the lease runs out."""
        now = utcnow()
        values = {"b_now": now, "b_limit": limit, "b_owner": owner, "b_until": now + lease}

        async def work(conn: AsyncConnection) -> list[PendingUpdate]:
            rows = (await conn.execute(_CLAIM, values)).all()
            return sorted(
                (PendingUpdate(r.id, r.channel, dict(r.payload), as_utc(r.received_at), r.attempts) for r in rows),
                key=lambda u: u.id,
            )

        return await self.write(work)

    async def pending_updates(self, limit: int = 100) -> list[PendingUpdate]:
        """Updates not handled yet, oldest first (for operators and tests; workers claim)."""
        query = (
            select(inbox.c.id, inbox.c.channel, inbox.c.payload, inbox.c.received_at, inbox.c.attempts)
            .where(inbox.c.processed_at.is_(None))
            .order_by(inbox.c.id)
            .limit(limit)
        )
        async with self.read() as conn:
            rows = await conn.execute(query)
            return [PendingUpdate(r.id, r.channel, dict(r.payload), as_utc(r.received_at), r.attempts) for r in rows]

    async def finish_update(self, inbox_id: int, at: dt.datetime | None = None) -> bool:
        """Mark an update that needs no answer (an unsupported kind, a duplicate) as done."""
        return bool(await self.write(lambda conn: mark_updates_done(conn, [inbox_id], at)))

    async def update_failed(self, inbox_id: int, retry_at: dt.datetime) -> int:
        """Handling failed: count it and let anyone try again from ``retry_at``; returns the count."""

        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(
                update(inbox)
                .where(inbox.c.id == inbox_id, inbox.c.processed_at.is_(None))
                .values(attempts=inbox.c.attempts + 1, claimed_by=None, claimed_until=retry_at)
                .returning(inbox.c.attempts)
            )
            return int(result.scalar_one_or_none() or 0)

        return await self.write(work)

    async def release_updates(self, owner: str | None = None) -> int:
        """Give up claims: ``owner``'s (stopping gracefully) or everyone's (a SQLite file, which
        only one process serves, after a crash)."""
        condition = inbox.c.claimed_by == owner if owner else inbox.c.claimed_by.is_not(None)
        statement = (
            update(inbox).where(inbox.c.processed_at.is_(None), condition).values(claimed_by=None, claimed_until=None)
        )
        result = await self.write(lambda conn: conn.execute(statement))
        return int(result.rowcount or 0)

    async def inbox_backlog(self) -> int:
        async with self.read() as conn:
            query = select(func.count()).select_from(inbox).where(inbox.c.processed_at.is_(None))
            return int((await conn.execute(query)).scalar_one())
