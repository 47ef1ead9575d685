"""Telling every instance that the content changed, through PostgreSQL's NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text

from bot.store import Store
from bot.store.notify import CONTENT_CHANNEL, listen, notify
from tests.conftest import ON_POSTGRESQL, reset_postgres

pytestmark = ON_POSTGRESQL


async def until(condition, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_a_listener_hears_news_and_catches_up_after_its_connection_drops() -> None:
    store = await Store.open(await reset_postgres())
    heard: list[int] = []
    listening = asyncio.create_task(listen(store.engine, CONTENT_CHANNEL, lambda: heard.append(1)))
    try:
        await asyncio.sleep(0.5)  # the listener connects
        await notify(store.engine, CONTENT_CHANNEL)
        await until(lambda: len(heard) == 1)

        # The listening connection is cut (a PostgreSQL restart, a network blip). A notification
        # sent while it is away is lost, so on reconnecting it acts as if it had heard one.
        async with store.engine.connect() as conn:
            cut = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query ILIKE 'LISTEN%' AND datname = current_database()"
                )
            )
            assert cut.all() == [(True,)]
        await until(lambda: len(heard) == 2)
        await notify(store.engine, CONTENT_CHANNEL)  # and it hears again afterwards
        await until(lambda: len(heard) == 3)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await store.close()
