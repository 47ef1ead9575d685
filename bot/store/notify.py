"""PostgreSQL ``LISTEN/NOTIFY``: telling every instance that something changed (content reloaded).

Instances listen on one dedicated connection each; a dropped connection is opened again, and
since a notification sent meanwhile was lost, the callback then runs once anyway (callbacks must be
harmless to repeat, as a content reload is).
SQLite serves one process, so there is no one to tell.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

CONTENT_CHANNEL = "acasa_content"


async def notify(engine: AsyncEngine, channel: str, payload: str = "") -> None:
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})
        await conn.commit()


async def listen(
    engine: AsyncEngine, channel: str, callback: Callable[[], None], on_payload: Callable[[str], None] | None = None
) -> None:
    """Call ``callback`` on each notification (``on_payload`` with its payload, if given), until
    cancelled (PostgreSQL only). After a reconnection ``callback`` runs once."""
    if engine.dialect.name != "postgresql":
        return

    def on_notification(_connection: object, _pid: object, _channel: object, payload: str) -> None:
        if on_payload is not None:
            on_payload(payload)
        else:
            callback()

    reconnecting = False
    while True:
        try:
            async with engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                lost = asyncio.Event()
                driver.add_termination_listener(lambda *_, lost=lost: lost.set())
                await driver.add_listener(channel, on_notification)
                if reconnecting:  # whatever was said while we were away
                    callback()
                await lost.wait()  # until the connection drops (or the task is cancelled)
                await conn.invalidate()  # not back into the pool for the next query to fail on
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("listening for %s failed; trying again", channel)
        reconnecting = True
        await asyncio.sleep(1.0)
