"""The ``Store``: one entry point over the parts of the database, on SQLite or PostgreSQL.

- ``turns``: people, conversation state and each turn written in one transaction;
- ``updates``: the inbox of platform updates, claimed by instances with a lease;
- ``jobs``: the outbox of messages to deliver, claimed likewise, and the shared sending pace;
- ``retention``: deleting what is older than the retention window.

Writes of webhook requests and turns share a *group commit*: those that arrive while a transaction
is being written go together into the next one. One that cannot be stored fails alone — the
batch is written again without it, each item by itself — and every caller returns only once its
own write is durable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import ConversationKey
from bot.store.base import Database
from bot.store.jobs import JobStore
from bot.store.retention import RetentionStore
from bot.store.schema import metadata, people
from bot.store.turns import AlreadyDone, Turn, TurnStore
from bot.store.updates import Accepted, UpdateStore, insert_update

log = logging.getLogger(__name__)

Item = Turn | Accepted


class Store(TurnStore, UpdateStore, JobStore, RetentionStore, Database):
    def __init__(self, engine: Any):
        super().__init__(engine)
        self._pending: list[tuple[Item, asyncio.Future[Any]]] = []
        self._flushing = False

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        store = cls(await Database.create_engine(url))
        if migrate:
            await store.migrate()
        return store

    async def count(self, table_name: str, key: ConversationKey | None = None) -> int:
        table = metadata.tables[table_name]
        query = select(func.count()).select_from(table)
        if key is not None:
            person = select(people.c.id).where(people.c.channel == key.channel, people.c.platform_id == key.chat_id)
            column = table.c.id if table is people else table.c.person_id
            query = query.where(column.in_(person.scalar_subquery()))
        async with self.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    # -- group commit --------------------------------------------------------------------------

    async def _enqueue(self, item: Item) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._flushing:
            self._flushing = True
            try:
                while self._pending:
                    batch, self._pending = self._pending, []
                    await self._flush(batch)
            finally:
                self._flushing = False
        return await future

    async def _flush(self, batch: list[tuple[Item, asyncio.Future[Any]]]) -> None:
        try:
            results = await self.write(lambda conn: self._write_batch(conn, [item for item, _ in batch]))
        except Exception as exc:
            if len(batch) == 1:
                log.error("a %s could not be stored (%s)", _kind(batch[0][0]), type(exc).__name__)
                _settle(batch[0][1], exc)
                return
            # One bad item must not fail the others: write them one by one. Nothing of the failed
            # transaction is reused (turns are not changed by writing them), so each is derived anew.
            for entry in batch:
                await self._flush([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _write_batch(self, conn: AsyncConnection, items: list[Item]) -> list[Any]:
        """Stored updates first (they are independent), then the turns; results in input order."""
        results: dict[int, Any] = {}
        for index, item in enumerate(items):
            if isinstance(item, Accepted):
                results[index] = await insert_update(conn, item)
        turns = [(index, item) for index, item in enumerate(items) if isinstance(item, Turn)]
        if turns:
            written = await self._save_batch(conn, [turn for _, turn in turns])
            for (index, _), result in zip(turns, written, strict=True):
                results[index] = result
        return [results[index] for index in range(len(items))]


def _kind(item: Item) -> str:
    return "platform update" if isinstance(item, Accepted) else "conversation turn"


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():  # its caller went away (cancelled)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


__all__ = ["AlreadyDone", "Store"]
