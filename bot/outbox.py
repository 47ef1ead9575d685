"""Deliver stored replies: in order per chat, within rate limits, retrying until they arrive.

Jobs come from the ``outbox`` table, written in the same transaction as the turn that produced
them, so a crash never loses a reply. A job is deleted once delivered. Platform outcomes:
rate-limited → wait as long as told (and pause the channel); server errors and timeouts → back
off and retry; blocked by the person → stop sending to them; refused as malformed → kept as failed
for operators, without its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.store import DESK, Job, Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Retry:
    after: float | None  # seconds; None = back off by the number of attempts
    error: str
    pause_channel: bool = False


@dataclass(frozen=True)
class Blocked:
    error: str


@dataclass(frozen=True)
class Failed:
    error: str


@dataclass(frozen=True)
class Hold:
    """The platform will not deliver free text now (WhatsApp's 24-hour window): keep the chat's
    replies until the person writes again, and tell them with an approved template."""

    error: str


Outcome = Sent | Retry | Blocked | Failed | Hold
Pace = Callable[[], Awaitable[None]]
Progress = Callable[[int], Awaitable[None]]


class Sender(Protocol):
    channel: str
    messages_per_second: float  # across all chats
    seconds_between_messages_per_chat: float

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome: ...


class RateLimiter:
    """A global pace (messages per second) and a minimum gap between messages to one chat."""

    def __init__(self, per_second: float, per_chat_gap: float):
        self.gap = 1.0 / per_second
        self.per_chat_gap = per_chat_gap
        self._next_global = 0.0
        self._next_chat: dict[str, float] = {}

    async def wait(self, chat_id: str) -> None:
        now = time.monotonic()
        start = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = max(start, self._next_global) + self.gap
        self._next_chat[chat_id] = start + self.per_chat_gap
        if len(self._next_chat) > 10_000:
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        if start > now:
            await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        self._next_global = max(self._next_global, time.monotonic() + seconds)


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 16)) * random.uniform(0.8, 1.2)


class Outbox:
    def __init__(self, store: Store, senders: dict[str, Sender], *, concurrency: int = 16, idle_poll: float = 1.0):
        self.store = store
        self.senders = senders
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self.limiters = {
            name: RateLimiter(s.messages_per_second, s.seconds_between_messages_per_chat) for name, s in senders.items()
        }
        self._wake = asyncio.Event()
        self._busy: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._tasks)
                jobs = []
                if free > 0:
                    # A copy taken before the query: a delivery that finishes while the query runs must
                    # still count as busy, or its job (read before the delete) would go out twice.
                    busy = set(self._busy)
                    jobs = await self.store.due_jobs(dt.datetime.now(dt.UTC), free, busy)
                for job in jobs:
                    if job.channel not in self.senders:
                        continue
                    self._busy.add((job.channel, job.chat_id))
                    task = asyncio.create_task(self._deliver(job))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if jobs:
                    continue
                await self._sleep()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _sleep(self) -> None:
        """Until woken (a new reply, a delivery finished) or the next delayed job is due."""
        timeout = self.idle_poll
        next_due = await self.store.next_due()
        wait = (next_due - dt.datetime.now(dt.UTC)).total_seconds() if next_due is not None else None
        if wait is not None and wait > 0:  # due now means its chat is busy: a finished delivery wakes us
            timeout = min(timeout, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(self, job: Job) -> None:
        log.debug("delivering job %d", job.id)
        sender = self.senders[job.channel]
        limiter = self.limiters[job.channel]
        try:

            async def pace() -> None:
                await limiter.wait(job.chat_id)

            async def progress(parts_sent: int) -> None:
                job.parts_sent = parts_sent
                await self.store.job_progress(job.id, parts_sent)

            try:
                outcome = await sender.deliver(job, pace, progress)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unexpected error: keep the job, retry later
                log.exception("delivery of job %d failed unexpectedly", job.id)
                outcome = Retry(None, type(exc).__name__)
            await self._record(job, outcome, limiter)
        except Exception:
            log.exception("recording the outcome of job %d failed; it will be tried again", job.id)
        finally:
            self._busy.discard((job.channel, job.chat_id))
            self._wake.set()

    async def _record(self, job: Job, outcome: Outcome, limiter: RateLimiter) -> None:
        if isinstance(outcome, Sent):
            await self.store.job_sent(job.id)
        elif isinstance(outcome, Retry):
            delay = outcome.after if outcome.after is not None else backoff(job.attempts)
            if outcome.pause_channel:
                limiter.pause(delay)
            log.warning("job %d: %s; retrying in %.1f s (attempt %d)", job.id, outcome.error, delay, job.attempts + 1)
            await self.store.job_retry(job.id, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay), outcome.error)
        elif isinstance(outcome, Hold):
            held = await self.store.hold_chat(job.channel, job.chat_id)
            log.info("job %d: %s; %d repl(ies) held until the person writes", job.id, outcome.error, held)
            ticket_id = job.body.get("ticket_id")
            if ticket_id is not None and DESK in self.senders:  # a mediator's message: tell them it waits
                body = {"kind": "held", "ticket_id": ticket_id}
                await self.store.requeue(DESK, f"ticket:{ticket_id}", body, held=False)
            announce = getattr(self.senders[job.channel], "announce_held", None)
            if announce is not None and not await announce(job.chat_id):
                # The notice did not go out: try the whole thing again later rather than wait forever.
                not_before = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(60.0, backoff(job.attempts)))
                await self.store.release_held(job.channel, job.chat_id, not_before)
        elif isinstance(outcome, Blocked):
            dropped = await self.store.chat_blocked(job.channel, job.chat_id)
            log.info("a person blocked the bot on %s; %d pending repl(ies) dropped", job.channel, dropped)
            ticket_id = job.body.get("ticket_id")
            if ticket_id is not None and DESK in self.senders:  # the mediator must know it did not arrive
                body = {"kind": "blocked", "ticket_id": ticket_id}
                await self.store.requeue(DESK, f"ticket:{ticket_id}", body, held=False)
        else:
            log.error("job %d refused by %s: %s", job.id, job.channel, outcome.error)
            await self.store.job_failed(job.id, outcome.error)
