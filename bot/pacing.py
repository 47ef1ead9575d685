"""Sending pace for one channel: at most N messages in any window of W seconds, for the bot as a
whole (Telegram: 30 a second; a Telegram group: 20 a minute).

Messages go out at *moments* reserved in advance, ``gap = W / (N - 1)`` seconds apart. A moment
owns the time until the next one: a message that starts within it uses it; one that missed it (a
busy process) takes one new moment, and uses that whatever happens (no message waits for ever).
Moments are spread across instances from one bucket (``rate_limits`` in the database, see
``SharedMoments``) when several instances send, or kept in memory when one process does (SQLite).
Since an open window of W seconds holds at most ``W / gap + 1 = N`` moments, no window holds more
than N messages, unless a message missed two moments in a row (a process too busy to keep time).

A platform's "too many requests" pauses the channel: moments reserved before the pause are
given up, and messages already waiting for one take a new one after the pause.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Protocol

MAX_BLOCK = 8  # moments reserved at once, at most (a pause gives back no more than these)


class Moments(Protocol):
    async def reserve(self, count: int, gap: float, earliest: float) -> float: ...

    async def pause(self, until: float) -> None: ...


class LocalMoments:
    """Moments from memory: one process sends on this channel."""

    def __init__(self) -> None:
        self._next = 0.0

    async def reserve(self, count: int, gap: float, earliest: float) -> float:
        start = max(self._next, earliest)
        self._next = start + count * gap
        return start

    async def pause(self, until: float) -> None:
        self._next = max(self._next, until)


class SharedMoments:
    """Moments from the database: every instance draws from the same bucket."""

    def __init__(self, store: object, name: str):
        self.store = store
        self.name = name

    async def reserve(self, count: int, gap: float, earliest: float) -> float:
        return await self.store.reserve_moments(self.name, count, gap, earliest)  # type: ignore[attr-defined]

    async def pause(self, until: float) -> None:
        await self.store.pause_rate(self.name, until)  # type: ignore[attr-defined]


class Pacer:
    """``await pacer.acquire()`` before each message; ``pacer.pause(seconds)`` after a 429."""

    def __init__(self, count: float | None, window: float = 1.0, moments: Moments | None = None):
        """At most ``count`` messages in any ``window`` seconds; ``count=None``: no limit."""
        if not count:
            self.gap = 0.0
        else:
            self.gap = window / (count - 1) if count >= 2 else window / count
        self.moments = moments or LocalMoments()
        self._slots: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._epoch = 0
        self._paused_until = 0.0

    @property
    def limited(self) -> bool:
        return self.gap > 0

    async def acquire(self) -> None:
        if not self.gap:  # no limit of our own; a pause the platform asked for still holds
            while (delay := self._paused_until - time.time()) > 0:
                await asyncio.sleep(delay)
            return
        missed = 0
        while True:
            self._waiting += 1
            try:
                async with self._lock:
                    moment = await self._next_moment()
            finally:
                self._waiting -= 1
            epoch = self._epoch
            delay = moment - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if epoch != self._epoch:  # paused meanwhile: the moment is void
                continue
            if missed or time.time() < moment + self.gap:
                return
            missed += 1  # too late for this moment (the process was busy): sending now could crowd a window

    async def _next_moment(self) -> float:
        now = time.time()
        while self._slots and self._slots[0] + self.gap <= now:
            self._slots.popleft()
        if not self._slots:
            count = max(1, min(self._waiting, MAX_BLOCK))
            first = await self.moments.reserve(count, self.gap, max(now, self._paused_until))
            self._slots.extend(first + i * self.gap for i in range(count))
        return self._slots.popleft()

    async def pause(self, seconds: float) -> None:
        """Nothing goes out on this channel for ``seconds`` — from this instance or any other."""
        until = time.time() + seconds
        self._paused_until = max(self._paused_until, until)
        self._slots.clear()
        self._epoch += 1
        if self.gap:
            await self.moments.pause(until)
