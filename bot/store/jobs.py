"""The outbox: replies (and the mediator desk's messages) waiting to be delivered.

Jobs are written in the same transaction as the turn that made them. Any instance may *claim*
due jobs for a lease — only the oldest pending job of each chat, and only once the chat's own pace
allows (``people.next_send_at``), so a chat's messages go out in order, one at a time, whichever
instance sends them. Outcomes are recorded in batches (``record``): a delivered job is deleted,
a retried one gets its next moment, a refused one is kept for operators without its text.

``rate_limits`` holds, per channel, the next free moment to send: instances reserve moments from
it in small blocks, so the whole bot keeps the platform's overall rate, not each instance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import as_utc, insert_ignoring, utcnow
from bot.store.schema import deliveries, outbox, people, rate_limits

DESK = "desk"  # the outbox channel of the mediator desk


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


@dataclass
class Job:
    """One message waiting for delivery."""

    id: int
    channel: str
    chat_id: str
    body: dict[str, Any]
    attempts: int
    parts_sent: int
    created_at: dt.datetime | None = None
    last_inbound: dt.datetime | None = None  # WhatsApp: the person's last message (the 24-hour window)


@dataclass
class Outcomes:
    """Delivery results collected for one transaction (``JobStore.record``)."""

    sent: list[tuple[Job, dt.datetime | None]] = field(default_factory=list)  # job, the chat's next message from
    progress: list[tuple[int, int, dt.datetime]] = field(default_factory=list)  # job id, parts sent, lease end
    retries: list[tuple[int, dt.datetime, str]] = field(default_factory=list)  # job id, not before, error
    failed: list[tuple[int, str]] = field(default_factory=list)  # job id, error
    deleted: list[int] = field(default_factory=list)  # jobs to drop without a trace ("forget" confirmations)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # messages whose fate the platform reports later

    def __len__(self) -> int:
        return sum(map(len, (self.sent, self.progress, self.retries, self.failed, self.deleted, self.deliveries)))


_PROGRESS = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(parts_sent=bindparam("b_parts"), claimed_until=bindparam("b_until"))
)
_RETRY = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(
        not_before=bindparam("b_at"),
        attempts=outbox.c.attempts + 1,
        last_error=bindparam("b_error"),
        claimed_by=None,
        claimed_until=None,
    )
)
_FAILED = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(
        status="failed",
        body={},
        attempts=outbox.c.attempts + 1,
        last_error=bindparam("b_error"),
        claimed_by=None,
        claimed_until=None,
    )
)
_PACE_CHAT = (
    update(people)
    .where(people.c.channel == bindparam("b_channel"), people.c.platform_id == bindparam("b_chat"))
    .values(next_send_at=bindparam("b_at"))
)
_INSERT_DELIVERY = insert(deliveries)


def _claim_statement() -> Any:
    """Built once: the oldest pending job of each chat in ``b_channels`` whose pace allows a message
    at ``b_now``, up to ``b_limit``, claimed for ``b_owner`` until ``b_until``."""
    earlier = outbox.alias("earlier")
    first_of_its_chat = ~(
        exists()
        .where(
            earlier.c.status == "pending",
            earlier.c.channel == outbox.c.channel,
            earlier.c.chat_id == outbox.c.chat_id,
            earlier.c.id < outbox.c.id,
        )
        .correlate(outbox)
    )
    now = bindparam("b_now")
    chats = outbox.outerjoin(
        people, and_(people.c.channel == outbox.c.channel, people.c.platform_id == outbox.c.chat_id)
    )
    candidates = (
        select(outbox.c.id)
        .select_from(chats)
        .where(
            outbox.c.status == "pending",
            outbox.c.channel.in_(bindparam("b_channels", expanding=True)),
            outbox.c.not_before <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            or_(people.c.next_send_at.is_(None), people.c.next_send_at <= now),
            first_of_its_chat,
        )
        .order_by(outbox.c.id)
        .limit(bindparam("b_limit"))
        .with_for_update(of=outbox, skip_locked=True)
    )
    return (
        update(outbox)
        .where(outbox.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=bindparam("b_owner"), claimed_until=bindparam("b_until"))
        .returning(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.chat_id,
            outbox.c.body,
            outbox.c.attempts,
            outbox.c.parts_sent,
            outbox.c.created_at,
        )
    )


_CLAIM = _claim_statement()
_NEXT_DUE = select(func.min(outbox.c.not_before)).where(
    outbox.c.status == "pending", outbox.c.channel.in_(bindparam("b_channels", expanding=True))
)


class JobStore:
    """The outbox (part of ``Store``)."""

    async def claim_jobs(self, owner: str, limit: int, lease: dt.timedelta, channels: tuple[str, ...]) -> list[Job]:
        """Claim up to ``limit`` due jobs of ``channels``: the oldest pending job of each chat whose
        pace allows a message now, oldest first."""
        now = utcnow()
        values = {"b_now": now, "b_limit": limit, "b_owner": owner, "b_until": now + lease, "b_channels": channels}

        async def work(conn: AsyncConnection) -> list[Job]:
            rows = (await conn.execute(_CLAIM, values)).all()
            return [
                Job(r.id, r.channel, r.chat_id, dict(r.body), r.attempts, r.parts_sent, as_utc(r.created_at))
                for r in sorted(rows, key=lambda r: r.id)
            ]

        return await self.write(work)

    async def last_inbound(self, channel: str, chat_ids: list[str]) -> dict[str, dt.datetime]:
        """When each of these people last wrote (WhatsApp's 24-hour window), in one query."""
        if not chat_ids:
            return {}
        query = select(people.c.platform_id, people.c.last_seen).where(
            people.c.channel == channel, people.c.platform_id.in_(chat_ids)
        )
        async with self.read() as conn:
            return {r.platform_id: as_utc(r.last_seen) for r in await conn.execute(query)}

    async def next_due(self, channels: tuple[str, ...]) -> dt.datetime | None:
        async with self.read() as conn:
            return as_utc((await conn.execute(_NEXT_DUE, {"b_channels": channels})).scalar_one())

    async def record(self, outcomes: Outcomes) -> None:
        """Write a batch of delivery outcomes in one transaction."""

        async def work(conn: AsyncConnection) -> None:
            done = [job.id for job, _ in outcomes.sent] + outcomes.deleted
            if done:
                await conn.execute(delete(outbox).where(outbox.c.id.in_(done)))
            paced = [
                {"b_channel": job.channel, "b_chat": job.chat_id, "b_at": at}
                for job, at in outcomes.sent
                if at is not None
            ]
            for statement, rows in (
                (_PACE_CHAT, paced),
                (
                    _PROGRESS,
                    [{"b_id": i, "b_parts": parts, "b_until": until} for i, parts, until in outcomes.progress],
                ),
                (_RETRY, [{"b_id": i, "b_at": at, "b_error": error[:200]} for i, at, error in outcomes.retries]),
                (_FAILED, [{"b_id": i, "b_error": error[:200]} for i, error in outcomes.failed]),
                (_INSERT_DELIVERY, outcomes.deliveries),
            ):
                if rows:
                    await conn.execute(statement, rows)

        await self.write(work)

    async def job_sent(self, job_id: int) -> None:
        """Delivered: the copy is deleted (the message log keeps what was said)."""
        await self.write(lambda conn: conn.execute(delete(outbox).where(outbox.c.id == job_id)))

    async def chat_blocked(self, channel: str, chat_id: str) -> int:
        """The person blocked the bot: stop sending to them. Returns how many replies were dropped."""
        at = utcnow()

        async def work(conn: AsyncConnection) -> int:
            await conn.execute(
                update(people).where(people.c.channel == channel, people.c.platform_id == chat_id).values(blocked_at=at)
            )
            result = await conn.execute(
                update(outbox)
                .where(outbox.c.channel == channel, outbox.c.chat_id == chat_id, outbox.c.status == "pending")
                .values(status="dropped", body={}, last_error="blocked by the person", claimed_by=None)
            )
            return int(result.rowcount or 0)

        return await self.write(work)

    async def release_jobs(self, owner: str | None = None) -> int:
        """Give up claims: ``owner``'s (stopping gracefully) or everyone's (a SQLite file after a crash)."""
        condition = outbox.c.claimed_by == owner if owner else outbox.c.claimed_by.is_not(None)
        statement = update(outbox).where(condition).values(claimed_by=None, claimed_until=None)
        result = await self.write(lambda conn: conn.execute(statement))
        return int(result.rowcount or 0)

    # -- the shared pace -----------------------------------------------------------------------

    async def reserve_moments(self, name: str, count: int, gap: float, earliest: float) -> float:
        """Reserve ``count`` sending moments ``gap`` seconds apart, from ``earliest`` (Unix time)
        or the bucket's next free moment if later; returns the first of them."""

        async def work(conn: AsyncConnection) -> float:
            await conn.execute(
                insert_ignoring(conn, rate_limits)
                .values(name=name, next_at=earliest)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            start = case((rate_limits.c.next_at > earliest, rate_limits.c.next_at), else_=earliest)
            result = await conn.execute(
                update(rate_limits)
                .where(rate_limits.c.name == name)
                .values(next_at=start + count * gap)
                .returning(rate_limits.c.next_at)
            )
            return float(result.scalar_one()) - count * gap

        return await self.write(work)

    async def pause_rate(self, name: str, until: float) -> None:
        """Nobody sends on ``name`` before ``until`` (the platform said: too many requests)."""
        await self.write(
            lambda conn: conn.execute(
                update(rate_limits)
                .where(rate_limits.c.name == name, rate_limits.c.next_at < until)
                .values(next_at=until)
            )
        )

    # -- messaging windows and delivery reports (WhatsApp) --------------------------------------

    async def window(self, channel: str, chat_id: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(last message from the person, last window notice sent to them)."""
        query = select(people.c.last_seen, people.c.window_notice_at).where(
            people.c.channel == channel, people.c.platform_id == chat_id
        )
        async with self.read() as conn:
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
                .values(status="held", claimed_by=None, claimed_until=None)
            )
        )
        return int(result.rowcount or 0)

    async def release_held(self, channel: str, chat_id: str, not_before: dt.datetime) -> None:
        await self.write(
            lambda conn: conn.execute(
                update(outbox)
                .where(outbox.c.channel == channel, outbox.c.chat_id == chat_id, outbox.c.status == "held")
                .values(status="pending", not_before=not_before)
            )
        )

    async def window_notice_sent(self, channel: str, chat_id: str) -> None:
        at = utcnow()
        await self.write(
            lambda conn: conn.execute(
                update(people)
                .where(people.c.channel == channel, people.c.platform_id == chat_id)
                .values(window_notice_at=at)
            )
        )

    async def record_delivery(
        self, platform_id: str, channel: str, chat_id: str, body: dict[str, Any], at: dt.datetime | None = None
    ) -> None:
        row = delivery_row(platform_id, channel, chat_id, body, at or utcnow())
        await self.write(lambda conn: conn.execute(insert(deliveries).values(**row)))

    async def delivery_report(
        self, platform_id: str, status: str, error_code: str | None
    ) -> tuple[str, str, dict[str, Any]] | None:
        """Record a status; returns (channel, chat id, body) of a message that failed for good."""
        at = utcnow()

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
        row = outbox_row(channel, chat_id, body, utcnow())
        row["status"] = "held" if held else "pending"
        await self.write(lambda conn: conn.execute(insert(outbox).values(**row)))

    async def outbox_retrying(self) -> int:
        """Jobs still to deliver that have failed at least once (the platform refused or was down)."""
        async with self.read() as conn:
            query = select(func.count()).select_from(outbox).where(outbox.c.status == "pending", outbox.c.attempts > 0)
            return int((await conn.execute(query)).scalar_one())

    async def outbox_counts(self) -> dict[str, int]:
        async with self.read() as conn:
            rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(count) for status, count in rows}


def delivery_row(platform_id: str, channel: str, chat_id: str, body: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    return {
        "platform_id": platform_id,
        "channel": channel,
        "chat_id": chat_id,
        "body": body,
        "status": "accepted",
        "updated_at": at,
    }
