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
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import Store
from bot.store.base import as_utc, insert_ignoring
from bot.store.schema import desk_state, mediators, messages, referrals, tickets
from bot.store.turns import ticket_row

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
    summary: str | None = None
    transcript_upto: int | None = None
    mediator_name: str | None = None
    last_activity_at: dt.datetime | None = None
    reminded_at: dt.datetime | None = None
    flagged_at: dt.datetime | None = None
    holder_since: dt.datetime | None = None
    holder_replied_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


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
        row.summary,
        row.transcript_upto,
        row.mediator_name,
        as_utc(row.last_activity_at),
        as_utc(row.reminded_at),
        as_utc(row.flagged_at),
        as_utc(row.holder_since),
        as_utc(row.holder_replied_at),
    )


@dataclass(frozen=True)
class Mediator:
    id: str  # "tg:<user id>"
    name: str
    username: str | None = None
    languages: tuple[str, ...] = ()


async def transition(conn: AsyncConnection, ticket_id: int, allowed: tuple[str, ...], **values: Any) -> Ticket | None:
    """Change a ticket only if its status is one of ``allowed`` (and, with ``mediator_is``, only if
    that mediator holds it). Returns the changed ticket, or None if someone else got there first."""
    condition = [tickets.c.id == ticket_id, tickets.c.status.in_(allowed)]
    mediator_is = values.pop("mediator_is", None)
    if mediator_is is not None:
        condition.append(tickets.c.mediator == mediator_is)
    result = await conn.execute(update(tickets).where(*condition).values(**values).returning(*tickets.c))
    row = result.first()
    return _ticket(row) if row else None


async def read_ticket(conn: AsyncConnection, ticket_id: int) -> Ticket | None:
    row = (await conn.execute(select(tickets).where(tickets.c.id == ticket_id))).first()
    return _ticket(row) if row else None


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
            opening = {"channel": channel, "language": language, "topics": topics, "urgent": urgent}
            values = ticket_row(person_id, opening, at)
            result = await conn.execute(insert(tickets).values(**values).returning(*tickets.c))
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
        return await self._transition(ticket_id, ("closed",), rating=rating, rated_at=dt.datetime.now(dt.UTC))

    async def _transition(self, ticket_id: int, allowed: tuple[str, ...], **values: Any) -> bool:
        changed = await self.store.write(lambda conn: transition(conn, ticket_id, allowed, **values))
        return changed is not None

    async def get(self, ticket_id: int) -> Ticket | None:
        async with self.store.engine.connect() as conn:
            return await read_ticket(conn, ticket_id)

    async def latest_for(self, person_id: int | None) -> Ticket | None:
        """The person's most recent ticket (open or not)."""
        if person_id is None:
            return None
        query = select(tickets).where(tickets.c.person_id == person_id).order_by(tickets.c.id.desc()).limit(1)
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _ticket(row) if row else None

    async def ahead_of_new(self, urgent: bool) -> int:
        """How many waiting tickets a new ticket would wait behind."""
        query = select(func.count()).select_from(tickets).where(tickets.c.status == "waiting")
        if urgent:
            query = query.where(tickets.c.urgent.is_(True))
        async with self.store.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def position(self, ticket: Ticket) -> int:
        """1 = next to be claimed."""
        ahead = (tickets.c.urgent.is_(True) & (not ticket.urgent)) | (
            (tickets.c.urgent == ticket.urgent)
            & (
                (tickets.c.created_at < ticket.created_at)
                | ((tickets.c.created_at == ticket.created_at) & (tickets.c.id < ticket.id))
            )
        )
        query = select(func.count()).select_from(tickets).where(tickets.c.status == "waiting", ahead)
        async with self.store.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one()) + 1

    async def referral(self, referral_id: int) -> tuple[str, str, str, int | None] | None:
        """(contact id, mediator's name, status, person id) of a referral."""
        query = select(
            referrals.c.contact_id, referrals.c.mediator_name, referrals.c.status, referrals.c.person_id
        ).where(referrals.c.id == referral_id)
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.contact_id, row.mediator_name, row.status, row.person_id) if row else None

    async def open_referral(self, ticket_id: int) -> int | None:
        """The latest referral of a ticket still waiting for the person's yes or no, if any."""
        query = (
            select(referrals.c.id)
            .where(referrals.c.ticket_id == ticket_id, referrals.c.status == "asked")
            .order_by(referrals.c.id.desc())
            .limit(1)
        )
        async with self.store.engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    # -- mediators ---------------------------------------------------------------------------------

    async def mediator(self, mediator_id: str) -> Mediator | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(mediators).where(mediators.c.id == mediator_id))).first()
        return Mediator(row.id, row.name, row.username, tuple(row.languages or ())) if row else None

    async def mediators(self) -> list[Mediator]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(mediators).order_by(mediators.c.name))
            return [Mediator(r.id, r.name, r.username, tuple(r.languages or ())) for r in rows]

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
            referral_counts = {
                r.status: int(r.n)
                for r in await conn.execute(
                    select(referrals.c.status, func.count().label("n"))
                    .where(referrals.c.created_at >= since)
                    .group_by(referrals.c.status)
                )
            }

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
            "referrals": dict(sorted(referral_counts.items())),
            "days": days,
        }

    # -- desk bookkeeping --------------------------------------------------------------------------

    async def set_fields(self, ticket_id: int, **values: Any) -> None:
        await self.store.write(
            lambda conn: conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
        )

    async def desk_value(self, key: str) -> str | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(desk_state.c.value).where(desk_state.c.key == key))).first()
        return row.value if row else None

    async def swap_desk_value(self, key: str, expected: str | None, value: str) -> str:
        """Set ``key`` to ``value`` if it still holds ``expected``; returns what it holds now (the
        value of whichever instance got there first)."""

        async def work(conn: AsyncConnection) -> str:
            if expected is None:
                await conn.execute(
                    insert_ignoring(conn, desk_state)
                    .values(key=key, value=value)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
            else:
                await conn.execute(
                    update(desk_state)
                    .where(desk_state.c.key == key, desk_state.c.value == expected)
                    .values(value=value)
                )
            return (await conn.execute(select(desk_state.c.value).where(desk_state.c.key == key))).scalar_one()

        return await self.store.write(work)

    async def transcript(self, ticket: Ticket, limit: int = 500) -> list[tuple[str, str, str | None]]:
        """(direction, text, intent) of the person's recent messages, up to the claim, oldest first."""
        if ticket.person_id is None:
            return []
        query = select(messages.c.direction, messages.c.text, messages.c.intent).where(
            messages.c.person_id == ticket.person_id
        )
        if ticket.transcript_upto is not None:
            query = query.where(messages.c.id <= ticket.transcript_upto)
        # Everything since the day before the request (a weekend in the queue included), however long.
        query = query.where(messages.c.created_at >= ticket.created_at - dt.timedelta(days=1))
        query = query.order_by(messages.c.id.desc()).limit(limit)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(r.direction, r.text, r.intent) for r in reversed(rows)]
