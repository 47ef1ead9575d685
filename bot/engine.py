"""The conversation engine: one message in, replies out, state saved — in order per person.

Messages of one person are handled one at a time, in arrival order (an ``asyncio.Lock`` per
conversation is fair, so waiters are served first come, first served); different people are
handled concurrently. A message the platform delivers twice (same ``message_id``) is answered
once. Every turn is written in one transaction together with the replies it produced, so a
restart resumes exactly where the conversation was.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from bot.config import Settings
from bot.content import ContentService
from bot.handlers.context import Context
from bot.handlers.handoff import HAS_TICKETS
from bot.handlers.router import route
from bot.handoff.queue import HandoffQueue
from bot.intake import clean_text
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.store import PersonState, Store, Turn

log = logging.getLogger(__name__)


NAVIGATION = "topic:"
RECENT_TOPICS = 3


def delivery_jobs(incoming: Incoming, replies: list[Outgoing]) -> list[dict[str, Any]]:
    """Outbox job bodies for the replies: a reply without buttons is joined to the next one (fewer
    messages arrive faster under per-chat limits); turning to a topic or another page of a topic
    replaces the list that was pressed, where the platform can edit messages. Answers are never
    replaced: people scroll back to them."""
    jobs: list[dict[str, Any]] = []
    if incoming.ack_id:
        jobs.append({"kind": "ack", "callback_id": incoming.ack_id})
    merged: list[Outgoing] = []
    for reply in replies:
        if merged and not merged[-1].buttons and merged[-1].lang == reply.lang:
            previous = merged.pop()
            reply = Outgoing(
                previous.text + "\n\n" + reply.text, reply.lang, reply.buttons, reply.intent or previous.intent
            )
        merged.append(reply)
    for reply in merged:
        body: dict[str, Any] = {
            "kind": "send",
            "text": reply.text,
            "lang": reply.lang,
            "buttons": [[b.label, b.payload] for b in reply.buttons],
        }
        if reply.venue is not None:
            v = reply.venue
            body["venue"] = {
                "title": v.title,
                "latitude": v.location.latitude,
                "longitude": v.location.longitude,
                "address": v.address,
            }
        if len(merged) == 1 and incoming.pressed_on and (incoming.payload or "").startswith(NAVIGATION):
            body.update(kind="edit", message_id=incoming.pressed_on)
        jobs.append(body)
    return jobs


def _remember_topics(state: PersonState, ctx: Context) -> None:
    """The last few entries the person was shown: a mediator sees them on the ticket."""
    shown = [r.intent for r in ctx.replies if r.intent and r.intent in ctx.content.kb.entries]
    if shown:
        recent = [i for i in state.data.get("recent") or [] if i not in shown] + shown
        state.data["recent"] = recent[-RECENT_TOPICS:]


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


class StateCache:
    """Conversation states this process wrote last, so a turn need not read them back.

    Only for an embedded database (SQLite), where this process is the one writing conversations.
    With a shared server database several instances may serve one person, so it is not used.
    """

    def __init__(self, size: int = 50_000):
        self.size = size
        self._states: OrderedDict[ConversationKey, PersonState] = OrderedDict()

    def get(self, key: ConversationKey) -> PersonState | None:
        state = self._states.get(key)
        if state is None:
            return None
        self._states.move_to_end(key)
        return replace(state, data=copy.deepcopy(state.data))

    def put(self, state: PersonState) -> None:
        self._states[state.key] = replace(state, data=copy.deepcopy(state.data))
        self._states.move_to_end(state.key)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def drop(self, key: ConversationKey) -> None:
        self._states.pop(key, None)


class Engine:
    def __init__(self, store: Store, content: ContentService, settings: Settings, *, handoff: bool = False):
        self.store = store
        self.content = content
        self.settings = settings
        self.queue = HandoffQueue(store) if handoff else None
        self.locks = ConversationLocks()
        self.cache = StateCache() if store.is_sqlite else None

    async def _load(self, incoming: Incoming) -> tuple[PersonState, bool]:
        """The person's state and whether this very message was handled already."""
        cached = self.cache.get(incoming.key) if self.cache else None
        if cached is None:
            return await self.store.load_for(incoming.key, incoming.message_id)
        return cached, await self.store.already_handled(cached.person_id, incoming.message_id)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        async with self.locks.hold(incoming.key):
            try:
                return await self._handle(incoming)
            except BaseException:
                if self.cache:
                    self.cache.drop(incoming.key)  # the database is the truth after a failure
                raise

    async def _handle(self, incoming: Incoming) -> list[Outgoing]:
        if incoming.text:  # whatever the channel, only text a database can store goes further
            text, fixes = clean_text(incoming.text)
            if fixes:
                incoming = replace(incoming, text=text)
        state, handled = await self._load(incoming)
        if handled:
            log.info("duplicate message ignored")
            if incoming.inbox_id is not None:
                await self.store.finish_update(incoming.inbox_id)
            return []
        ctx = Context(
            incoming, state, self.content.current, self.settings.default_language, self.settings.retention_days
        )
        if self.queue is not None:
            ctx.queue = self.queue
            ctx.files_for_mediators = self.settings.web_desk
            # Only the person's own turn opens a ticket, and it marks their state: everyone else is
            # spared a query per message.
            if state.data.get(HAS_TICKETS):
                ctx.ticket = await self.queue.latest_for(state.person_id)
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
        _remember_topics(state, ctx)
        state.person_id = await self.store.save(
            Turn(
                state=state,
                at=incoming.received_at,
                incoming_text=ctx.logged_text or logged_text,
                incoming_id=incoming.message_id,
                outcome=ctx.outcome,
                replies=[(r.text, r.intent) for r in ctx.replies],
                feedback=ctx.feedback,
                unanswered=ctx.unanswered,
                forget=ctx.forget,
                inbox_id=incoming.inbox_id,
                outbox=delivery_jobs(incoming, ctx.replies) if incoming.inbox_id is not None else [],
                handoff=ctx.handoff,
            )
        )
        if self.cache:
            if ctx.forget:
                self.cache.drop(incoming.key)
            else:
                self.cache.put(state)
        return ctx.replies
