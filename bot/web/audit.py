"""The audit trail: who opened, claimed, wrote to, closed, exported or deleted which conversation.

An entry never holds message text. Entries are kept longer than messages; when a person is
forgotten their link goes (``person_id`` becomes NULL) but the fact that the entry existed stays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import Store
from bot.store.base import as_utc
from bot.store.schema import audit_log


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    actor_name: str
    action: str
    ticket_id: int | None
    person_id: int | None
    detail: str | None


async def record(
    conn: AsyncConnection,
    at: dt.datetime,
    actor: str,
    actor_name: str,
    action: str,
    *,
    ticket_id: int | None = None,
    person_id: int | None = None,
    detail: str | None = None,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor,
            actor_name=actor_name,
            action=action,
            ticket_id=ticket_id,
            person_id=person_id,
            detail=(detail or None) and detail[:200],
        )
    )


async def recent(store: Store, *, ticket_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if ticket_id is not None:
        query = query.where(audit_log.c.ticket_id == ticket_id)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [AuditEntry(as_utc(r.at), r.actor, r.actor_name, r.action, r.ticket_id, r.person_id, r.detail) for r in rows]
