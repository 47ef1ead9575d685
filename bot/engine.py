"""The conversation engine: one message in, replies out, state saved — in order per person.

Messages of one person are handled one at a time, in arrival order (an ``asyncio.Lock`` per
conversation is fair, so waiters are served first come, first served); different people are
handled concurrently. A message the platform delivers twice (same ``message_id``) is answered
once. Every turn is written in one transaction together with the replies it produced, so a
restart resumes exactly where the conversation was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.content import ContentService
from bot.handlers.context import Context
from bot.handlers.router import route
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.store import Store, Turn

log = logging.getLogger(__name__)


class ConversationLocks:
    """One lock per conversation, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: ConversationKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Engine:
    def __init__(self, store: Store, content: ContentService, settings: Settings):
        self.store = store
        self.content = content
        self.settings = settings
        self.locks = ConversationLocks()

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        async with self.locks.hold(incoming.key):
            state = await self.store.load(incoming.key)
            if await self.store.already_handled(state.person_id, incoming.message_id):
                log.info("duplicate message ignored")
                return []
            ctx = Context(
                incoming, state, self.content.current, self.settings.default_language, self.settings.retention_days
            )
            logged_text = incoming.text or (f"[button] {incoming.payload}" if incoming.payload else "[no text]")
            limit = self.settings.max_message_chars
            if incoming.text and len(incoming.text) > limit:
                ctx.say(ctx.t("error.too_long", limit=limit))
                logged_text = f"[message of {len(incoming.text)} characters, not processed]"
            else:
                await route(ctx)
            choices = next((r.buttons for r in reversed(ctx.replies) if r.buttons), None)
            if choices is not None:
                state.data["choices"] = [b.payload for b in choices]
            await self.store.save(
                Turn(
                    state=state,
                    at=incoming.received_at,
                    incoming_text=logged_text,
                    incoming_id=incoming.message_id,
                    replies=[(r.text, r.intent) for r in ctx.replies],
                    feedback=ctx.feedback,
                    unanswered=ctx.unanswered,
                    forget=ctx.forget,
                )
            )
            return ctx.replies
