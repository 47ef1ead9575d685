"""Composition root: settings → store → content → engine (and the content watcher)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bot.config import Settings
from bot.content import ContentService
from bot.engine import Engine
from bot.matching import RasaOptions
from bot.store import Store

log = logging.getLogger(__name__)


def rasa_options(settings: Settings) -> RasaOptions | None:
    if not settings.rasa_url:
        return None
    return RasaOptions(settings.rasa_url, settings.rasa_mode, settings.rasa_timeout)


@contextlib.asynccontextmanager
async def running_engine(settings: Settings, *, watch: bool = True) -> AsyncIterator[Engine]:
    """Open the database (migrating it), load the content, watch it for edits; close it all after."""
    content = ContentService(settings.knowledge_dir, settings.locales_dir, rasa_options(settings))
    content.load()
    store = await Store.open(settings.database_url)
    watcher = asyncio.create_task(content.watch(settings.content_poll_seconds)) if watch else None
    try:
        yield Engine(store, content, settings, handoff=settings.handoff_enabled)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await store.close()
        await content.close()
