"""Process stored platform updates in arrival order, exactly once.

An update is stored (``Store.accept_update``) before the platform is told it arrived; this loop
turns each into an ``Incoming``, lets the engine answer it, and the engine marks it done in the
same transaction that stores the replies in the outbox. After a crash, whatever was not marked
done is processed again — and only that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from bot.engine import Engine
from bot.messages import Incoming
from bot.outbox import Outbox
from bot.store import PendingUpdate

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
        idle_poll: float = 1.0,
        desk: DeskRoute | None = None,
    ):
        self.engine = engine
        self.desk = desk
        self.store = engine.store
        self.outbox = outbox
        self.parsers = parsers
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._failures: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                updates = await self.store.pending_updates(100, frozenset(self._in_flight))
                for update in updates:  # started in arrival order; the engine keeps per-person order
                    self._in_flight.add(update.id)
                    task = asyncio.create_task(self._process(update))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if updates:
                    await asyncio.sleep(0)
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
        except Exception:
            failures = self._failures.get(update.id, 0) + 1
            self._failures[update.id] = failures
            log.exception("update %d failed (%d/%d)", update.id, failures, MAX_FAILURES)
            if failures >= MAX_FAILURES:  # never let one poisonous update block the queue
                log.error("update %d given up after %d failures", update.id, failures)
                await self.store.finish_update(update.id)
            else:
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
        finally:
            self._in_flight.discard(update.id)
            self._wake.set()
