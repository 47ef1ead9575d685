"""Process stored platform updates: in order per conversation, exactly once, on any instance.

An update is stored (``Store.accept_update``) before the platform is told it arrived; this loop
claims pending updates in batches (see ``bot.store.updates``), turns each into an ``Incoming``,
and lets the engine answer it; the engine marks it done in the same transaction that stores the
replies in the outbox. After a crash, whatever was not marked done is processed again — by this
instance after its restart, or by another one when the lease runs out — and only that.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from bot.engine import Engine
from bot.logs import where
from bot.messages import Incoming
from bot.outbox import Outbox
from bot.store import AlreadyDone, PendingUpdate

log = logging.getLogger(__name__)

Parser = Callable[[dict], Incoming | None]
MAX_FAILURES = 3


class DeskRoute(Protocol):
    """Updates that belong to the mediator desk rather than to a person's conversation."""

    def accepts(self, channel: str, payload: dict[str, Any]) -> bool: ...

    async def process(self, inbox_id: int, payload: dict[str, Any]) -> None: ...


class InboxProcessor:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        parsers: dict[str, Parser],
        *,
        owner: str = "local",
        idle_poll: float = 1.0,
        concurrency: int = 16,  # updates in flight; more only wait longer for connections (load_bench.py)
        lease: dt.timedelta = dt.timedelta(seconds=30),
        desk: DeskRoute | None = None,
    ):
        self.engine = engine
        self.desk = desk
        self.store = engine.store
        self.outbox = outbox
        self.parsers = parsers
        self.owner = owner
        self.idle_poll = idle_poll
        self.concurrency = concurrency
        self.lease = lease
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._tasks)
                if free > 0:
                    try:
                        updates = await self.store.claim_updates(self.owner, free, self.lease)
                    except Exception:  # the database went away for a moment: keep the loop alive
                        log.exception("claiming updates failed; trying again")
                        updates = []
                        await asyncio.sleep(1.0)
                    for update in updates:  # started in arrival order; the engine keeps per-person order
                        task = asyncio.create_task(self._process(update))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    if len(updates) == free:
                        continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll)
        finally:
            await self.drain()

    async def drain(self, timeout: float = 10.0) -> None:
        """Let updates being processed finish (graceful stop)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _process(self, update: PendingUpdate) -> None:
        try:
            if self.desk is not None and self.desk.accepts(update.channel, update.payload):
                await self.desk.process(update.id, update.payload)
                self.outbox.wake()
                return
            parser = self.parsers.get(update.channel)
            incoming = parser(update.payload) if parser else None
            if incoming is None:
                await self.store.finish_update(update.id)
                return
            await self.engine.handle(replace(incoming, inbox_id=update.id, received_at=update.received_at))
            self.outbox.wake()
        except asyncio.CancelledError:
            raise
        except AlreadyDone:
            log.info("update %d was handled meanwhile elsewhere; its second answer is not kept", update.id)
        except Exception as exc:
            await self._failed(update, exc)
        finally:
            self._wake.set()

    async def _failed(self, update: PendingUpdate, exc: Exception) -> None:
        delay = min(5.0, 0.2 * 2 ** (update.attempts + 1))
        log.error("update %d failed, attempt %d of %d: %s", update.id, update.attempts + 1, MAX_FAILURES, where(exc))
        try:
            attempts = await self.store.update_failed(update.id, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay))
            if attempts >= MAX_FAILURES:  # never let one poisonous update block its conversation
                log.error("update %d given up after %d failures", update.id, attempts)
                await self.store.finish_update(update.id)
        except Exception:
            log.exception("recording the failure of update %d failed; its lease will run out", update.id)
