"""Deliver stored messages: in order per chat, within rate limits, retrying until they arrive.

Jobs come from the ``outbox`` table, written in the same transaction as the turn that produced
them, so a crash never loses a reply. Each instance claims due jobs in batches (see
``bot.store.jobs``), delivers them concurrently and records the outcomes in batches: the cost per
message does not grow with the backlog. Platform outcomes: rate-limited → the channel pauses
(every instance) and the job waits as long as told; server errors and timeouts → back off and
retry; blocked by the person → stop sending to them; refused for good (a malformed request, a
chat id the platform cannot have) → kept as failed for operators, without its text, never retried.

A message the platform accepted but whose outcome was not yet recorded when the process was
killed is sent again after the restart (the platforms offer no idempotency key); outcomes are
recorded within milliseconds, which keeps that window small.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

from bot.logs import where
from bot.pacing import Pacer, SharedMoments
from bot.store import DESK, Job, Outcomes, Store
from bot.store.jobs import delivery_row
from bot.store.turns import FAREWELL

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
UNEXPECTED_ATTEMPTS = 3  # an error no platform rule explains: tried this often, then failed for good
FAREWELL_ATTEMPTS = 20  # the confirmation after "forget" is dropped (not kept) after this many tries
STOP_GRACE = 5.0  # seconds a stopping service gives messages on their way


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


class Pace(Protocol):
    async def __call__(self) -> None: ...


class Progress(Protocol):
    async def __call__(self, parts_sent: int, delivery: tuple[str, dict[str, Any]] | None = None) -> None:
        """``parts_sent`` parts of the job are out; ``delivery`` = (platform message id, what was
        sent) for platforms that report a message's fate later."""


class Sender(Protocol):
    channel: str
    rate: tuple[float | None, float]  # at most (messages, in seconds) for the whole bot; None = no limit
    seconds_between_messages_per_chat: float

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome: ...


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 16)) * random.uniform(0.8, 1.2)


class Recorder:
    """Collects delivery outcomes and writes them in batches, one transaction each."""

    def __init__(self, store: Store, written: Any):
        self.store = store
        self.written = written  # called with each batch once it is stored
        self._outcomes = Outcomes()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, **items: Any) -> None:
        for name, value in items.items():
            getattr(self._outcomes, name).append(value)
        self._ready.set()
        self._idle.clear()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            await asyncio.sleep(0)  # deliveries finishing at the same moment join this batch
            await self.flush()

    async def flush(self) -> None:
        batch, self._outcomes = self._outcomes, Outcomes()
        self._ready.clear()
        if len(batch):
            delay = 0.05
            for attempt in range(8):
                try:
                    await self.store.record(batch)
                    break
                except Exception:
                    log.exception("delivery outcomes not recorded (attempt %d); retrying", attempt + 1)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self.written(batch)
        if not len(self._outcomes):
            self._idle.set()

    async def drain(self) -> None:
        """Write whatever is collected (stopping)."""
        while not self._idle.is_set():
            await self.flush()


class Outbox:
    def __init__(
        self,
        store: Store,
        senders: dict[str, Sender],
        *,
        owner: str = "local",
        shared_pace: bool = False,
        concurrency: int = 64,
        idle_poll: float = 1.0,
        lease: dt.timedelta = dt.timedelta(seconds=60),
    ):
        self.store = store
        self.senders = senders
        self.owner = owner
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self.lease = lease
        self.channels = tuple(senders)
        self.pacers = {
            name: Pacer(*s.rate, moments=SharedMoments(store, name) if shared_pace else None)
            for name, s in senders.items()
        }
        self.recorder = Recorder(store, self._written)
        self._wake = asyncio.Event()
        self._wake_at: float | None = None  # a chat's pace allows its next message then
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._tasks)
                if free > 0 and self.channels:
                    try:
                        jobs = await self.store.claim_jobs(self.owner, free, self.lease, self.channels)
                        await self._prepare(jobs)
                    except Exception:  # the database went away for a moment: keep the loop alive
                        log.exception("claiming replies to deliver failed; trying again")
                        await asyncio.sleep(1.0)
                        continue
                    for job in jobs:
                        task = asyncio.create_task(self._deliver(job))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    if len(jobs) == free:
                        continue  # there may be more; the next round waits for a free place
                await self._sleep(idle=free > 0)
        finally:
            # Stopping: messages on their way finish (their outcome must be recorded, or they would
            # be sent again after the restart); whatever still waits for its moment stays claimed
            # until the service releases its claims.
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            with contextlib.suppress(Exception):
                await self.recorder.drain()

    async def _prepare(self, jobs: list[Job]) -> None:
        """Let senders look up, in one query per batch, what they need per job."""
        for name, sender in self.senders.items():
            prepare = getattr(sender, "prepare", None)
            mine = [job for job in jobs if job.channel == name]
            if prepare is not None and mine:
                await prepare(mine)

    async def _sleep(self, *, idle: bool) -> None:
        """Until woken (a new reply, a delivery finished), the next delayed job is due, or a chat's
        pace allows its next message."""
        timeout = self.idle_poll
        if idle:
            next_due = await self.store.next_due(self.channels)
            wait = (next_due - dt.datetime.now(dt.UTC)).total_seconds() if next_due is not None else None
            if wait is not None and wait > 0:  # due now means its chat is busy or paced: see below
                timeout = min(timeout, wait)
        if self._wake_at is not None:
            timeout = min(timeout, max(0.0, self._wake_at - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        if self._wake_at is not None and self._wake_at <= time.monotonic():
            self._wake_at = None

    def _written(self, batch: Outcomes) -> None:
        paced = [moment for _, moment in batch.sent if moment is not None]
        if paced:  # the same chats' next messages may go once their pace allows
            at = time.monotonic() + max(0.0, (min(paced) - dt.datetime.now(dt.UTC)).total_seconds())
            self._wake_at = at if self._wake_at is None else min(self._wake_at, at)
        self._wake.set()

    async def _deliver(self, job: Job) -> None:
        sender = self.senders[job.channel]
        pacer = self.pacers[job.channel]
        per_chat = sender.seconds_between_messages_per_chat
        last_part = 0.0  # when this job last sent a message (Unix time); 0 = not yet

        async def pace() -> None:
            nonlocal last_part
            if last_part and per_chat:  # parts of one long message keep the chat's pace too
                await asyncio.sleep(max(0.0, last_part + per_chat - time.time()))
            await pacer.acquire()
            last_part = time.time()

        async def progress(parts_sent: int, delivery: tuple[str, dict[str, Any]] | None = None) -> None:
            nonlocal last_part
            # The pace counts from when a message was accepted, not from when it was sent: a
            # request that took a while must not bring the next one closer than the chat allows.
            last_part = time.time()
            job.parts_sent = parts_sent
            until = dt.datetime.now(dt.UTC) + self.lease  # still working on it: keep the claim
            self.recorder.add(progress=(job.id, parts_sent, until))
            if delivery is not None:
                platform_id, body = delivery
                self.recorder.add(
                    deliveries=delivery_row(platform_id, job.channel, job.chat_id, body, dt.datetime.now(dt.UTC))
                )

        try:
            try:
                outcome = await sender.deliver(job, pace, progress)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unexpected error: a few more tries, then failed
                log.error("delivery of job %d failed unexpectedly: %s", job.id, where(exc))
                error = f"unexpected {type(exc).__name__}"
                outcome = Failed(error) if job.attempts + 1 >= UNEXPECTED_ATTEMPTS else Retry(None, error)
            # Counted from now, when the last message is surely accepted (see ``progress``).
            next_for_chat = _moment(time.time() + per_chat) if last_part and per_chat else None
            await self._record(job, outcome, pacer, next_for_chat)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recording the outcome of job %d failed; it will be tried again", job.id)
        finally:
            self._wake.set()

    async def _record(self, job: Job, outcome: Outcome, pacer: Pacer, next_for_chat: dt.datetime | None) -> None:
        """``next_for_chat``: when the chat's pace allows its next message (None: this job sent
        none, as an acknowledged button press)."""
        farewell = bool(job.body.get(FAREWELL))
        if isinstance(outcome, Sent):
            self.recorder.add(sent=(job, next_for_chat))
        elif farewell and not (isinstance(outcome, Retry) and job.attempts + 1 < FAREWELL_ATTEMPTS):
            # After "forget" nothing about the person may stay, not even an undeliverable goodbye.
            log.warning("the confirmation of a deletion could not be delivered (%s); dropped", outcome)
            self.recorder.add(deleted=job.id)
        elif isinstance(outcome, Retry):
            delay = outcome.after if outcome.after is not None else backoff(job.attempts)
            if outcome.pause_channel:
                await pacer.pause(delay)
            log.warning("job %d: %s; retrying in %.1f s (attempt %d)", job.id, outcome.error, delay, job.attempts + 1)
            self.recorder.add(retries=(job.id, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay), outcome.error))
        elif isinstance(outcome, Hold):
            await self._hold(job, outcome)
        elif isinstance(outcome, Blocked):
            dropped = await self.store.chat_blocked(job.channel, job.chat_id)
            log.info("a person blocked the bot on %s; %d pending repl(ies) dropped", job.channel, dropped)
            ticket_id = job.body.get("ticket_id")
            if ticket_id is not None and DESK in self.senders:  # the mediator must know it did not arrive
                body = {"kind": "blocked", "ticket_id": ticket_id}
                await self.store.requeue(DESK, f"ticket:{ticket_id}", body, held=False)
        else:
            log.error("job %d refused for good by %s: %s", job.id, job.channel, outcome.error)
            self.recorder.add(failed=(job.id, outcome.error))

    async def _hold(self, job: Job, outcome: Hold) -> None:
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


def _moment(unix_time: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix_time, dt.UTC)
