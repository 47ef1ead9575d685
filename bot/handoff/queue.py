"""The shared hand-off queue, in the same database as everything else.

Claiming is one conditional ``UPDATE ... WHERE status = 'waiting' RETURNING``: whichever mediator's
statement commits first wins, on SQLite and PostgreSQL alike, across processes and instances;
everyone else gets nothing back. Urgent tickets come first, then the oldest.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from bot.store import Store
from bot.store.schema import tickets
from bot.store.store import as_utc

OPEN = ("waiting", "claimed")


@dataclass(frozen=True)
class Ticket:
    id: int
    person_id: int | None
    channel: str
    language: str
    topics: tuple[str, ...]
    urgent: bool
    status: str
    mediator: str | None
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    first_reply_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None


def _ticket(row: Any) -> Ticket:
    return Ticket(
        row.id,
        row.person_id,
        row.channel,
        row.language,
        tuple(row.topics or ()),
        bool(row.urgent),
        row.status,
        row.mediator,
        as_utc(row.created_at),
        as_utc(row.claimed_at),
        as_utc(row.first_reply_at),
        as_utc(row.closed_at),
        row.rating,
    )


class HandoffQueue:
    def __init__(self, store: Store):
        self.store = store

    async def enqueue(
        self,
        person_id: int,
        channel: str,
        language: str,
        topics: list[str],
        *,
        urgent: bool = False,
        at: dt.datetime | None = None,
    ) -> Ticket:
        at = at or dt.datetime.now(dt.UTC)

        async def work(conn):
            result = await conn.execute(
                insert(tickets)
                .values(
                    person_id=person_id,
                    channel=channel,
                    language=language,
                    topics=topics,
                    urgent=urgent,
                    status="waiting",
                    created_at=at,
                )
                .returning(*tickets.c)
            )
            return _ticket(result.one())

        return await self.store.write(work)

    async def claim(self, ticket_id: int, mediator: str, at: dt.datetime | None = None) -> bool:
        """True for exactly one of any number of simultaneous claims of a waiting ticket."""
        return await self._transition(
            ticket_id, ("waiting",), status="claimed", mediator=mediator, claimed_at=at or dt.datetime.now(dt.UTC)
        )

    async def release(self, ticket_id: int, mediator: str) -> bool:
        """Back to the queue (keeps its place: the creation time is unchanged)."""
        return await self._transition(
            ticket_id, ("claimed",), mediator_is=mediator, status="waiting", mediator=None, claimed_at=None
        )

    async def transfer(self, ticket_id: int, from_mediator: str, to_mediator: str) -> bool:
        return await self._transition(ticket_id, ("claimed",), mediator_is=from_mediator, mediator=to_mediator)

    async def first_reply(self, ticket_id: int, at: dt.datetime | None = None) -> None:
        at = at or dt.datetime.now(dt.UTC)
        await self.store.write(
            lambda conn: conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.first_reply_at.is_(None))
                .values(first_reply_at=at)
            )
        )

    async def close(self, ticket_id: int, status: str = "closed", at: dt.datetime | None = None) -> bool:
        if status not in ("closed", "cancelled", "abandoned"):
            raise ValueError(f"not a final status: {status}")
        return await self._transition(ticket_id, OPEN, status=status, closed_at=at or dt.datetime.now(dt.UTC))

    async def rate(self, ticket_id: int, rating: int) -> bool:
        if not 1 <= rating <= 5:
            raise ValueError("a rating is 1 to 5")
        return await self._transition(ticket_id, ("closed",), rating=rating)

    async def _transition(
        self, ticket_id: int, allowed: tuple[str, ...], *, mediator_is: str | None = None, **values: Any
    ) -> bool:
        condition = [tickets.c.id == ticket_id, tickets.c.status.in_(allowed)]
        if mediator_is is not None:
            condition.append(tickets.c.mediator == mediator_is)

        async def work(conn) -> bool:
            result = await conn.execute(update(tickets).where(*condition).values(**values).returning(tickets.c.id))
            return result.first() is not None

        return await self.store.write(work)

    async def get(self, ticket_id: int) -> Ticket | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
        return _ticket(row) if row else None

    async def waiting(self) -> list[Ticket]:
        """Urgent first, then the oldest."""
        query = (
            select(tickets)
            .where(tickets.c.status == "waiting")
            .order_by(tickets.c.urgent.desc(), tickets.c.created_at, tickets.c.id)
        )
        async with self.store.engine.connect() as conn:
            return [_ticket(r) for r in await conn.execute(query)]

    async def open_tickets(self) -> list[Ticket]:
        query = (
            select(tickets)
            .where(tickets.c.status.in_(OPEN))
            .order_by(tickets.c.urgent.desc(), tickets.c.created_at, tickets.c.id)
        )
        async with self.store.engine.connect() as conn:
            return [_ticket(r) for r in await conn.execute(query)]

    async def stats(self, now: dt.datetime | None = None, days: int = 30) -> dict[str, Any]:
        now = now or dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(days=days)
        async with self.store.engine.connect() as conn:
            rows = [_ticket(r) for r in await conn.execute(select(tickets).where(tickets.c.created_at >= since))]
            waiting_now = (
                await conn.execute(select(func.count()).select_from(tickets).where(tickets.c.status == "waiting"))
            ).scalar_one()

        def median_minutes(pairs: list[tuple[dt.datetime, dt.datetime | None]]) -> float | None:
            spans = [(end - start).total_seconds() / 60 for start, end in pairs if end is not None]
            return round(statistics.median(spans), 1) if spans else None

        closed_per_day = Counter(t.closed_at.date().isoformat() for t in rows if t.status == "closed" and t.closed_at)
        ratings = [t.rating for t in rows if t.rating is not None]
        return {
            "waiting_now": int(waiting_now),
            "median_minutes_to_claim": median_minutes([(t.created_at, t.claimed_at) for t in rows]),
            "median_minutes_to_first_reply": median_minutes([(t.created_at, t.first_reply_at) for t in rows]),
            "closed_per_day": dict(sorted(closed_per_day.items())),
            "ratings": dict(sorted(Counter(ratings).items())),
            "average_rating": round(statistics.fmean(ratings), 2) if ratings else None,
            "tickets": len(rows),
            "days": days,
        }
