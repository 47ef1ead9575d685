"""Nobody forgotten: re-announce long waits, flag silent claims, close idle conversations.

Runs inside the service every ``HANDOFF_CHECK_SECONDS``. Each finding is recorded on the ticket in
the same transaction as the messages it causes, with a condition on the old value, so several
instances checking at once announce each thing once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.handoff.desk import Desk, desk_chat
from bot.handoff.queue import transition
from bot.store import DESK
from bot.store.base import try_singleton
from bot.store.jobs import outbox_row
from bot.store.schema import outbox, tickets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    remind_after: dt.timedelta
    no_reply_after: dt.timedelta
    idle_after: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            dt.timedelta(minutes=settings.handoff_remind_minutes),
            dt.timedelta(minutes=settings.handoff_no_reply_minutes),
            dt.timedelta(hours=settings.handoff_idle_hours),
        )


class Watch:
    def __init__(self, desk: Desk, limits: Limits):
        self.desk = desk
        self.limits = limits

    async def tick(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One round of checks; returns how many tickets were reminded, flagged and closed."""
        now = now or dt.datetime.now(dt.UTC)
        working = self.desk.content.current.schedule.is_open(now)
        return await self.desk.store.write(lambda conn: self._check(conn, now, working))

    async def _check(self, conn: AsyncConnection, now: dt.datetime, working: bool) -> dict[str, int]:
        jobs: list[tuple[str, dict]] = []
        found = {"reminded": 0, "flagged": 0, "closed": 0}
        if not await try_singleton(conn, "acasa:handoff-watch"):  # another instance is checking right now
            return found
        written = min(now, dt.datetime.now(dt.UTC))  # messages are due now even when checking "as of" later
        # Waiting too long: announce again (out of hours only the urgent ones, not to wake everyone).
        due = now - self.limits.remind_after
        waiting = [
            tickets.c.status == "waiting",
            tickets.c.created_at <= due,
            or_(tickets.c.reminded_at.is_(None), tickets.c.reminded_at <= due),
        ]
        if not working:
            waiting.append(tickets.c.urgent.is_(True))
        # The condition is repeated in the update: an instance that checked at the same moment and
        # committed first leaves nothing for this one.
        reminded = await conn.execute(update(tickets).where(*waiting).values(reminded_at=now).returning(tickets.c.id))
        for (ticket_id,) in reminded.all():
            jobs.append(("queue", {"kind": "reminder", "ticket_id": ticket_id}))
            found["reminded"] += 1
        # Claimed, but the mediator holding it has not written to the person yet.
        silent = [
            tickets.c.status == "claimed",
            tickets.c.holder_replied_at.is_(None),
            tickets.c.flagged_at.is_(None),
            tickets.c.holder_since <= now - self.limits.no_reply_after,
        ]
        flagged = await conn.execute(update(tickets).where(*silent).values(flagged_at=now).returning(tickets.c.id))
        for (ticket_id,) in flagged.all():
            jobs.append((desk_chat(ticket_id), {"kind": "flag", "ticket_id": ticket_id, "where": "topic"}))
            jobs.append(("queue", {"kind": "flag", "ticket_id": ticket_id, "where": "queue"}))
            found["flagged"] += 1
        # A conversation with a mediator where nobody wrote for hours: close it, tell the person.
        idle = select(tickets.c.id).where(
            tickets.c.status == "claimed", tickets.c.last_activity_at <= now - self.limits.idle_after
        )
        for (ticket_id,) in (await conn.execute(idle)).all():
            closed = await transition(conn, ticket_id, ("claimed",), status="closed", closed_at=now)
            if closed is None:
                continue
            await self.desk.close_for_person(conn, closed, written, "handoff.idle_closed")
            jobs.append((desk_chat(ticket_id), {"kind": "ended", "ticket_id": ticket_id, "by": None}))
            found["closed"] += 1
        if jobs:
            await conn.execute(insert(outbox), [outbox_row(DESK, chat, body, written) for chat, body in jobs])
        return found

    async def run(self, every: float) -> None:
        while True:
            try:
                found = await self.tick()
                if any(found.values()):
                    log.info("hand-off check: %(reminded)d reminded, %(flagged)d flagged, %(closed)d closed", found)
            except Exception:
                log.exception("hand-off check failed; will try again")
            await asyncio.sleep(every)
